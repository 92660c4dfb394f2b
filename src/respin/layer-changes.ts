import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { rootedPath } from './rooted-path.js';

/** What one layer does to a path: makes or keeps a folder, writes something else there, or deletes it. */
export type Change = 'dir' | 'written' | 'deleted';

/**
 * The changes of layers stored as overlayfs folders (containers-storage's `diff`), bottom first, as paths
 * relative to the root: an upper layer's change to a path replaces a lower one's. A deletion is overlayfs's
 * whiteout, a character device numbered 0:0.
 */
export async function layerChanges(dirs: readonly string[]): Promise<Map<string, Change>> {
  const changes = new Map<string, Change>();
  for (const dir of dirs) {
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      const full = join(entry.parentPath, entry.name);
      const path = relative(dir, full);
      if (entry.isDirectory()) changes.set(path, 'dir');
      else if (entry.isCharacterDevice() && (await lstat(full)).rdev === 0) changes.set(path, 'deleted');
      else changes.set(path, 'written');
    }
  }
  return changes;
}

/** What the topmost of these layer folders (bottom first) that holds the path does to it, and its file there. */
export async function topChange(
  dirs: readonly string[],
  path: string,
): Promise<{ change: Change; file: string } | undefined> {
  for (const dir of [...dirs].reverse()) {
    const file = await rootedPath(dir, path);
    const found = await lstat(file).catch(() => undefined);
    if (found === undefined) continue;
    if (found.isDirectory()) return { change: 'dir', file };
    return { change: found.isCharacterDevice() && found.rdev === 0 ? 'deleted' : 'written', file };
  }
  return undefined;
}
