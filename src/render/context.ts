import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { TEMPLATE_FILE } from '../catalog/discover.js';
import { writeFileAtomic } from '../util/atomic-write.js';

/** A file of an image's build context: held in memory (small files of the image folder)… */
export interface InlineContextFile {
  /** Path relative to the image folder, '/'-separated. */
  path: string;
  executable: boolean;
  content: Buffer;
}

/** …or a fetched source archive left on disk in the cache (large; streamed, never held whole). */
export interface StoredContextFile {
  path: string;
  executable: false;
  /** Absolute path of the stored file. */
  file: string;
  /** What the input digest records for it (a content hash, or a git commit). */
  identity: string;
}

export type ContextFile = InlineContextFile | StoredContextFile;

/** The files of an image folder that go into its build context (everything but the template). */
export async function readContextFiles(imageDir: string): Promise<InlineContextFile[]> {
  const files: InlineContextFile[] = [];
  const walk = async (dir: string) => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        // A nested image folder is its own image, not part of this one's context.
        if (!(await exists(join(path, TEMPLATE_FILE)))) await walk(path);
      } else if (entry.isFile() && !(dir === imageDir && entry.name === TEMPLATE_FILE)) {
        const info = await stat(path);
        files.push({ path: relative(imageDir, path).split('\\').join('/'), executable: (info.mode & 0o111) !== 0, content: await readFile(path) });
      }
    }
  };
  await walk(imageDir);
  return files;
}

/** Writes the rendered Dockerfile and the context files into a build context folder. */
export async function writeBuildContext(outDir: string, dockerfile: string, files: readonly ContextFile[], emptyDirs: readonly string[] = []): Promise<void> {
  await mkdir(outDir, { recursive: true });
  for (const dir of emptyDirs) await mkdir(join(outDir, dir), { recursive: true });
  for (const file of files) {
    const target = join(outDir, file.path);
    if ('content' in file) await writeFileAtomic(target, file.content, file.executable ? 0o755 : 0o644);
    else {
      await mkdir(dirname(target), { recursive: true });
      // Whatever was there (a link planted in an --out folder) is replaced, never written through.
      await rm(target, { force: true });
      await copyFile(file.file, target, constants.COPYFILE_EXCL);
    }
  }
  await writeFileAtomic(join(outDir, 'Dockerfile'), dockerfile);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

