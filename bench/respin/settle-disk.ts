import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How long ext4 without a journal (this host's root: no jbd2) keeps a freed inode from being handed out
 * again: 60 s once its inode table block is written out (the kernel's RECENTCY_MIN; 5 minutes more while
 * that block is still dirty). Until then every new file's allocation steps over the freed ones, so a run
 * that starts right after the bench removed a whole run's images writes its files up to twice as slowly
 * (measured: 12,000 files copied in 0.6 s on a quiet disk, 1.1 s right after 240,000 were deleted).
 */
const RECENTLY_DELETED_MS = 65_000;

/**
 * Gives every measured run the same start: what earlier runs removed is written out (`sync`) and has
 * aged past the window in which the filesystem skips it. Without it the run after a removal pays for
 * the one before it. An abort ends the wait: the promise rejects.
 */
export async function settleDisk(say: (line: string) => void, signal?: AbortSignal): Promise<void> {
  say(`settling the disk: sync, then ${RECENTLY_DELETED_MS / 1000} s for freed inodes to be reusable`);
  spawnSync('sync', [], { stdio: 'ignore' });
  await sleep(RECENTLY_DELETED_MS, undefined, { signal });
}
