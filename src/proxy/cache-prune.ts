import { readdir, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';

interface IndexedEntry {
  bytes: number;
  usedAt: number;
  /** When the body file's time on disk was last set to a use. */
  touchedAt: number;
}

/** A hit refreshes its entry's time on disk at most this often: the order survives a restart, cheaply. */
const TOUCH_EVERY_MS = 10 * 60_000;
/** Leftovers of a writer that died (a killed process) are removed once this old. */
const STALE_PARTIAL_MS = 60 * 60_000;
/** A prune goes below the limit by this share, so the next writes do not prune again at once. */
const PRUNE_TO = 0.9;

/**
 * The cache's entries by last use, kept in memory: a Map's insertion order is the LRU order
 * (a use moves the entry to the end). The folder is read whole only at start and when the
 * limit is passed (other processes may share it), never per request.
 */
export class CacheIndex {
  private readonly entries = new Map<string, IndexedEntry>();
  private total = 0;
  private pruning: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** Reads the folder and prunes it to the limit: at proxy start. */
  async load(): Promise<void> {
    await this.rescan();
    if (this.total > this.maxBytes) await this.pruneNow();
  }

  used(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.entries.set(key, entry);
    const now = Date.now();
    entry.usedAt = now;
    if (now - entry.touchedAt < TOUCH_EVERY_MS) return;
    entry.touchedAt = now;
    const seconds = now / 1000;
    utimes(this.bodyFile(key), seconds, seconds).catch(() => undefined);
  }

  written(key: string, bytes: number): void {
    this.removeFromTotals(key);
    const now = Date.now();
    this.entries.set(key, { bytes, usedAt: now, touchedAt: now });
    this.total += bytes;
    if (this.total > this.maxBytes) this.prune().catch(() => undefined);
  }

  forgotten(key: string): void {
    this.removeFromTotals(key);
  }

  /** Resolves once no prune is under way. */
  idle(): Promise<void> {
    return this.pruning ?? Promise.resolve();
  }

  /** One prune at a time; resolves when the folder is under the limit again (as far as it could). */
  prune(): Promise<void> {
    this.pruning ??= this.rescan()
      .then(() => this.pruneNow())
      .catch(() => undefined)
      .finally(() => (this.pruning = undefined));
    return this.pruning;
  }

  private removeFromTotals(key: string): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.total -= old.bytes;
    this.entries.delete(key);
  }

  /** Removes least recently used entries until the folder holds PRUNE_TO of the limit. */
  private async pruneNow(): Promise<void> {
    const target = Math.floor(this.maxBytes * PRUNE_TO);
    const oldestFirst = [...this.entries.entries()].sort((a, b) => a[1].usedAt - b[1].usedAt);
    for (const [key] of oldestFirst) {
      if (this.total <= target) break;
      // The metadata goes first: a reader then sees a miss, never a body without its description.
      await rm(this.metaFile(key), { force: true }).catch(() => undefined);
      await rm(this.bodyFile(key), { force: true }).catch(() => undefined);
      this.removeFromTotals(key);
    }
  }

  /** Reads every entry's size and time from the folder; times already known in memory are kept if newer. */
  private async rescan(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    const seen = new Map<string, IndexedEntry>();
    const now = Date.now();
    for (const name of names) {
      const file = join(this.dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info === undefined || !info.isFile()) continue;
      if (name.endsWith('.partial')) {
        if (now - info.mtimeMs > STALE_PARTIAL_MS) await rm(file, { force: true }).catch(() => undefined);
        continue;
      }
      const match = /^([0-9a-f]{64})\.(body|json)$/.exec(name);
      if (!match?.[1]) continue;
      const entry = seen.get(match[1]) ?? { bytes: 0, usedAt: 0, touchedAt: 0 };
      entry.bytes += info.size;
      if (match[2] === 'body') {
        entry.touchedAt = info.mtimeMs;
        entry.usedAt = Math.max(info.mtimeMs, this.entries.get(match[1])?.usedAt ?? 0);
      }
      seen.set(match[1], entry);
    }
    this.entries.clear();
    this.total = 0;
    for (const [key, entry] of [...seen.entries()].sort((a, b) => a[1].usedAt - b[1].usedAt)) {
      this.entries.set(key, entry);
      this.total += entry.bytes;
    }
  }

  private bodyFile(key: string): string {
    return join(this.dir, `${key}.body`);
  }

  private metaFile(key: string): string {
    return join(this.dir, `${key}.json`);
  }
}
