import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, UsageError } from '../util/errors.js';
import { isDeployableImage } from './naming.js';

/** What a finished run offers to roll out: one tag for one distro key, for every image or for some. */
export interface RunRollout {
  summaryFile: string;
  distroKey: string;
  tag: string;
  /**
   * Every image of the image trees was selected (the summary's `not_matched` is empty) and every
   * one built or was reused: the tag replaces the default (`openstack`) for the distro.
   */
  full: boolean;
  /** Deployable images of the run at its tag (built or reused, and pushed when the run pushed). */
  images: string[];
  /** The run built without --push: its tag exists only in the build host's engine. */
  pushed: boolean;
}

const named = z.array(z.looseObject({ name: z.string() }));
const summarySchema = z.looseObject({
  tag: z.string().min(1),
  distro: z.string().regex(/^[a-z][a-z0-9]*$/),
  built: named,
  reused: named.default([]),
  failed: named,
  skipped: z.array(z.looseObject({ name: z.string(), reason: z.string() })),
  not_matched: named,
  pushed: named.default([]),
  push_failed: named.default([]),
  finished_at: z.string().nullable().optional(),
  interrupted: z.boolean().default(false),
});

/** A leaf left out by --skip-parents is not a failure; anything else skipped is. */
const SKIP_PARENTS_REASON = /^--skip-parents/;

/**
 * The summary files named by `--run` values: a run folder (summary.json inside), a folder of
 * run folders (a pipeline's distros, one level down), or a summary.json itself.
 */
export function summaryFiles(runs: readonly string[]): string[] {
  const files: string[] = [];
  for (const run of runs) {
    const path = resolve(run);
    if (!existsSync(path)) throw new UsageError(`--run ${run}: no such file or folder`);
    if (statSync(path).isFile()) files.push(path);
    else if (existsSync(join(path, 'summary.json'))) files.push(join(path, 'summary.json'));
    else {
      const nested = readdirSync(path, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && existsSync(join(path, entry.name, 'summary.json')))
        .map((entry) => join(path, entry.name, 'summary.json'))
        .sort();
      if (nested.length === 0) throw new UsageError(`--run ${run}: no summary.json in it nor in its sub-folders`);
      files.push(...nested);
    }
  }
  return files;
}

/** The newest run folder under the runs folder (by its summary's modification time). */
export function latestRun(runsDir: string): string {
  const candidates = existsSync(runsDir)
    ? readdirSync(runsDir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && existsSync(join(runsDir, entry.name, 'summary.json')))
        .map((entry) => join(runsDir, entry.name))
    : [];
  const modified = (run: string) => statSync(join(run, 'summary.json')).mtimeMs;
  const newest = candidates.sort((a, b) => modified(b) - modified(a))[0];
  if (newest === undefined) throw new UsageError(`no run in ${runsDir}: give --run DIR`);
  return newest;
}

export function readRollout(summaryFile: string): RunRollout {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(summaryFile, 'utf8'));
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0] ?? '';
    throw new ConfigError(summaryFile, '', `not a readable JSON summary (${reason})`);
  }
  const parsed = summarySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path.map(String).join('.') ?? '';
    throw new ConfigError(summaryFile, key, `not a run summary: ${issue?.message ?? 'unexpected shape'}`);
  }
  const summary = parsed.data;
  if (summary.interrupted || summary.finished_at === null) {
    throw new ConfigError(summaryFile, 'interrupted', 'the run did not finish: nothing of it is rolled out');
  }
  const runTag = new RegExp(`^[a-z0-9][a-z0-9._-]*-${summary.distro}-([a-z0-9][a-z0-9.]*)-\\d{8}T\\d{6}$`);
  const version = runTag.exec(summary.tag)?.[1];
  if (version === undefined) {
    const expected = `<release>-${summary.distro}-<version>-<YYYYMMDDThhmmss>`;
    throw new ConfigError(summaryFile, 'tag', `"${summary.tag}" is not a run tag ${expected}`);
  }

  const failedNames = new Set([
    ...summary.failed.map((entry) => entry.name),
    ...summary.push_failed.map((entry) => entry.name),
    ...summary.skipped.filter((entry) => !SKIP_PARENTS_REASON.test(entry.reason)).map((entry) => entry.name),
  ]);
  const atTag = [...summary.built, ...summary.reused]
    .map((entry) => entry.name)
    .filter((name) => !failedNames.has(name) && isDeployableImage(name));
  const pushed = summary.pushed.length > 0 || summary.push_failed.length > 0;
  const full = summary.not_matched.length === 0;
  if (full && failedNames.size > 0) {
    const names = `${[...failedNames].sort().slice(0, 3).join(', ')}${failedNames.size > 3 ? ', …' : ''}`;
    const problem = `a build of every image with ${failedNames.size} failed (${names})`;
    const why = 'the default tag would name missing images; rebuild them first';
    throw new ConfigError(summaryFile, 'failed', `${problem}: ${why}`);
  }
  const images = [...new Set(atTag)].sort();
  return { summaryFile, distroKey: `${summary.distro}-${version}`, tag: summary.tag, full, images, pushed };
}
