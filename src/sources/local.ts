import { copyFile, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { createNormalisedTar } from './tar.js';
import { SourceError } from './types.js';

/**
 * A local source as kolla-build packs it: a folder becomes a tar whose single top folder is the
 * folder's own name, a file (usually an operator's own tarball) is taken as is.
 */
export async function packLocal(
  section: string,
  location: string,
  target: string,
  signal?: AbortSignal,
): Promise<void> {
  const path = resolve(location);
  const found = await stat(path).catch(() => undefined);
  if (found === undefined) throw new SourceError(section, `local source ${path} does not exist`);
  if (found.isDirectory()) {
    await createNormalisedTar({ parentDir: dirname(path), topName: basename(path), target, signal });
  } else if (found.isFile()) {
    await copyFile(path, target);
  } else {
    throw new SourceError(section, `local source ${path} is neither a file nor a folder`);
  }
}
