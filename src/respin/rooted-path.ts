import { lstat } from 'node:fs/promises';
import { join } from 'node:path';

/** A path in an image's root that passes through a symbolic link: the merge refuses it (see rootedPath). */
export class LinkOnPathError extends Error {}

/**
 * `path` under `root` (an image's mounted root, or one of its layer folders), for ci-builder itself to read or
 * write as root on the host: refused when any part of it is a symbolic link, which the host would follow out of
 * the image (a link to /etc in a child's layer would have the merge write the host's files). The last part may
 * be missing; a link there is refused too, since reading or writing a file follows it.
 */
export async function rootedPath(root: string, path: string): Promise<string> {
  const parts = pathParts(path);
  let current = root;
  for (const part of parts) {
    current = join(current, part);
    const found = await lstat(current).catch(() => undefined);
    if (found === undefined) break;
    if (found.isSymbolicLink()) throw new LinkOnPathError(`/${path} passes through a symbolic link`);
  }
  return join(root, ...parts);
}

/** The parts of a path in an image, refused (LinkOnPathError) where one climbs out of it. */
export function pathParts(path: string): string[] {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new LinkOnPathError(`/${path} climbs out of the image`);
  return parts;
}
