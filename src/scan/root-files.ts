import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageFile } from './layer-files.js';

/** Kernel and device folders: empty in an image's root, and never holding what an inventory reads. */
const SKIPPED = new Set(['proc', 'sys', 'dev']);

/**
 * The wanted regular files under a mounted image root, by path relative to it (as the layers name
 * them). The whole tree is walked because Python metadata may sit in any folder (a venv, /opt...),
 * as the layer reader finds it; only wanted files are read. Symbolic links are neither followed nor
 * read, as the layer reader keeps no content for them.
 */
export async function readRootFiles(root: string, wanted: (path: string) => boolean): Promise<Map<string, ImageFile>> {
  const files = new Map<string, ImageFile>();
  const walk = async (relative: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(join(root, relative), { withFileTypes: true });
    } catch (error) {
      // A folder that cannot be listed (gone, or not a folder) holds nothing to read.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
        return;
      }
      throw error;
    }
    // A folder's wanted files are read at once, as its subfolders are walked: dpkg's info/ alone holds hundreds.
    const below: Array<Promise<void>> = [];
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!(relative === '' && SKIPPED.has(entry.name))) below.push(walk(path));
      } else if (entry.isFile() && wanted(path)) {
        below.push(
          readFile(join(root, path)).then((content) => void files.set(path, { kind: 'file', linkTarget: '', content })),
        );
      }
    }
    await Promise.all(below);
  };
  await walk('');
  return files;
}
