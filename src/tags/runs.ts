import { z } from 'zod';
import { ConfigError } from '../util/errors.js';
import type { SummarySource } from './run-sources.js';

/** What one finished run offers to roll out: one tag for one distro key. */
export interface RunRollout {
  /** The file the run was read from, and where in it, as errors name them. */
  summaryFile: string;
  keyPath: string;
  /** How warnings name the run. */
  label: string;
  distroKey: string;
  tag: string;
  /** Images of the image trees the run did not select (its summary's `not_matched`). */
  notMatched: string[];
  /** Every image the run left at its tag: built, reused or patched, and not failed, held or unpushed. */
  present: string[];
  /** Images that failed (to build, to push, to be scanned), were held, or were skipped for a failure. */
  failed: string[];
  /** The run built without --push: its tag exists only in the build host's engine. */
  pushed: boolean;
}

const named = z.array(z.looseObject({ name: z.string() }));
const summarySchema = z.looseObject({
  tag: z.string().min(1),
  distro: z.string().regex(/^[a-z][a-z0-9]*$/),
  built: named,
  reused: named.default([]),
  patched: named.default([]),
  failed: named,
  skipped: z.array(z.looseObject({ name: z.string(), reason: z.string() })),
  not_matched: named,
  pushed: named.default([]),
  push_failed: named.default([]),
  held: named.default([]),
  scan_failed: named.default([]),
  finished_at: z.string().nullable().optional(),
  interrupted: z.boolean().default(false),
});

/** A leaf left out by --skip-parents is not a failure; anything else skipped is. */
const SKIP_PARENTS_REASON = /^--skip-parents/;

const names = (entries: ReadonlyArray<{ name: string }>) => entries.map((entry) => entry.name);

export function readRollout(source: SummarySource): RunRollout {
  const { file, keyPath, label } = source;
  const at = (key: string) => [keyPath, key].filter((part) => part !== '').join('.');
  const parsed = summarySchema.safeParse(source.raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = at(issue?.path.map(String).join('.') ?? '');
    throw new ConfigError(file, key, `not a run summary: ${issue?.message ?? 'unexpected shape'}`);
  }
  const summary = parsed.data;
  if (summary.interrupted || summary.finished_at === null) {
    throw new ConfigError(file, at('interrupted'), 'the run did not finish: nothing of it is rolled out');
  }
  const runTag = new RegExp(`^[a-z0-9][a-z0-9._-]*-${summary.distro}-([a-z0-9][a-z0-9.]*)-\\d{8}T\\d{6}$`);
  const version = runTag.exec(summary.tag)?.[1];
  if (version === undefined) {
    const expected = `<release>-${summary.distro}-<version>-<YYYYMMDDThhmmss>`;
    throw new ConfigError(file, at('tag'), `"${summary.tag}" is not a run tag ${expected}`);
  }

  // Held and unscanned images were built but never reached the registry: not at the tag either.
  const failed = new Set([
    ...names(summary.failed),
    ...names(summary.push_failed),
    ...names(summary.held),
    ...names(summary.scan_failed),
    ...names(summary.skipped.filter((entry) => !SKIP_PARENTS_REASON.test(entry.reason))),
  ]);
  const present = names([...summary.built, ...summary.reused, ...summary.patched]).filter((name) => !failed.has(name));
  return {
    summaryFile: file,
    keyPath,
    label,
    distroKey: `${summary.distro}-${version}`,
    tag: summary.tag,
    notMatched: names(summary.not_matched),
    present: [...new Set(present)].sort(),
    failed: [...failed].sort(),
    pushed: summary.pushed.length > 0 || summary.push_failed.length > 0,
  };
}
