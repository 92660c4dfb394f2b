import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LinkOnPathError, pathParts } from './rooted-path.js';

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

/** layerChanges, or one that remembers its answers (sharedLayerChanges). */
export type LayerChangesOf = (dirs: readonly string[]) => Promise<ReadonlyMap<string, Change>>;

/**
 * layerChanges remembered for a run: siblings go onto the same patched parent, so each would walk the same
 * layers of its parent's patch (thousands of byte-compiled files) again. Layer folders do not change once made.
 */
export function sharedLayerChanges(): LayerChangesOf {
  const walked = new Map<string, Promise<Map<string, Change>>>();
  return (dirs) => {
    const key = dirs.join('\0');
    let changes = walked.get(key);
    if (changes === undefined) {
      changes = layerChanges(dirs);
      // A failed walk is not remembered: the next image asks again, and says why if it fails too.
      changes.catch(() => walked.delete(key));
      walked.set(key, changes);
    }
    return changes;
  };
}

/**
 * Looks up paths in a stack of layer folders (bottom first): what the topmost holding a path does to it. Many
 * paths are asked (every file a parent's patch changed), most under the same few folders, so what each folder
 * on the way is (a real folder, or absent) is remembered: one lstat per folder, not one per folder per path.
 * The folders must not change while it is used.
 */
export class LayerProbe {
  private readonly folders = new Map<string, 'dir' | 'absent'>();

  constructor(private readonly dirs: readonly string[]) {}

  /**
   * The topmost layer's change to `path` and its file there. A symbolic link on the way (not the last part) is
   * refused with LinkOnPathError: lstat would follow it out of the layer, onto the host.
   */
  async topChange(path: string): Promise<{ change: Change; file: string } | undefined> {
    const parts = pathParts(path);
    for (const dir of [...this.dirs].reverse()) {
      if (!(await this.foldersLeadTo(dir, parts))) continue;
      const file = join(dir, ...parts);
      const found = await lstat(file).catch(() => undefined);
      if (found === undefined) continue;
      if (found.isDirectory()) return { change: 'dir', file };
      return { change: found.isCharacterDevice() && found.rdev === 0 ? 'deleted' : 'written', file };
    }
    return undefined;
  }

  /** Whether every folder above the path's last part is a real folder in `dir` (not absent, not a link). */
  private async foldersLeadTo(dir: string, parts: readonly string[]): Promise<boolean> {
    let current = dir;
    for (const part of parts.slice(0, -1)) {
      current = join(current, part);
      let kind = this.folders.get(current);
      if (kind === undefined) {
        const found = await lstat(current).catch(() => undefined);
        if (found?.isSymbolicLink() === true) {
          throw new LinkOnPathError(`/${parts.join('/')} passes through a symbolic link`);
        }
        kind = found?.isDirectory() === true ? 'dir' : 'absent';
        this.folders.set(current, kind);
      }
      if (kind === 'absent') return false;
    }
    return true;
  }
}
