import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { InlineContextFile } from './context.js';

/** The folder every image gets in its build context when patches are configured, as kolla-build makes it. */
export const PATCHES_DIR = 'patches';

/**
 * kolla-build's patches: `<patches_path>/<image>/series` names patch files (lines starting
 * with `#` are comments); the series and the files it names that exist go to `patches/` of
 * the image's build context, where `COPY patches /patches` and `kolla_patch` pick them up.
 */
export function imagePatchFiles(patchesPath: string, image: string): InlineContextFile[] {
  const folder = join(patchesPath, image);
  const series = join(folder, 'series');
  if (!isFile(series)) return [];
  const content = readFileSync(series);
  const names = content
    .toString('utf8')
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .map((line) => line.trim())
    .filter((name) => name !== '' && !name.split('/').includes('..'));
  const files: InlineContextFile[] = [{ path: `${PATCHES_DIR}/series`, executable: false, content }];
  for (const name of names) {
    const file = join(folder, name);
    if (isFile(file)) files.push({ path: `${PATCHES_DIR}/${name}`, executable: false, content: readFileSync(file) });
  }
  return files;
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}
