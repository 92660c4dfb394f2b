import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { TEMPLATE_FILE } from '../catalog/discover.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export interface ContextFile {
  /** Path relative to the image folder, '/'-separated. */
  path: string;
  executable: boolean;
  content: Buffer;
}

/** The files of an image folder that go into its build context (everything but the template). */
export async function readContextFiles(imageDir: string): Promise<ContextFile[]> {
  const files: ContextFile[] = [];
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
export async function writeBuildContext(outDir: string, dockerfile: string, files: readonly ContextFile[]): Promise<void> {
  await mkdir(outDir, { recursive: true });
  for (const file of files) {
    await writeFileAtomic(join(outDir, file.path), file.content, file.executable ? 0o755 : 0o644);
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

