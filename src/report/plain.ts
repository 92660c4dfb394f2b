import type { Writable } from 'node:stream';
import type { Reporter, RunEvent } from './events.js';

export type Verbosity = 'quiet' | 'normal' | 'verbose';

/** One timestamped line per state change, nothing redrawn: for CI logs and pipes. */
export class PlainReporter implements Reporter {
  constructor(
    private readonly out: Writable,
    private readonly verbosity: Verbosity = 'normal',
  ) {}

  handle(event: RunEvent): void {
    const line = this.describe(event);
    if (line !== undefined) this.out.write(`${event.at.slice(11, 19)} ${line}\n`);
  }

  private describe(event: RunEvent): string | undefined {
    const quiet = this.verbosity === 'quiet';
    switch (event.type) {
      case 'run':
        if (event.reason === 'started') return quiet ? undefined : `run ${event.tag}: ${event.images.length} image(s) for ${event.distro} with ${event.engine}, folder ${event.runDir}`;
        return event.interrupted ? 'run interrupted' : undefined;
      case 'warning':
        return `warning: ${event.message}`;
      case 'base-image':
        if (quiet && event.reason !== 'failed') return undefined;
        if (event.reason === 'failed') return `base image ${event.reference} failed: ${event.message}`;
        if (event.reason === 'started') return `base image ${event.reference}: preparing`;
        return `base image ${event.reference}: ${event.reason} (${event.seconds.toFixed(1)}s)`;
      case 'image':
        return this.describeImage(event);
      case 'push':
        if (event.reason === 'failed') return `${event.name}: push failed after ${event.attempts} attempt(s): ${event.message}`;
        if (quiet) return undefined;
        if (event.reason === 'pushed') return `${event.name}: pushed ${event.reference} (${event.seconds.toFixed(1)}s)`;
        if (event.reason === 'retrying') return `${event.name}: push attempt ${event.attempt} after: ${event.message}`;
        return undefined;
    }
  }

  private describeImage(event: Extract<RunEvent, { type: 'image' }>): string | undefined {
    const quiet = this.verbosity === 'quiet';
    switch (event.reason) {
      case 'failed':
        return `${event.name}: FAILED after ${event.attempts} attempt(s): ${event.message}`;
      case 'skipped':
        return `${event.name}: skipped (${event.because})`;
      case 'log':
        return this.verbosity === 'verbose' ? `${event.name}| ${event.line}` : undefined;
      case 'queued':
      case 'not-matched':
      case 'unbuildable':
        return undefined;
      default:
        if (quiet) return undefined;
        if (event.reason === 'started') return `${event.name}: building${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`;
        if (event.reason === 'retrying') return `${event.name}: retrying (attempt ${event.attempt}) after: ${event.message}`;
        return `${event.name}: ${event.reason} (${event.seconds.toFixed(1)}s)`;
    }
  }
}

/** One JSON object per line, every event, for other tools. */
export class JsonLinesReporter implements Reporter {
  constructor(private readonly out: Writable) {}

  handle(event: RunEvent): void {
    this.out.write(`${JSON.stringify(event)}\n`);
  }
}
