import { relative, resolve } from 'node:path';
import type { TestEvent } from 'node:test/reporters';

/** One test file as the runner reports it when the file's process is done. */
export interface FileTime {
  file: string;
  seconds: number;
  passed: boolean;
}

/**
 * The duration of a whole test file (its process: start-up, hooks and tests), from the event that
 * ends it: the runner reports each file as a test at nesting 0 named by its path. Else undefined.
 */
export function fileTimeOf(event: TestEvent, cwd = process.cwd()): FileTime | undefined {
  if (event.type !== 'test:complete' || event.data.nesting !== 0 || event.data.file === undefined) return undefined;
  const { file, name, details } = event.data;
  return resolve(cwd, name) === file
    ? { file, seconds: details.duration_ms / 1000, passed: details.passed }
    : undefined;
}

/** Slowest first, with the sum: where a suite's time goes. */
export function formatDurations(files: readonly FileTime[], cwd = process.cwd()): string {
  const sorted = [...files].sort((a, b) => b.seconds - a.seconds || a.file.localeCompare(b.file));
  const total = sorted.reduce((sum, entry) => sum + entry.seconds, 0);
  const lines = sorted.map(
    (entry) => `${entry.seconds.toFixed(1).padStart(8)} s ${entry.passed ? ' ' : '✖'} ${relative(cwd, entry.file)}`,
  );
  return `per-file durations, slowest first (${files.length} files, ${total.toFixed(1)} s in all):\n${lines.join('\n')}\n`;
}
