import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { writeHtmlReport } from '../report/html-report.js';
import type { RunSummary } from '../report/summary.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UsageError } from '../util/errors.js';
import { mergeShardSummaries, type ShardSummary } from './merge-summaries.js';

const named = z.array(z.looseObject({ name: z.string() }));
const verdict = z.enum(['clean', 'dirty', 'critical']);
const pushedList = z.array(z.looseObject({ name: z.string(), reference: z.string() }));
/** The parts of a summary the merge relies on; the rest is carried as it is. */
const summarySchema = z.looseObject({
  built: named,
  failed: z.array(z.looseObject({ name: z.string(), status: z.string(), reason: z.string() })),
  not_matched: named,
  skipped: z.array(z.looseObject({ name: z.string(), reason: z.string() })),
  unbuildable: named,
  reused: named,
  pushed: pushedList,
  push_failed: z.array(z.looseObject({ name: z.string(), reference: z.string(), reason: z.string() })),
  scanned: z
    .array(
      z.looseObject({
        name: z.string(),
        reference: z.string(),
        verdict,
        counts: z.looseObject({
          CRITICAL: z.number(),
          HIGH: z.number(),
          MEDIUM: z.number(),
          LOW: z.number(),
          UNKNOWN: z.number(),
        }),
        allowed: z.number(),
        seconds: z.number(),
      }),
    )
    .default([]),
  patched: z.array(z.looseObject({ name: z.string(), packages: z.number() })).default([]),
  scan_failed: z.array(z.looseObject({ name: z.string(), reference: z.string(), reason: z.string() })).default([]),
  held: z.array(z.looseObject({ name: z.string(), reference: z.string(), verdict })).default([]),
  unmatched_regexes: z.array(z.string()).default([]),
  tag: z.string().min(1),
  distro: z.string().min(1),
  engine: z.string(),
  base_image: z.looseObject({ reference: z.string(), outcome: z.string() }).nullable(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  interrupted: z.boolean(),
  images: z.record(
    z.string(),
    z.looseObject({
      reference: z.string(),
      parent: z.string().nullable(),
      input_digest: z.string(),
      status: z.enum(['queued', 'building', 'built', 'reused', 'patched', 'failed', 'skipped']),
    }),
  ),
  shard: z.string().optional(),
});

/** A shard's summary.json; a folder without one, or with a damaged one, is named in one line. */
export function readShardSummary(runDir: string): ShardSummary {
  const file = join(runDir, 'summary.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'has no summary.json' : `has an unreadable summary.json (${code ?? 'not JSON'})`;
    throw new UsageError(`summary merge: ${runDir} ${why}`);
  }
  const parsed = summarySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map(String).join('.') || '(top level)';
    throw new UsageError(`summary merge: ${runDir}/summary.json is damaged: ${where}: ${issue?.message ?? ''}`);
  }
  // The schema checked every key the merge reads; the statuses and counts are carried as the run wrote them.
  return { runDir, summary: parsed.data as RunSummary };
}

export interface MergedRun {
  outDir: string;
  summary: RunSummary;
}

/**
 * One run folder from the shards' folders: summary.json, each image's log (and scan report) from the
 * shard whose record it keeps, the other logs from the first shard that has them, and report.html.
 */
export async function mergeRunFolders(runDirs: readonly string[], outDir: string): Promise<MergedRun> {
  const out = resolve(outDir);
  const folders = runDirs.map((dir) => resolve(dir));
  if (folders.includes(out)) throw new UsageError(`summary merge: --out ${outDir} is one of the folders merged`);
  const shards = folders.map((dir) => readShardSummary(dir));
  const merged = mergeShardSummaries(shards);
  if (!merged.ok) throw new UsageError(`summary merge: shards of different runs: ${merged.reason}`);
  mkdirSync(join(out, 'logs'), { recursive: true });
  const logFrom = (index: number | undefined, file: string) => {
    const source = index === undefined ? undefined : folders[index];
    return source === undefined ? undefined : join(source, file);
  };
  const copied = new Set<string>();
  for (const [name, index] of merged.ownerOf) {
    // The pipeline's scan reports: the findings and the SBOM.
    for (const [folder, suffix] of [
      ['logs', 'log'],
      ['scan', 'json'],
      ['scan', 'cdx.json'],
    ] as const) {
      const source = logFrom(index, join(folder, `${name}.${suffix}`));
      if (source === undefined || !existsSync(source)) continue;
      mkdirSync(join(out, folder), { recursive: true });
      copyFileSync(source, join(out, folder, `${name}.${suffix}`));
      copied.add(join(folder, `${name}.${suffix}`));
    }
  }
  for (const folder of folders) {
    const logs = join(folder, 'logs');
    if (!existsSync(logs) || !statSync(logs).isDirectory()) continue;
    for (const file of readdirSync(logs)) {
      if (copied.has(join('logs', file))) continue;
      copyFileSync(join(logs, file), join(out, 'logs', file));
      copied.add(join('logs', file));
    }
  }
  const mergedFrom = shards.map((shard) => ({ shard: shard.summary.shard ?? null, run_dir: shard.runDir }));
  const document = { ...merged.summary, merged_from: mergedFrom };
  await writeFileAtomic(join(out, 'summary.json'), `${JSON.stringify(document, null, 2)}\n`);
  await writeHtmlReport(out, merged.summary);
  return { outDir: out, summary: merged.summary };
}
