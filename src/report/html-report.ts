import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Reporter } from './events.js';
import { renderHtmlReport, WORST_FINDINGS, type LogTails, type ScanFindings } from './html.js';
import type { RunSummary, SummaryCollector } from './summary.js';

const TAIL_LINES = 300;

/** Writes report.html into the run folder once the run is over (after the log files are closed). */
export class HtmlReportReporter implements Reporter {
  constructor(
    private readonly runDir: string,
    private readonly collector: SummaryCollector,
  ) {}

  handle(): void {
    // The report is drawn from the finished summary and logs, at close.
  }

  async close(): Promise<void> {
    await writeHtmlReport(this.runDir, this.collector.summary);
  }
}

/** report.html of a run folder, from its summary and the logs and scan reports beside it. */
export async function writeHtmlReport(runDir: string, summary: RunSummary): Promise<void> {
  const tails: LogTails = {};
  for (const name of Object.keys(summary.images)) {
    const file = join(runDir, 'logs', `${name}.log`);
    if (existsSync(file)) tails[name] = await tail(file, TAIL_LINES);
  }
  const findings: ScanFindings = {};
  for (const { name } of summary.scanned) findings[name] = await worstFindings(join(runDir, 'scan', `${name}.json`));
  await writeFileAtomic(join(runDir, 'report.html'), renderHtmlReport(summary, tails, findings));
}

const SEVERITY_ORDER = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'];

/** The worst findings of an image's scan report (HIGH and up, allow-listed ones included and marked). */
async function worstFindings(file: string): Promise<ScanFindings[string]> {
  if (!existsSync(file)) return [];
  const report = JSON.parse(await readFile(file, 'utf8')) as { findings?: ScanFindings[string] };
  return (report.findings ?? [])
    .filter((finding) => finding.severity === 'CRITICAL' || finding.severity === 'HIGH')
    .sort(
      (a, b) =>
        SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) ||
        Number(a.status === 'allowed') - Number(b.status === 'allowed') ||
        a.id.localeCompare(b.id),
    )
    .slice(0, WORST_FINDINGS);
}

/** The last lines of a file, read as a stream (logs can be large). */
async function tail(file: string, count: number): Promise<{ lines: string[]; total: number }> {
  const lines: string[] = [];
  let total = 0;
  for await (const line of createInterface({ input: createReadStream(file) })) {
    total++;
    lines.push(line);
    if (lines.length > count) lines.shift();
  }
  return { lines, total };
}
