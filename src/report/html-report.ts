import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Reporter } from './events.js';
import { renderHtmlReport, type LogTails } from './html.js';
import type { SummaryCollector } from './summary.js';

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
    const summary = this.collector.summary;
    const tails: LogTails = {};
    for (const name of Object.keys(summary.images)) {
      const file = join(this.runDir, 'logs', `${name}.log`);
      if (existsSync(file)) tails[name] = await tail(file, TAIL_LINES);
    }
    await writeFileAtomic(join(this.runDir, 'report.html'), renderHtmlReport(summary, tails));
  }
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
