import { join } from 'node:path';
import { describeCounters } from '../proxy/counters.js';
import { describeFlakyCount, type RunSummary } from './summary.js';

/** How a run's images were made, as its end line counts them: built, reused, patched (when any), failed, flaky. */
export function describeMadeCounts(summary: RunSummary): string[] {
  return [
    `${summary.built.length} built`,
    `${summary.reused.length} reused`,
    ...(summary.patched.length > 0 ? [`${summary.patched.length} patched`] : []),
    `${summary.failed.length} failed`,
    ...describeFlakyCount(summary),
  ];
}

/** The one line a finished build run ends with: its counts and where its summary is (the cache's line before it). */
export function describeRunLine(summary: RunSummary, runDir: string): string {
  const parts = [
    ...describeMadeCounts(summary),
    `${summary.skipped.length} skipped`,
    ...(summary.pushed.length + summary.push_failed.length > 0
      ? [`${summary.pushed.length} pushed`, `${summary.push_failed.length} push failed`]
      : []),
  ];
  const outcome = `${summary.interrupted ? 'interrupted' : 'done'} ${summary.tag}: ${parts.join(', ')}; summary ${join(runDir, 'summary.json')}`;
  return summary.package_cache ? `${describeCounters(summary.package_cache)}\n${outcome}` : outcome;
}
