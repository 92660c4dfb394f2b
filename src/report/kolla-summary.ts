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
 * A run's summary as kolla-build reports it. An image reused at its input digest, or patched, is one kolla-build
 * would have built, so it counts as built; a push failure is a failure of its image, as in kolla-build.
 * kolla-build lists every unbuildable image of the tree, matched or not: `unbuildable` gives them all.
 */
export function kollaSummaryOf(summary: RunSummary, unbuildable: readonly string[]): KollaSummary {
  const failedNames = new Set(summary.failed.map((entry) => entry.name));
  const pushFailed = summary.push_failed.filter((entry) => !failedNames.has(entry.name));
  const pushFailedNames = new Set(pushFailed.map((entry) => entry.name));
  const names = (entries: Array<{ name: string }>) => entries.map((entry) => ({ name: entry.name }));
  return {
    built: names(
      [...summary.built, ...summary.reused, ...summary.patched].filter((entry) => !pushFailedNames.has(entry.name)),
    ),
    failed: [
      ...summary.failed.map((entry) => ({ name: entry.name, status: entry.status })),
      ...pushFailed.map((entry) => ({ name: entry.name, status: 'push_error' as const })),
    ],
    not_matched: names(summary.not_matched),
    skipped: names(summary.skipped),
    unbuildable: unbuildable.map((name) => ({ name })),
  };
}

/**
 * JSON as Python's json.dump writes it (kolla-build's summary): `", "` and `": "` between items, or an
 * indent, non-ASCII escaped (ensure_ascii), no line end after the last bracket.
 */
export function pythonJson(value: unknown, indent?: number, depth = 0): string {
  if (Array.isArray(value) || (typeof value === 'object' && value !== null)) {
    const entries = Array.isArray(value)
      ? value.map((item) => pythonJson(item, indent, depth + 1))
      : Object.entries(value).map(([key, item]) => `${asciiString(key)}: ${pythonJson(item, indent, depth + 1)}`);
    const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
    if (entries.length === 0) return `${open}${close}`;
    if (indent === undefined) return `${open}${entries.join(', ')}${close}`;
    const inner = `\n${' '.repeat(indent * (depth + 1))}`;
    return `${open}${inner}${entries.join(`,${inner}`)}\n${' '.repeat(indent * depth)}${close}`;
  }
  return typeof value === 'string' ? asciiString(value) : JSON.stringify(value);
}

function asciiString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
