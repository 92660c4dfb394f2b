import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Reporter, RunEvent } from './events.js';
import { BASE_IMAGE_LOG } from './log-files.js';
import { PlainReporter, type Verbosity } from './plain.js';
import { StepSummary } from './step-summary.js';
import { annotation } from './workflow-commands.js';

export interface GitHubReporterOptions {
  /** `$GITHUB_STEP_SUMMARY`: the run's table is appended to it at the end. */
  summaryFile?: string | undefined;
  /** Log lines kept per image until it finishes; older ones are dropped (the run folder has them all). */
  maxLinesPerImage?: number;
  verbosity?: Exclude<Verbosity, 'verbose'>;
}

export const DEFAULT_MAX_LINES_PER_IMAGE = 500;
/** One runaway line must not make the buffer unbounded. */
const MAX_LINE_LENGTH = 4000;

interface ImageLog {
  lines: string[];
  dropped: number;
}

/**
 * Progress for a GitHub Actions job log: each image's build output in one collapsible group, printed
 * when the image finishes (concurrent builds would interleave otherwise), an error annotation for
 * each failed build or push and each critical image, plain lines for the rest, and a table for
 * the job's summary page.
 */
export class GitHubReporter implements Reporter {
  private readonly logs = new Map<string, ImageLog>();
  private readonly plain: PlainReporter;
  private readonly table = new StepSummary();
  private readonly maxLines: number;
  private runDir: string | undefined;

  constructor(
    private readonly out: Writable,
    private readonly options: GitHubReporterOptions = {},
  ) {
    this.maxLines = options.maxLinesPerImage ?? DEFAULT_MAX_LINES_PER_IMAGE;
    this.plain = new PlainReporter(lineSink(out), options.verbosity ?? 'normal');
  }

  handle(event: RunEvent): void {
    this.table.record(event);
    if (event.type === 'run' && event.reason === 'started') this.runDir = event.runDir;
    if (event.type === 'image' && event.reason === 'log') return this.buffer(event.name, event.line);
    if (event.type === 'image' && event.reason === 'started') this.startAttempt(event.name, event.attempt);
    if (finishesLog(event)) this.printGroup(event.type === 'base-image' ? BASE_IMAGE_LOG : event.name);
    this.plain.handle(event);
    const error = errorAnnotation(event);
    if (error !== undefined) this.out.write(`${annotation('error', error.title, error.message)}\n`);
  }

  async close(): Promise<void> {
    // Whatever never finished (an interrupted run) is still shown.
    for (const name of [...this.logs.keys()]) this.printGroup(name);
    const file = this.options.summaryFile;
    if (file === undefined || file === '') return;
    try {
      await appendFile(file, this.table.markdown());
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.out.write(`warning: cannot append the job summary to ${file}: ${reason}\n`);
    }
  }

  private buffer(name: string, line: string): void {
    const log = this.logOf(name);
    log.lines.push(line.length > MAX_LINE_LENGTH ? `${line.slice(0, MAX_LINE_LENGTH)} […]` : line);
    if (log.lines.length > this.maxLines) {
      log.lines.shift();
      log.dropped++;
    }
  }

  /** Every image that starts gets its group, even one whose build printed nothing. */
  private startAttempt(name: string, attempt: number): void {
    this.logOf(name);
    if (attempt > 1) this.buffer(name, `── attempt ${attempt}`);
  }

  private logOf(name: string): ImageLog {
    let log = this.logs.get(name);
    if (log === undefined) {
      log = { lines: [], dropped: 0 };
      this.logs.set(name, log);
    }
    return log;
  }

  /**
   * The group's lines are an image's own build output: `::stop-commands::` keeps the runner from
   * taking any of them for a workflow command (a package could print `::add-mask::` or worse).
   */
  private printGroup(name: string): void {
    const log = this.logs.get(name);
    if (log === undefined) return;
    this.logs.delete(name);
    const resume = randomUUID().replaceAll('-', '');
    const lines = [`::group::${name}`, `::stop-commands::${resume}`];
    if (log.dropped > 0) {
      const where = this.runDir === undefined ? 'the run folder' : join(this.runDir, 'logs', `${name}.log`);
      lines.push(`[${log.dropped} earlier line(s) dropped; the whole log is in ${where}]`);
    }
    lines.push(...log.lines, `::${resume}::`, '::endgroup::');
    this.out.write(`${lines.join('\n')}\n`);
  }
}

/** The events after which an image's (or the base image's) build output is complete. */
function finishesLog(event: RunEvent): event is Extract<RunEvent, { type: 'image' | 'base-image' }> {
  if (event.type === 'base-image') return event.reason !== 'started';
  return event.type === 'image' && ['built', 'reused', 'patched', 'failed'].includes(event.reason);
}

function errorAnnotation(event: RunEvent): { title: string; message: string } | undefined {
  if (event.type === 'base-image' && event.reason === 'failed')
    return { title: `base image ${event.reference}: ${event.status}`, message: event.message };
  if (event.type === 'image' && event.reason === 'failed') {
    // parent_error and interrupted are consequences; the image that caused them has its own.
    if (event.status !== 'error' && event.status !== 'connection_error') return undefined;
    return { title: `${event.name}: build failed (${event.status})`, message: event.message };
  }
  if (event.type === 'push' && event.reason === 'failed')
    return { title: `${event.name}: push failed (${event.status})`, message: `${event.reference}: ${event.message}` };
  if (event.type === 'scan' && event.reason === 'scanned' && event.verdict === 'critical') {
    const { CRITICAL: critical, HIGH: high } = event.counts;
    return {
      title: `${event.name}: critical vulnerabilities`,
      message: `${event.reference}: ${critical} critical, ${high} high finding(s)`,
    };
  }
  return undefined;
}

/**
 * Where the plain lines go: a line of a message that spans several gets a `| ` margin, so no
 * continuation can start with `::` and be read as a workflow command.
 */
function lineSink(out: Writable): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      const [first = '', ...rest] = chunk.toString().replace(/\n$/, '').split('\n');
      out.write(`${[first, ...rest.map((line) => `  | ${line}`)].join('\n')}\n`);
      done();
    },
  });
}
