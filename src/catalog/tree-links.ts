import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type Dirent } from 'node:fs';
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

/** A folder's real path, or the absolute path as given when it cannot be resolved. */
export function realFolder(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

export type LinkProblem = 'leaves-tree' | 'dangling' | 'loop';

export type EntryVerdict =
  | { kind: 'file' | 'folder'; realPath: string }
  /** Neither file nor folder (a socket, a device): not part of a tree. */
  | { kind: 'other' }
  | { kind: 'refused'; problem: LinkProblem };

/** An entry met by walkTree: its path as walked (through links), and its name. */
export interface TreeEntry {
  path: string;
  name: string;
}

/** What an entry means to the walk's caller; sockets and devices are no part of a tree and are passed over. */
export interface TreeVisitor {
  /** A link that leaves the tree, points to nothing or loops. */
  refused(entry: TreeEntry, problem: LinkProblem): void;
  /** Whether to walk into this folder; `realPath` is where it really is. */
  folder(entry: TreeEntry, realPath: string): boolean;
  /** A file; `realPath` is the checked place to read it from. */
  file(entry: TreeEntry, realPath: string): void;
}

/**
 * Walks the folder `start` of the tree whose real root is `realTree`, every entry in name order, each judged
 * (a link is followed only while it stays in the tree and never back into a folder it is in, so the walk can
 * neither leave the tree nor go on forever).
 */
export function walkTree(realTree: string, start: string, visitor: TreeVisitor): void {
  const walk = (dir: string, realChain: readonly string[]): void => {
    for (const dirent of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const entry = { path: join(dir, dirent.name), name: dirent.name };
      const verdict = judgeEntry(dirent, entry.path, realChain, realTree);
      switch (verdict.kind) {
        case 'refused':
          visitor.refused(entry, verdict.problem);
          break;
        case 'folder':
          if (visitor.folder(entry, verdict.realPath)) walk(entry.path, [...realChain, verdict.realPath]);
          break;
        case 'file':
          visitor.file(entry, verdict.realPath);
          break;
        case 'other':
          break;
        default: {
          const never: never = verdict;
          throw new Error(`unexpected entry ${JSON.stringify(never)}`);
        }
      }
    }
  };
  walk(start, [realFolder(start)]);
}

/**
 * What an entry of a folder being walked is, links followed. `realChain` holds the real paths
 * of the folders walked down to it (the tree's first): a folder link back into one of them
 * would make the walk endless.
 */
function judgeEntry(entry: Dirent, path: string, realChain: readonly string[], realTree: string): EntryVerdict {
  if (!entry.isSymbolicLink()) {
    const realPath = join(realChain[realChain.length - 1] ?? realTree, entry.name);
    if (entry.isDirectory()) return { kind: 'folder', realPath };
    return entry.isFile() ? { kind: 'file', realPath } : { kind: 'other' };
  }
  return judgeLink(path, realChain, realTree);
}

/** Where the symlink at `path` really leads, judged as judgeEntry judges a link met in the walk. */
export function judgeLink(path: string, realChain: readonly string[], realTree: string): EntryVerdict {
  let realPath: string;
  let isDirectory: boolean;
  try {
    realPath = realpathSync(path);
    isDirectory = statSync(realPath).isDirectory();
  } catch {
    return { kind: 'refused', problem: 'dangling' };
  }
  if (!isInside(realTree, realPath)) return { kind: 'refused', problem: 'leaves-tree' };
  if (!isDirectory) return { kind: 'file', realPath };
  if (realChain.some((folder) => isInside(realPath, folder))) return { kind: 'refused', problem: 'loop' };
  return { kind: 'folder', realPath };
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

/**
 * The one line that names a refused link and what it points to (the link as written, never its content).
 * `tree` names what the link had to stay in.
 */
export function linkProblemText(
  problem: LinkProblem,
  shownLink: string,
  link: string,
  tree = 'the image tree',
): string {
  const shown = `symlink ${shownLink} -> ${linkTarget(link)}`;
  switch (problem) {
    case 'leaves-tree':
      return `${shown} leaves ${tree}; refused`;
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

function linkTarget(link: string): string {
  try {
    return readlinkSync(link);
  } catch {
    return '?';
  }
}
