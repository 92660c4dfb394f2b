import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * Symlinks in an image tree are followed only while they stay inside it: a link is judged by
 * where it really leads (every link on the way resolved), never by how its path reads.
 */

/** Whether `path` is `folder` or below it, by whole segments: /a/tree2 is not inside /a/tree. */
export function isInside(folder: string, path: string): boolean {
  const below = relative(folder, path);
  return below === '' || (below !== '..' && !below.startsWith(`..${sep}`) && !isAbsolute(below));
}

/** A folder's real path, or the absolute path as given when it cannot be resolved (then nothing is inside it). */
export function realFolder(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

export type LinkVerdict =
  | { kind: 'inside'; realPath: string; isDirectory: boolean }
  | { kind: 'leaves-tree' }
  | { kind: 'dangling' };

/** Where a symlink leads, judged against the real path of the tree it must stay in. */
export function followLink(link: string, realTree: string): LinkVerdict {
  let realPath: string;
  try {
    realPath = realpathSync(link);
  } catch {
    return { kind: 'dangling' };
  }
  if (!isInside(realTree, realPath)) return { kind: 'leaves-tree' };
  try {
    return { kind: 'inside', realPath, isDirectory: statSync(realPath).isDirectory() };
  } catch {
    return { kind: 'dangling' };
  }
}

/** The first symlink met going down from `root` to `path` (a file link, or a folder link on the way). */
export function firstLinkBelow(root: string, path: string): string | undefined {
  let current = root;
  for (const segment of relative(root, path).split(sep)) {
    current = join(current, segment);
    try {
      if (lstatSync(current).isSymbolicLink()) return current;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export type LinkProblem = Exclude<LinkVerdict['kind'], 'inside'> | 'loop';

/** The one line that names a refused link and what it points to (the link as written, never its content). */
export function linkProblemText(problem: LinkProblem, link: string, fullLinkPath: string): string {
  const shown = `symlink ${link} -> ${linkTarget(fullLinkPath)}`;
  switch (problem) {
    case 'leaves-tree':
      return `${shown} leaves the image tree; refused`;
    case 'dangling':
      return `${shown} points to nothing`;
    case 'loop':
      return `${shown} loops back into a folder that contains it`;
    default: {
      const never: never = problem;
      return never;
    }
  }
}

function linkTarget(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '?';
  }
}
