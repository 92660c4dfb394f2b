import { describeRespin, type ImageRecord, type RunSummary } from './summary.js';

/** How the report says a patch was made by stacking the image's own layers onto its patched parent. */
const STACKED = '; its own layers stacked onto its patched parent';
const COMPOSED = ', composed at the registry';

/** The last lines of each image's log, shown in the report. */
export type LogTails = Record<string, { lines: string[]; total: number }>;

/** The worst findings of each scanned image, as its scan report lists them. */
export type ScanFindings = Record<
  string,
  Array<{
    id: string;
    package: string;
    installed: string;
    fixed: string;
    severity: string;
    url: string;
    status: string;
  }>
>;

/** How many findings the report shows per image (the scan report has them all). */
export const WORST_FINDINGS = 10;

/**
 * Every value drawn into the page goes through one of these. A summary.json and a scan report are
 * only JSON (a shard's come from another job): escaped for text and double-quoted attributes alike,
 * numbers formatted only when they are numbers, links made only of http(s) URLs.
 */
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
const decimal = (value: unknown, digits: number): string =>
  typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '';
const count = (value: unknown): string => decimal(value, 0);

/** An OSV record's URL as a link target, or undefined: `javascript:`, `data:` and relative ones stay text. */
function webLink(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}
const ms = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso));
const anchor = (name: string): string => `log-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;

interface Row {
  name: string;
  record: ImageRecord;
  start?: number;
  end?: number;
  pushStart?: number;
  pushEnd?: number;
}

/** The chain of parents that ends with the last image to finish: what bounded the run's length. */
export function criticalPath(summary: RunSummary): Set<string> {
  let last: string | undefined;
  let lastEnd = -Infinity;
  for (const [name, record] of Object.entries(summary.images)) {
    const end = ms(record.finished_at);
    if (end !== undefined && end > lastEnd) [last, lastEnd] = [name, end];
  }
  const path = new Set<string>();
  for (let name = last; name !== undefined && !path.has(name); name = summary.images[name]?.parent ?? undefined)
    path.add(name);
  return path;
}

/** Most images building at once, and when: parallelism as a number. */
function peakConcurrency(rows: readonly Row[]): number {
  const edges = rows.flatMap((row) =>
    row.start !== undefined && row.end !== undefined ? [[row.start, 1] as const, [row.end, -1] as const] : [],
  );
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let peak = 0;
  for (const [, delta] of edges) peak = Math.max(peak, (current += delta));
  return peak;
}

function timeline(summary: RunSummary, rows: readonly Row[], critical: ReadonlySet<string>): string {
  const t0 = ms(summary.started_at) ?? 0;
  const t1 = Math.max(
    t0 + 1000,
    ...rows.flatMap((row) => [row.end ?? 0, row.pushEnd ?? 0]),
    ms(summary.finished_at ?? undefined) ?? 0,
  );
  const labelWidth = 190;
  const width = 1000;
  const rowHeight = 22;
  const height = 30 + rows.length * rowHeight;
  const x = (time: number) => labelWidth + ((time - t0) / (t1 - t0)) * (width - labelWidth - 10);
  const span = (t1 - t0) / 1000;
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800].find((candidate) => span / candidate <= 10) ?? 3600;
  const ticks: string[] = [];
  for (let second = 0; second <= span; second += step) {
    const at = x(t0 + second * 1000);
    ticks.push(
      `<line x1="${at}" y1="20" x2="${at}" y2="${height}" class="grid"/><text x="${at}" y="14" class="tick">${second}s</text>`,
    );
  }
  const bars = rows.map((row, index) => {
    const y = 26 + index * rowHeight;
    const parts = [
      `<a href="#${anchor(row.name)}"><text x="${labelWidth - 8}" y="${y + 13}" class="label${critical.has(row.name) ? ' critical-label' : ''}">${escapeHtml(row.name)}</text></a>`,
    ];
    if (row.start !== undefined) {
      const end = row.end ?? t1;
      const flaky = row.record.flaky ? `, flaky (${row.record.attempts ?? '?'} attempts)` : '';
      const title = `${row.name}: ${row.record.status}${flaky}, ${((end - row.start) / 1000).toFixed(1)}s${critical.has(row.name) ? ' (critical path)' : ''}`;
      parts.push(
        `<rect data-image="${escapeHtml(row.name)}" x="${x(row.start)}" y="${y}" width="${Math.max(2, x(end) - x(row.start))}" height="16" class="bar ${escapeHtml(row.record.status)}${critical.has(row.name) ? ' critical' : ''}"><title>${escapeHtml(title)}</title></rect>`,
      );
    } else {
      parts.push(`<text x="${labelWidth + 4}" y="${y + 13}" class="note">${escapeHtml(row.record.status)}</text>`);
    }
    if (row.pushStart !== undefined) {
      const end = row.pushEnd ?? t1;
      parts.push(
        `<rect x="${x(row.pushStart)}" y="${y + 4}" width="${Math.max(2, x(end) - x(row.pushStart))}" height="8" class="push ${escapeHtml(row.record.push?.status ?? '')}"><title>${escapeHtml(`${row.name}: push ${row.record.push?.status ?? ''}, ${((end - row.pushStart) / 1000).toFixed(1)}s`)}</title></rect>`,
      );
    }
    return parts.join('');
  });
  return `<svg class="timeline" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="timeline of every image's build and push">${ticks.join('')}${bars.join('')}</svg>`;
}

function scanSection(summary: RunSummary, findings: ScanFindings): string {
  if (summary.scanned.length + summary.scan_failed.length === 0)
    return '<p class="meta">No vulnerability scan ran in this run.</p>';
  const held = new Set(summary.held.map((entry) => entry.name));
  const rows = summary.scanned
    .map((scan) => {
      const worst = (findings[scan.name] ?? [])
        .map((finding) => {
          const allowed = finding.status === 'allowed' ? ' <span class="badge">allowed</span>' : '';
          const other = finding.status !== 'allowed' && finding.status !== 'counted' ? ` (${finding.status})` : '';
          const fixed = finding.fixed === '' ? 'no fix' : `fixed in ${finding.fixed}`;
          const link = webLink(finding.url);
          const id = link ? `<a href="${escapeHtml(link)}">${escapeHtml(finding.id)}</a>` : escapeHtml(finding.id);
          const text = `${escapeHtml(finding.severity)} ${id} ${escapeHtml(finding.package)} ${escapeHtml(finding.installed)}, ${escapeHtml(fixed)}${escapeHtml(other)}`;
          return `<li class="finding ${escapeHtml(finding.status)}">${text}${allowed}</li>`;
        })
        .join('');
      const verdict = `${escapeHtml(scan.verdict)}${held.has(scan.name) ? ' (held)' : ''}`;
      return `<tr class="verdict-${escapeHtml(scan.verdict)}"><td><a href="scan/${encodeURIComponent(scan.name)}.json">${escapeHtml(scan.name)}</a></td><td>${verdict}</td><td class="num">${count(scan.counts.CRITICAL)}</td><td class="num">${count(scan.counts.HIGH)}</td><td class="num">${count(scan.allowed)}</td><td class="num">${decimal(scan.seconds, 1)}</td><td>${worst ? `<ul>${worst}</ul>` : ''}</td></tr>`;
    })
    .join('\n');
  const failed = summary.scan_failed
    .map((entry) => `<p class="failure">${escapeHtml(entry.name)}: scan failed: ${escapeHtml(entry.reason)}</p>`)
    .join('\n');
  return `${failed}<table class="scan"><thead><tr><th>image</th><th>verdict</th><th>critical</th><th>high</th><th>allowed</th><th>scan s</th><th>worst findings</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

