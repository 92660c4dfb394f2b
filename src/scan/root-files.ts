import { constants, type Dirent } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { lineSafe } from '../util/line-safe.js';
import { pacer } from '../util/pace.js';
import { sizeText } from '../util/size-text.js';
import { InventoryLimitError, inventoryFileLimit, MAX_IMAGE_INVENTORY_BYTES } from './inventory-limits.js';
import type { ImageFile, LayoutReadOptions } from './layer-files.js';

/** Kernel and device folders: empty in an image's root, and never holding what an inventory reads. */
const SKIPPED = new Set(['proc', 'sys', 'dev']);

/** A file's bytes when it is no larger than `limit`, judged before reading; never through a link. */
async function readCapped(file: string, path: string, limit: number): Promise<Buffer> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const { size } = await handle.stat();
    if (size > limit) {
      throw new InventoryLimitError(`${lineSafe(path)} is ${sizeText(size)}, more than the ${sizeText(limit)} allowed`);
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * The wanted regular files under a mounted image root, by path relative to it (as the layers name
 * them). The whole tree is walked because Python metadata may sit in any folder (a venv, /opt...),
 * as the layer reader finds it; only wanted files are read, within the same limits as from layers.
 * Symbolic links are neither followed nor read, as the layer reader keeps no content for them.
 */
export async function readRootFiles(
  root: string,
  wanted: (path: string) => boolean,
  options: Pick<LayoutReadOptions, 'maxFileBytes' | 'maxImageBytes' | 'signal'> = {},
): Promise<Map<string, ImageFile>> {
  const maxFileBytes = options.maxFileBytes ?? inventoryFileLimit;
  const maxImageBytes = options.maxImageBytes ?? MAX_IMAGE_INVENTORY_BYTES;
  const pace = pacer(options.signal);
  let imageBytes = 0;
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
      await pace();
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!(relative === '' && SKIPPED.has(entry.name))) below.push(walk(path));
      } else if (entry.isFile() && wanted(path)) {
        below.push(
          readCapped(join(root, path), path, maxFileBytes(path)).then((content) => {
            imageBytes += content.length;
            if (imageBytes > maxImageBytes) {
              const limit = sizeText(maxImageBytes);
              throw new InventoryLimitError(`the files read from the image add up to more than the ${limit} allowed`);
            }
            files.set(path, { kind: 'file', linkTarget: '', content });
          }),
        );
      }
    }
    await Promise.all(below);
  };
  await walk('');
  return files;
}
