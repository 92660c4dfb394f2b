import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic-write.js';
import { ConfigError } from '../util/errors.js';
import { parseJsonInput } from '../util/json-input.js';
import { firstIssue } from '../util/key-path.js';
import { InputRefusedError, MiB, openInput, readInputText, type InputLimits } from '../util/read-input.js';
import type { Reporter } from './events.js';
import { renderHtmlReport, WORST_FINDINGS, type LogTails, type ScanFindings } from './html.js';
import type { RunSummary, SummaryCollector } from './summary.js';

const TAIL_LINES = 300;

/** An image's build log: megabytes at most; past this it is not one a build wrote. */
export const LOG_LIMITS = { what: 'build log', maxBytes: 256 * MiB } as const;
/** An image's scan report: every finding of one image, a few megabytes at most. */
export const SCAN_REPORT_LIMITS = { what: 'scan report', maxBytes: 64 * MiB } as const;

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

/**
 * report.html of a run folder, from its summary and the logs and scan reports beside it. Only
 * regular files inside the folder are read: a link or a FIFO in logs/ shows as no log.
 */
export async function writeHtmlReport(runDir: string, summary: RunSummary): Promise<void> {
  const tails: LogTails = {};
  for (const name of Object.keys(summary.images)) {
    const shown = await tail(join(runDir, 'logs', `${name}.log`), TAIL_LINES, runDir);
    if (shown !== undefined) tails[name] = shown;
  }
  const findings: ScanFindings = {};
  for (const { name } of summary.scanned) {
    findings[name] = await readWorstFindings(join(runDir, 'scan', `${name}.json`), runDir);
  }
  await writeFileAtomic(join(runDir, 'report.html'), renderHtmlReport(summary, tails, findings));
}

const SEVERITY_ORDER = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'];

const scanReportSchema = z.looseObject({
  findings: z
    .array(
      z.looseObject({
        id: z.string(),
        package: z.string(),
        installed: z.string(),
        fixed: z.string(),
        severity: z.string(),
        url: z.string(),
        status: z.string(),
      }),
    )
    .default([]),
});

/**
 * The worst findings of an image's scan report (HIGH and up, allow-listed ones included and marked),
 * none when it has no report. A damaged report is bad input: one line naming the file and the key.
 */
export async function readWorstFindings(file: string, runDir: string): Promise<ScanFindings[string]> {
  const limits: InputLimits = { ...SCAN_REPORT_LIMITS, within: runDir };
  let text: string;
  try {
    text = await readInputText(file, limits);
  } catch (error) {
    if (error instanceof InputRefusedError && error.refusal === 'missing') return [];
    throw error;
  }
  const parsed = scanReportSchema.safeParse(parseJsonInput(text, file, 'scan report'));
  if (!parsed.success) {
    const { where, problem } = firstIssue(parsed.error);
    throw new ConfigError(file, where, problem);
  }
  return parsed.data.findings
    .filter((finding) => finding.severity === 'CRITICAL' || finding.severity === 'HIGH')
    .sort(
      (a, b) =>
        SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) ||
        Number(a.status === 'allowed') - Number(b.status === 'allowed') ||
        a.id.localeCompare(b.id),
    )
    .slice(0, WORST_FINDINGS);
}

/** The last lines of a log, read as a stream (logs can be large); undefined when there is no log to show. */
async function tail(file: string, count: number, runDir: string): Promise<LogTails[string] | undefined> {
  let opened;
  try {
    opened = await openInput(file, { ...LOG_LIMITS, within: runDir });
  } catch (error) {
    if (error instanceof InputRefusedError) return undefined;
    throw error;
  }
  const lines: string[] = [];
  let total = 0;
  try {
    for await (const line of createInterface({ input: opened.handle.createReadStream({ autoClose: false }) })) {
      total++;
      lines.push(line);
      if (lines.length > count) lines.shift();
    }
  } finally {
    await opened.handle.close();
  }
  return { lines, total };
}
