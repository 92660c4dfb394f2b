import { lstatSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LOG_LIMITS, readWorstFindings, SCAN_REPORT_LIMITS, writeHtmlReport } from '../report/html-report.js';
import type { RunSummary } from '../report/summary.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { errorCodeOrMessage, UsageError } from '../util/errors.js';
import { copyInputFile, InputRefusedError, MiB, type InputLimits } from '../util/read-input.js';
import { readShardSummary } from './shard-summary.js';
import { pacer } from '../util/pace.js';
import { mergeShardSummaries, type ShardSummary } from './merge-summaries.js';

export interface MergedRun {
  outDir: string;
  summary: RunSummary;
  /** One line per file of a shard passed over: a link, a FIFO, a file too large. */
  warnings: string[];
}

type ShardFolder = 'logs' | 'scan';

/** The files an image's owner shard gives the merged folder: its log, its scan report and SBOM. */
const IMAGE_FILES: ReadonlyArray<{ folder: ShardFolder; suffix: string; limits: Omit<InputLimits, 'within'> }> = [
  { folder: 'logs', suffix: 'log', limits: LOG_LIMITS },
  { folder: 'scan', suffix: 'json', limits: SCAN_REPORT_LIMITS },
  { folder: 'scan', suffix: 'cdx.json', limits: { what: 'SBOM', maxBytes: 64 * MiB } },
];

/**
 * Copies one file of a shard's folder into the merged one. Only a regular file inside the shard's
 * folder is read, reached without a symbolic link: a shard's folder comes from another job, and a
 * link in it (to /etc/shadow, to a docker config.json) would hand over that file. Such a file is
 * passed over with a warning, not refused: the other shards' work still deserves its report.
 */
async function copyFromShard(
  shardDir: string,
  file: string,
  outDir: string,
  limits: Omit<InputLimits, 'within'>,
  warnings: string[],
): Promise<boolean> {
  try {
    await copyInputFile(join(shardDir, file), join(outDir, file), { ...limits, within: shardDir });
    return true;
  } catch (error) {
    if (!(error instanceof InputRefusedError)) throw error;
    if (error.refusal !== 'missing') warnings.push(`summary merge: ${error.message}; not copied`);
    return false;
  }
}

/**
 * The shard's logs/ and scan/ that are folders of their own. One that is a symbolic link is named
 * once and nothing in it is read (the copies check every file again, against a swap after this).
 */
function ownFolders(shardDir: string, warnings: string[]): Set<ShardFolder> {
  const own = new Set<ShardFolder>();
  for (const folder of ['logs', 'scan'] as const) {
    const path = join(shardDir, folder);
    try {
      const stats = lstatSync(path);
      if (stats.isSymbolicLink()) warnings.push(`summary merge: ${path} is a symbolic link, not followed`);
      else if (stats.isDirectory()) own.add(folder);
    } catch {
      // No such folder: nothing to copy from it.
    }
  }
  return own;
}

function listFolder(path: string, warnings: string[]): string[] {
  try {
    return readdirSync(path).sort();
  } catch (error) {
    warnings.push(`summary merge: ${path} cannot be listed (${errorCodeOrMessage(error)}); its files not copied`);
    return [];
  }
}

/**
 * One run folder from the shards' folders: summary.json, each image's log (and scan report) from the
 * shard whose record it keeps, the other logs from the first shard that has them, and report.html.
 * Every summary and scan report the report reads is checked before anything is written.
 */
export async function mergeRunFolders(
  runDirs: readonly string[],
  outDir: string,
  signal?: AbortSignal,
): Promise<MergedRun> {
  const out = resolve(outDir);
  const folders = runDirs.map((dir) => resolve(dir));
  if (folders.includes(out)) throw new UsageError(`summary merge: --out ${outDir} is one of the folders merged`);
  const pace = pacer(signal);
  const shards: ShardSummary[] = [];
  for (const dir of folders) shards.push(await readShardSummary(dir, pace));
  const merged = mergeShardSummaries(shards);
  if (!merged.ok) throw new UsageError(`summary merge: shards of different runs: ${merged.reason}`);
  const ownerFolder = (name: string) => {
    const index = merged.ownerOf.get(name);
    return index === undefined ? undefined : folders[index];
  };
  for (const { name } of merged.summary.scanned) {
    const owner = ownerFolder(name);
    if (owner !== undefined) await readWorstFindings(join(owner, 'scan', `${name}.json`), owner).catch(passOverRefusal);
  }

  const warnings: string[] = [];
  const usable = new Map(folders.map((folder) => [folder, ownFolders(folder, warnings)]));
  const copied = new Set<string>();
  for (const name of merged.ownerOf.keys()) {
    await pace();
    const owner = ownerFolder(name);
    if (owner === undefined) continue;
    for (const { folder, suffix, limits } of IMAGE_FILES) {
      const file = join(folder, `${name}.${suffix}`);
      if (usable.get(owner)?.has(folder) && (await copyFromShard(owner, file, out, limits, warnings))) copied.add(file);
    }
  }
  // The other logs (an image taken over from another shard, a pulled parent): the first shard's.
  for (const [index, folder] of folders.entries()) {
    if (!usable.get(folder)?.has('logs')) continue;
    for (const name of listFolder(join(folder, 'logs'), warnings)) {
      const file = join('logs', name);
      const tried = merged.ownerOf.get(name.replace(/\.log$/, '')) === index;
      if (!copied.has(file) && !tried && (await copyFromShard(folder, file, out, LOG_LIMITS, warnings))) {
        copied.add(file);
      }
    }
  }
  const mergedFrom = shards.map((shard) => ({ shard: shard.summary.shard ?? null, run_dir: shard.runDir }));
  const document = { ...merged.summary, merged_from: mergedFrom };
  await writeFileAtomic(join(out, 'summary.json'), `${JSON.stringify(document, null, 2)}\n`);
  await writeHtmlReport(out, merged.summary);
  return { outDir: out, summary: merged.summary, warnings };
}

/** A scan report that is a link or a FIFO is not copied (and warned about then); only a damaged one stops the merge. */
function passOverRefusal(error: unknown): [] {
  if (error instanceof InputRefusedError) return [];
  throw error;
}
