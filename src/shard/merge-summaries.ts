import type { ImageRecord, RunSummary } from '../report/summary.js';

/** One shard's summary and the folder it came from. */
export interface ShardSummary {
  runDir: string;
  summary: RunSummary;
}

export type MergeResult =
  { ok: true; summary: RunSummary; ownerOf: ReadonlyMap<string, number> } | { ok: false; reason: string };

/** An image's record from the shard that did its work wins over one that only took it (or never got to it). */
const RECORD_RANK: Record<ImageRecord['status'], number> = {
  built: 6,
  patched: 5,
  reused: 4,
  failed: 3,
  building: 2,
  queued: 1,
  skipped: 0,
};

/**
 * Pure: the summary of a run split into shards, as if one run had done it all. Each image is in at most
 * one of built, reused, failed and skipped, the first that applies: an image one shard built and others
 * pulled counts once, as built. `ownerOf` gives, per image, the index of the summary its record comes from.
 */
export function mergeShardSummaries(shards: readonly ShardSummary[]): MergeResult {
  const [first] = shards;
  if (first === undefined) return { ok: false, reason: 'no run folder to merge' };
  for (const { runDir, summary } of shards) {
    if (summary.tag !== first.summary.tag)
      return { ok: false, reason: `${runDir} has tag ${summary.tag}, ${first.runDir} ${first.summary.tag}` };
    if (summary.distro !== first.summary.distro)
      return { ok: false, reason: `${runDir} is for ${summary.distro}, ${first.runDir} for ${first.summary.distro}` };
  }
  const all = shards.map((shard) => shard.summary);
  const images: Record<string, ImageRecord> = {};
  const ownerOf = new Map<string, number>();
  all.forEach((summary, index) => {
    for (const [name, record] of Object.entries(summary.images)) {
      const current = images[name];
      if (current === undefined || RECORD_RANK[record.status] > RECORD_RANK[current.status]) {
        images[name] = record;
        ownerOf.set(name, index);
      }
    }
  });
  const built = uniqueByName(all.flatMap((summary) => summary.built));
  const done = new Set(built.map((entry) => entry.name));
  const patched = uniqueByName(all.flatMap((summary) => summary.patched)).filter((entry) => !done.has(entry.name));
  patched.forEach((entry) => done.add(entry.name));
  const reused = uniqueByName(all.flatMap((summary) => summary.reused)).filter((entry) => !done.has(entry.name));
  reused.forEach((entry) => done.add(entry.name));
  const failed = uniqueByName(all.flatMap((summary) => summary.failed)).filter((entry) => !done.has(entry.name));
  failed.forEach((entry) => done.add(entry.name));
  const skipped = uniqueByName(all.flatMap((summary) => summary.skipped)).filter((entry) => !done.has(entry.name));
  const pushed = uniqueBy(
    all.flatMap((summary) => summary.pushed),
    (entry) => entry.reference,
  );
  const reached = new Set(pushed.map((entry) => entry.reference));
  const baseImages = all.map((summary) => summary.base_image).filter((base) => base !== null);
  const finished = all.map((summary) => summary.finished_at);
  const summary: RunSummary = {
    built,
    failed,
    not_matched: uniqueByName(all.flatMap((entry) => entry.not_matched)),
    skipped,
    unbuildable: uniqueByName(all.flatMap((entry) => entry.unbuildable)),
    reused,
    patched,
    pushed,
    push_failed: uniqueBy(
      all.flatMap((entry) => entry.push_failed),
      (entry) => entry.reference,
    ).filter((entry) => !reached.has(entry.reference)),
    scanned: uniqueByName(all.flatMap((entry) => entry.scanned)),
    scan_failed: uniqueByName(all.flatMap((entry) => entry.scan_failed)),
    held: uniqueByName(all.flatMap((entry) => entry.held)),
    flaky: uniqueByName(all.flatMap((entry) => entry.flaky)),
    unmatched_regexes: [...new Set(all.flatMap((entry) => entry.unmatched_regexes))],
    tag: first.summary.tag,
    distro: first.summary.distro,
    engine: [...new Set(all.map((entry) => entry.engine))].join(','),
    base_image: baseImages.find((base) => base.outcome === 'failed') ?? baseImages[0] ?? null,
    started_at: all.map((entry) => entry.started_at).sort()[0] ?? '',
    finished_at: finished.includes(null) ? null : ([...finished].sort().at(-1) ?? null),
    interrupted: all.some((entry) => entry.interrupted),
    images,
  };
  return { ok: true, summary, ownerOf };
}

function uniqueBy<T>(entries: readonly T[], key: (entry: T) => string): T[] {
  const seen = new Set<string>();
  return entries.filter((entry) => {
    const value = key(entry);
    if (seen.has(value)) return false;
    seen.add(value);
    return true;
  });
}

const uniqueByName = <T extends { name: string }>(entries: readonly T[]): T[] =>
  uniqueBy(entries, (entry) => entry.name);
