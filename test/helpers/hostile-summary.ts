import type { LogTails, ScanFindings } from '../../src/report/html.js';
import type { RunSummary } from '../../src/report/summary.js';
import { sampleSummary } from './sample-summary.js';

/**
 * Markup that runs script wherever it is not escaped: in text, in a double- or single-quoted
 * attribute, in an SVG. Each one that runs marks the page's body (`data-xss`).
 */
export const PAYLOAD =
  `"'><script>document.body.dataset.xss='script'</script>` +
  `<img src=x onerror="document.body.dataset.xss='img'"><svg onload="document.body.dataset.xss='svg'"></svg>`;

/** Links an OSV record may carry that must never become links. */
export const HOSTILE_URLS = [
  "javascript:document.body.dataset.xss='link'",
  " JavaScript:document.body.dataset.xss='link'",
  'data:text/html,<script>alert(1)</script>',
  'vbscript:msgbox(1)',
  '//evil.example/x',
];

/** Every kind of entry a summary can hold, so that every field of it is drawn somewhere. */
function fullSummary(): RunSummary {
  const summary = sampleSummary();
  const counts = { CRITICAL: 1, HIGH: 2, MEDIUM: 0, LOW: 0, UNKNOWN: 0 };
  summary.scanned.push({ name: 'leaf', reference: 'r/leaf:t', verdict: 'critical', counts, allowed: 1, seconds: 2 });
  summary.scan_failed.push({ name: 'openstack-base', reference: 'r/openstack-base:t', reason: 'no inventory' });
  summary.held.push({ name: 'leaf', reference: 'r/leaf:t', verdict: 'critical' });
  summary.push_failed.push({ name: 'openstack-base', reference: 'r/openstack-base:t', reason: 'denied' });
  summary.skipped.push({ name: 'other', reason: 'parent failed' });
  summary.not_matched.push({ name: 'horizon' });
  summary.unbuildable.push({ name: 'bifrost' });
  summary.unmatched_regexes.push('^nothing$');
  summary.failed.push({ name: 'debian:bookworm', status: 'error', reason: 'no base image' });
  summary.base_image = { reference: 'debian:bookworm', outcome: 'failed' };
  summary.builders = ['tcp://a:2375', 'tcp://b:2375'];
  summary.lost_builders = ['tcp://b:2375'];
  for (const record of Object.values(summary.images)) {
    record.builder = 'tcp://a:2375';
    record.image_id = 'sha256:1';
  }
  const openstackBase = summary.images['openstack-base'];
  if (openstackBase) {
    const push = { status: 'failed' as const, attempts: 3, seconds: 1, started_at: '2026-11-25T10:00:21.000Z' };
    openstackBase.push = { ...push, finished_at: '2026-11-25T10:00:25.000Z' };
  }
  return summary;
}

export interface HostileReportInput {
  summary: RunSummary;
  logs: LogTails;
  findings: ScanFindings;
}

/**
 * A summary whose every string (image names included) is the payload, numbered; with `numbers`,
 * numbers too (a summary.json is only JSON: nothing makes a count a number). Times stay times
 * so that the timeline draws its bars, whose attributes are what carried the payload.
 */
export function hostileReportInput(options: { numbers: boolean }): HostileReportInput {
  let serial = 0;
  const hostile = (): string => `${PAYLOAD}${serial++}`;
  const names = new Map<string, string>();
  const nameOf = (name: string): string => names.get(name) ?? names.set(name, hostile()).get(name) ?? name;
  const replace = (value: unknown, key: string): unknown => {
    if (typeof value === 'string') {
      if (key.endsWith('_at')) return value;
      return key === 'name' || key === 'parent' ? nameOf(value) : hostile();
    }
    if (typeof value === 'number') return options.numbers ? hostile() : value;
    if (Array.isArray(value)) return value.map((item) => replace(item, key));
    if (typeof value === 'object' && value !== null) {
      const entries = Object.entries(value).map(([inner, item]) => [
        key === 'images' ? nameOf(inner) : inner,
        replace(item, inner),
      ]);
      return Object.fromEntries(entries);
    }
    return value;
  };
  const source = fullSummary();
  // Lists of names hold plain strings where the key says nothing: the names stay names.
  const summary = replace(source, '') as RunSummary;
  const leaf = nameOf('leaf');
  const finding = (url: string) => ({
    id: hostile(),
    package: hostile(),
    installed: hostile(),
    fixed: hostile(),
    severity: 'CRITICAL',
    url,
    status: hostile(),
  });
  return {
    summary,
    logs: { [leaf]: { lines: [hostile(), hostile()], total: options.numbers ? (hostile() as never) : 400 } },
    findings: { [leaf]: HOSTILE_URLS.map(finding) },
  };
}
