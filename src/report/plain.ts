import type { Writable } from 'node:stream';
import { describeMade, type ImageWork, type Reporter, type RunEvent } from './events.js';

export type Verbosity = 'quiet' | 'normal' | 'verbose';

/** One timestamped line per state change, nothing redrawn: for CI logs and pipes. */
export class PlainReporter implements Reporter {
  /** The attempt each image is on, so one that passes on a retry is said to be flaky. */
  private readonly attempts = new Map<string, number>();
  /** How each image is made, as the run decided before building. */
  private readonly work = new Map<string, ImageWork>();

  constructor(
    private readonly out: Writable,
    private readonly verbosity: Verbosity = 'normal',
  ) {}

  handle(event: RunEvent): void {
    const line = this.describe(event);
    if (line !== undefined) this.out.write(`${event.at.slice(11, 19)} ${line}\n`);
  }

  private describe(event: RunEvent): string | undefined {
    switch (event.type) {
      case 'run':
        return this.describeRun(event);
      case 'warning':
        return `warning: ${event.message}`;
      case 'base-image':
        return this.describeBaseImage(event);
      case 'image':
        return this.describeImage(event);
      case 'push':
        return this.describePush(event);
      case 'scan':
        return this.describeScan(event);
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private describeRun(event: Extract<RunEvent, { type: 'run' }>): string | undefined {
    switch (event.reason) {
      case 'started':
        if (this.verbosity === 'quiet') return undefined;
        return (
          `run ${event.tag}: ${event.images.length} image(s) for ${event.distro} with ${event.engine}, ` +
          (event.builders ? `over ${event.builders.length} builders (${event.builders.join(', ')}), ` : '') +
          `folder ${event.runDir}`
        );
      case 'finished':
        return event.interrupted ? 'run interrupted' : undefined;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private describeBaseImage(event: Extract<RunEvent, { type: 'base-image' }>): string | undefined {
    const quiet = this.verbosity === 'quiet';
    switch (event.reason) {
      case 'failed':
        return `base image ${event.reference} FAILED (${event.status}): ${event.message}`;
      case 'started':
        return quiet ? undefined : `base image ${event.reference}: preparing`;
      case 'present':
      case 'imported':
      case 'bootstrapped':
        return quiet ? undefined : `base image ${event.reference}: ${event.reason} (${event.seconds.toFixed(1)}s)`;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private describeImage(event: Extract<RunEvent, { type: 'image' }>): string | undefined {
    const quiet = this.verbosity === 'quiet';
    switch (event.reason) {
      case 'failed':
        return describeImageFailure(event);
      case 'skipped':
        return `${event.name}: skipped (${event.because})`;
      case 'log':
        return this.verbosity === 'verbose' ? `${event.name}| ${event.line}` : undefined;
      case 'queued':
      case 'not-matched':
      case 'unbuildable':
        return undefined;
      case 'started': {
        // The builder is named only on a run spread over several (the only runs whose events carry one).
        const where = event.builder === undefined ? '' : ` on ${event.builder}`;
        const attempt = event.attempt > 1 ? ` (attempt ${event.attempt})` : '';
        this.attempts.set(event.name, event.attempt);
        return quiet ? undefined : `${event.name}: building${where}${attempt}`;
      }
      case 'retrying':
        return quiet ? undefined : `${event.name}: retrying (attempt ${event.attempt}) after: ${event.message}`;
      case 'built':
      case 'reused':
      case 'patched': {
        const builder = event.reason === 'patched' ? undefined : event.builder;
        const where = builder === undefined ? '' : ` on ${builder}`;
        const flaky = describeFlaky(this.attempts.get(event.name));
        const what = describeMade(this.work.get(event.name), event);
        const line = `${event.name}: ${what}${where} (${event.seconds.toFixed(1)}s)${flaky}`;
        // A flaky image is said even when quiet: it passed, but its build may fail the next run.
        return quiet && flaky === '' ? undefined : line;
      }
      case 'planned':
        this.work.set(event.name, event.work);
        return undefined;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private describePush(event: Extract<RunEvent, { type: 'push' }>): string | undefined {
    const quiet = this.verbosity === 'quiet';
    switch (event.reason) {
      case 'failed':
        return `${event.name}: push FAILED (${event.status}) after ${event.attempts} attempt(s): ${event.message}`;
      case 'pushed':
        if (quiet) return undefined;
        if (event.already) return `${event.name}: ${event.reference} already in the registry`;
        return `${event.name}: pushed ${event.reference} (${event.seconds.toFixed(1)}s)`;
      case 'retrying':
        return quiet ? undefined : `${event.name}: push attempt ${event.attempt} after: ${event.message}`;
      case 'started':
        return undefined;
      case 'held':
        return `${event.name}: push HELD (${event.verdict}): ${event.reference} not pushed`;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private describeScan(event: Extract<RunEvent, { type: 'scan' }>): string | undefined {
    const quiet = this.verbosity === 'quiet';
    switch (event.reason) {
      case 'started':
        return this.verbosity === 'verbose' ? `${event.name}: scanning ${event.reference}` : undefined;
      case 'scanned':
        if (quiet && event.verdict !== 'critical') return undefined;
        return `${event.name}: scanned ${event.verdict}${describeCounts(event)} (${event.seconds.toFixed(1)}s)`;
      case 'failed':
        return `${event.name}: scan FAILED: ${event.message}`;
      default: {
        const never: never = event;
        return never;
      }
    }
  }
}

/** `, 1 critical, 2 high, 1 allowed`: only the numbers that are not zero. */
export function describeCounts(event: Extract<RunEvent, { type: 'scan'; reason: 'scanned' }>): string {
  const parts = [
    ...(event.counts.CRITICAL > 0 ? [`${event.counts.CRITICAL} critical`] : []),
    ...(event.counts.HIGH > 0 ? [`${event.counts.HIGH} high`] : []),
    ...(event.allowed > 0 ? [`${event.allowed} allowed`] : []),
  ];
  return parts.length > 0 ? `: ${parts.join(', ')}` : '';
}

/** The one line of an image that ends in `failed`, worded for its status. */
export function describeImageFailure(event: Extract<RunEvent, { type: 'image'; reason: 'failed' }>): string {
  switch (event.status) {
    case 'error':
    case 'connection_error':
      return `${event.name}: FAILED (${event.status}) after ${event.attempts} attempt(s): ${event.message}`;
    case 'parent_error':
      return `${event.name}: not built (parent_error): ${event.message}`;
    case 'interrupted':
      return `${event.name}: not built (interrupted)`;
    default: {
      const never: never = event.status;
      return never;
    }
  }
}

/** `, flaky: passed on attempt 2`, for an image that succeeded only after a failed attempt; else nothing. */
export function describeFlaky(attempts: number | undefined): string {
  return attempts !== undefined && attempts > 1 ? `, flaky: passed on attempt ${attempts}` : '';
}

/** One JSON object per line, every event, for other tools. */
export class JsonLinesReporter implements Reporter {
  constructor(private readonly out: Writable) {}

  handle(event: RunEvent): void {
    this.out.write(`${JSON.stringify(event)}\n`);
  }
}
