import type { FailureStatus } from './events.js';
import type { RunSummary } from './summary.js';

/** The summary kolla-build prints with `--format json` and writes to `--summary-json-file`: its five keys only. */
export interface KollaSummary {
  built: Array<{ name: string }>;
  failed: Array<{ name: string; status: FailureStatus }>;
  not_matched: Array<{ name: string }>;
  skipped: Array<{ name: string }>;
  unbuildable: Array<{ name: string }>;
}

/**
 * A run's summary as kolla-build reports it. An image reused at its input digest is one kolla-build would
 * have built, so it counts as built; a push failure is a failure of its image, as in kolla-build.
 * kolla-build lists every unbuildable image of the tree, matched or not: `unbuildable` gives them all.
 */
export function kollaSummaryOf(summary: RunSummary, unbuildable: readonly string[]): KollaSummary {
  const failedNames = new Set(summary.failed.map((entry) => entry.name));
  const pushFailed = summary.push_failed.filter((entry) => !failedNames.has(entry.name));
  const pushFailedNames = new Set(pushFailed.map((entry) => entry.name));
  const names = (entries: Array<{ name: string }>) => entries.map((entry) => ({ name: entry.name }));
  return {
    built: names([...summary.built, ...summary.reused].filter((entry) => !pushFailedNames.has(entry.name))),
    failed: [
      ...summary.failed.map((entry) => ({ name: entry.name, status: entry.status })),
      ...pushFailed.map((entry) => ({ name: entry.name, status: 'push_error' as const })),
    ],
    not_matched: names(summary.not_matched),
    skipped: names(summary.skipped),
    unbuildable: unbuildable.map((name) => ({ name })),
  };
}
