import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Every plan stores (or renames over) the archives it uses, so a file this old is no run's any more. */
export const ARCHIVE_MAX_AGE_MS = 7 * DAY_MS;
/** Scratch folders of a prepare that was killed midway. */
const SCRATCH_MAX_AGE_MS = DAY_MS;

const pruned = new Set<string>();

/**
 * Drops stored archives no plan has written for a week, and stale scratch folders, once per
 * process and cache: a git source stores a new archive on every plan (its .git is never
 * byte-identical twice), so without this the store only grows.
 */
export async function pruneSourceStore(cacheDir: string, now = Date.now()): Promise<void> {
  if (pruned.has(cacheDir)) return;
  pruned.add(cacheDir);
  await removeOlderThan(join(cacheDir, 'sources', 'archives'), now - ARCHIVE_MAX_AGE_MS);
  await removeOlderThan(join(cacheDir, 'sources', 'tmp'), now - SCRATCH_MAX_AGE_MS);
}

async function removeOlderThan(dir: string, cutoffMs: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    try {
      if ((await stat(path)).mtimeMs < cutoffMs) await rm(path, { recursive: true, force: true });
    } catch {
      // gone already, or another process is pruning too
    }
  }
}