export function renderHtmlReport(summary: RunSummary, logs: LogTails, findings: ScanFindings = {}): string {
  const rows: Row[] = Object.entries(summary.images)
    .map(([name, record]) => ({
      name,
      record,
      start: ms(record.started_at),
      end: ms(record.finished_at),
      pushStart: ms(record.push?.started_at),
      pushEnd: ms(record.push?.finished_at),
    }))
    .sort((a, b) => (a.start ?? Infinity) - (b.start ?? Infinity) || a.name.localeCompare(b.name));
  const critical = criticalPath(summary);
  const duration = summary.finished_at
    ? ((Date.parse(summary.finished_at) - Date.parse(summary.started_at)) / 1000).toFixed(1)
    : '?';
  const reasons = new Map([
    // How the run made each image (a respin's reused, patched, rebuilt); a failure's reason says more and wins.
    ...Object.entries(summary.images).flatMap(([name, record]) =>
      record.respin
        ? [
            [
              name,
              `${describeRespin(record.respin)}${record.stacked_on_patched_parent ? STACKED : ''}${record.composed_at_registry ? COMPOSED : ''}`,
            ] as const,
          ]
        : [],
    ),
    ...summary.failed.map((entry) => [entry.name, entry.reason] as const),
    ...summary.skipped.map((entry) => [entry.name, entry.reason] as const),
  ]);
  const failureStatus = new Map(summary.failed.map((entry) => [entry.name, entry.status]));
  // The base image, when it could not be made, is failed without being an image of the run.
  const otherFailures = summary.failed.filter((entry) => summary.images[entry.name] === undefined);
  const counts: Array<[string, number]> = [
    ['built', summary.built.length],
    ['reused', summary.reused.length],
    ['patched', summary.patched.length],
    ['failed', summary.failed.length],
    ['skipped', summary.skipped.length],
    ['not matched', summary.not_matched.length],
    ['unbuildable', summary.unbuildable.length],
    ['pushed', summary.pushed.length],
    ['push failed', summary.push_failed.length],
    // Only when some image needed a retry: a run without one keeps its counts as they were.
    ...(summary.flaky.length > 0 ? [['flaky', summary.flaky.length] as [string, number]] : []),
  ];
  // The builder column only for a run spread over several builders: one builder keeps the table as it was.
  const spread = (summary.builders?.length ?? 0) > 1;
  const lost = summary.lost_builders ?? [];
  const lostLine = lost.length > 0 ? ` · <b>lost ${escapeHtml(lost.join(', '))}</b>` : '';
  const buildersLine = spread ? ` · builders ${escapeHtml((summary.builders ?? []).join(', '))}${lostLine}` : '';
  const imageRows = rows
    .map(({ name, record }) => {
      const seconds = decimal(record.build_seconds, 1);
      const pushSeconds = decimal(record.push?.seconds, 1);
      const push = record.push
        ? `${record.push.status}${pushSeconds === '' ? '' : ` ${pushSeconds}s`} (${count(record.push.attempts)} attempt${record.push.attempts === 1 ? '' : 's'})`
        : '';
      const builderCell = spread ? `<td>${escapeHtml(record.builder ?? '')}</td>` : '';
      const flaky = record.flaky
        ? ` <span class="badge flaky" title="failed, then passed on a retry">flaky: ${record.attempts ?? '?'} attempts</span>`
        : '';
      return `<tr class="${escapeHtml(record.status)}"><td><a href="#${anchor(name)}">${escapeHtml(name)}</a>${critical.has(name) ? ' <span class="badge">critical path</span>' : ''}</td>${builderCell}<td>${escapeHtml(record.status)}${failureStatus.has(name) ? ` (${escapeHtml(failureStatus.get(name) ?? '')})` : ''}${flaky}</td><td>${escapeHtml(reasons.get(name) ?? '')}</td><td class="num">${seconds}</td><td>${escapeHtml(push)}</td><td><code>${escapeHtml(record.reference)}</code></td><td><code title="${escapeHtml(record.input_digest)}">${escapeHtml(record.input_digest.slice(7, 19))}</code></td></tr>`;
    })
    .join('\n');
  const logSections = rows
    .map(({ name }) => {
      const log = logs[name];
      const shown = log
        ? `${log.total > log.lines.length ? `… ${count(log.total - log.lines.length)} earlier lines in the full log\n` : ''}${log.lines.join('\n')}`
        : '(no log)';
      return `<section class="log" id="${anchor(name)}"><h3>${escapeHtml(name)} <a href="logs/${encodeURIComponent(name)}.log">full log</a> <a href="#images">back</a></h3><pre>${escapeHtml(shown)}</pre></section>`;
    })
    .join('\n');
  const pushRows = [
    ...summary.pushed.map((entry) => ({ ...entry, status: 'pushed', reason: '' })),
    ...summary.push_failed.map((entry) => ({ ...entry, status: 'failed' })),
  ]
    .map(
      (entry) =>
        `<tr class="${entry.status === 'pushed' ? 'built' : 'failed'}"><td>${escapeHtml(entry.name)}</td><td>${entry.status}</td><td><code>${escapeHtml(entry.reference)}</code></td><td>${escapeHtml(entry.reason)}</td></tr>`,
    )
    .join('\n');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ci-builder run ${escapeHtml(summary.tag)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde}
.meta{color:#555}.failure{background:#fdecec;padding:6px 10px}.counts{display:flex;gap:10px;flex-wrap:wrap;margin:14px 0}
.count{border:1px solid #dde;border-radius:6px;padding:6px 12px;min-width:70px}.count b{display:block;font-size:20px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eef;padding:4px 8px;text-align:left;vertical-align:top}
td.num{text-align:right}code{font:12px ui-monospace,monospace}
tr.failed td{background:#fdecec}tr.verdict-critical td{background:#fdecec}tr.verdict-dirty td{background:#fff6e0}
li.finding.allowed{color:#777}tr.skipped td{color:#777}
.badge{background:#ffe8b3;border-radius:4px;padding:0 5px;font-size:11px}.badge.flaky{background:#f6d0f0}
svg.timeline{max-width:100%;height:auto;border:1px solid #eef}
.grid{stroke:#eef}.tick{font-size:10px;fill:#777;text-anchor:middle}.label{font-size:12px;text-anchor:end;fill:#1d2330}.critical-label{font-weight:bold}
.note{font-size:11px;fill:#888}.bar.built{fill:#3b82c4}.bar.reused{fill:#9cc3e6}.bar.failed{fill:#d64545}.bar.building,.bar.queued{fill:#bbb}
.bar.critical{stroke:#e69b00;stroke-width:3}.push{fill:#2e9d5b}.push.failed{fill:#d64545}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
.log{display:none}.log:target{display:block}.log pre{background:#f6f7f9;border:1px solid #dde;padding:10px;overflow:auto;max-height:500px;font-size:12px}
</style></head><body>
<h1>Run ${escapeHtml(summary.tag)}</h1>
<div class="meta">${escapeHtml(summary.distro)} · ${escapeHtml(summary.engine)} · started ${escapeHtml(summary.started_at)} · ${duration}s${summary.interrupted ? ' · <b>interrupted</b>' : ''}${buildersLine}${summary.base_image ? ` · base image ${escapeHtml(summary.base_image.reference)} (${escapeHtml(summary.base_image.outcome)})` : ''}</div>
<div class="counts">${counts.map(([label, value]) => `<div class="count"><b>${value}</b>${label}</div>`).join('')}</div>
<h2>Timeline</h2>
<p class="legend"><span><i style="background:#3b82c4"></i>built</span><span><i style="background:#9cc3e6"></i>reused</span><span><i style="background:#d64545"></i>failed</span><span><i style="background:#2e9d5b"></i>push</span><span><i style="background:#fff;border:3px solid #e69b00"></i>critical path</span> · up to ${peakConcurrency(rows)} image(s) building at once</p>
${timeline(summary, rows, critical)}
<h2 id="images">Images</h2>
${otherFailures.map((entry) => `<p class="failure">${escapeHtml(entry.name)} failed (${escapeHtml(entry.status)}): ${escapeHtml(entry.reason)}</p>`).join('\n')}
<table><thead><tr><th>image</th>${spread ? '<th>builder</th>' : ''}<th>status</th><th>reason</th><th>build s</th><th>push</th><th>reference</th><th>input digest</th></tr></thead><tbody>
${imageRows}
</tbody></table>
${summary.not_matched.length + summary.unbuildable.length > 0 ? `<p class="meta">Not matched: ${escapeHtml(summary.not_matched.map((entry) => entry.name).join(', ') || 'none')}. Unbuildable: ${escapeHtml(summary.unbuildable.map((entry) => entry.name).join(', ') || 'none')}.</p>` : ''}
<h2>Push</h2>
${pushRows ? `<table><thead><tr><th>image</th><th>result</th><th>reference</th><th>reason</th></tr></thead><tbody>${pushRows}</tbody></table>` : '<p class="meta">Nothing was pushed in this run.</p>'}
<h2>Scan</h2>
${scanSection(summary, findings)}
<h2>Logs</h2>
<p class="meta">Click an image name above to show the end of its log here.</p>
${logSections}
</body></html>
`;
}
