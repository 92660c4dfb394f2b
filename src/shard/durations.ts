import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { SUMMARY_LIMITS } from '../report/summary.js';
import { UsageError } from '../util/errors.js';
import { parseJsonInput } from '../util/json-input.js';
import { firstIssue } from '../util/key-path.js';
import { readInputTextSync } from '../util/read-input.js';

const SUMMARY = 'summary.json';
/** Run folders sit at the runs root, or at `<pipeline>/<distro>/<set>/` under it. */
const SEARCH_DEPTH = 3;
/** Folders of a run that hold no summaries. */
const NOT_RUNS = new Set(['logs', 'scan', 'dockerfiles']);

const timingsSchema = z.looseObject({
  distro: z.string().default(''),
  started_at: z.string().default(''),
  images: z.record(
    z.string(),
    z.looseObject({ status: z.string(), build_seconds: z.number().nonnegative().optional() }),
  ),
});

/** The build timings of one earlier run. */
export interface RecordedTimings {
  file: string;
  distro: string;
  startedAt: string;
  /** Seconds per image it really built (reused and failed images took no build time worth counting). */
  seconds: Map<string, number>;
}

/** A summary's timings, or the key at fault: regular file, capped (a FIFO would hang the plan), JSON placed not quoted. */
function readTimingsFile(file: string): RecordedTimings | { where: string; problem: string } {
  const parsed = timingsSchema.safeParse(parseJsonInput(readInputTextSync(file, SUMMARY_LIMITS), file, 'run summary'));
  if (!parsed.success) return firstIssue(parsed.error);
  const seconds = new Map<string, number>();
  for (const [name, record] of Object.entries(parsed.data.images)) {
    if (record.status === 'built' && record.build_seconds !== undefined) seconds.set(name, record.build_seconds);
  }
  return { file, distro: parsed.data.distro, startedAt: parsed.data.started_at, seconds };
}

/** A --durations-from argument: a run folder or its summary.json; a missing or damaged one is bad input. */
export function readTimings(path: string): RecordedTimings {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, SUMMARY) : path;
  let timings: ReturnType<typeof readTimingsFile>;
  try {
    timings = readTimingsFile(file);
  } catch (error) {
    if (error instanceof UsageError)
      throw new UsageError(`--durations-from ${path}: no readable run summary: ${error.message}`);
    throw error;
  }
  if ('problem' in timings) {
    const { where, problem } = timings;
    throw new UsageError(
      `--durations-from ${path}: ${file} is not a run summary: ${where || '(top level)'}: ${problem}`,
    );
  }
  return timings;
}

/** Every readable run summary under the runs root (unreadable ones, such as a run being written, are passed over). */
export function findTimings(root: string): RecordedTimings[] {
  const found: RecordedTimings[] = [];
  const visit = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isFile() && entry.name === SUMMARY) {
        try {
          const timings = readTimingsFile(join(dir, SUMMARY));
          if (!('problem' in timings)) found.push(timings);
        } catch {
          // Not a summary worth weighing shards by.
        }
      } else if (entry.isDirectory() && depth < SEARCH_DEPTH && !NOT_RUNS.has(entry.name)) {
        visit(join(dir, entry.name), depth + 1);
      }
    }
  };
  visit(root, 0);
  return found;
}

/** Per image, the seconds of the most recent run that built it (the file's name breaks a tie of start times). */
export function latestDurations(runs: readonly RecordedTimings[]): Map<string, number> {
  const newestFirst = [...runs].sort((a, b) =>
    a.startedAt !== b.startedAt ? (a.startedAt < b.startedAt ? 1 : -1) : a.file < b.file ? -1 : a.file > b.file ? 1 : 0,
  );
  const durations = new Map<string, number>();
  for (const run of newestFirst) {
    for (const [name, seconds] of run.seconds) if (!durations.has(name)) durations.set(name, seconds);
  }
  return durations;
}
