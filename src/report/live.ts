import type { Writable } from 'node:stream';
import { describeMade, type ImageWork, type Reporter, type RunEvent } from './events.js';
import { describeCounts, describeFlaky } from './plain.js';

interface Running {
  activity: 'building' | 'scanning' | 'pushing';
  since: number;
  /** The build attempt, shown from the second on. */
  attempt?: number;
  /** Where it runs, shown only when the run is spread over several builders. */
  builder?: string;
}

const ESC = '\x1b[';
/** The base image's line in the running block. */
const BASE_IMAGE_LINE = 'base image';
/** An event that changes nothing on screen. */
const UNCHANGED = Symbol('unchanged');

/**
 * The terminal view: finished images scroll above; below them, redrawn in place, one line
 * per running image with its state and elapsed time, a counter and a progress bar.
 */
export class LiveReporter implements Reporter {
  private readonly running = new Map<string, Running>();
  /** How each image is made, as the run decided before building. */
  private readonly work = new Map<string, ImageWork>();
  private total = 0;
  private done = 0;
  private failed = 0;
  private skipped = 0;
  /** Images that succeeded only on a retry. */
  private flaky = 0;
  private drawnLines = 0;
  private readonly timer: NodeJS.Timeout;
  private title = '';
  /** Several builders: each image's line names its builder (one builder keeps the view as it was). */
  private spread = false;

  constructor(
    private readonly out: Writable & { columns?: number },
    private readonly now: () => number = Date.now,
    refreshMs = 1000,
  ) {
    this.timer = setInterval(() => this.redraw(), refreshMs);
    this.timer.unref();
    this.out.write(`${ESC}?25l`);
  }

  handle(event: RunEvent): void {
    const change = this.apply(event);
    // Build output and bookkeeping events change nothing on screen: no redraw for them.
    if (change === UNCHANGED) return;
    this.clearBlock();
    if (change !== undefined) this.out.write(`${this.fit(change)}\n`);
    this.drawBlock();
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    this.clearBlock();
    this.running.clear();
    this.drawBlock();
    this.out.write(`${ESC}?25h`);
    return Promise.resolve();
  }

  /** Updates the state; returns a line to scroll above the live block, if the event deserves one. */
  private apply(event: RunEvent): string | undefined | typeof UNCHANGED {
    const stamp = event.at.slice(11, 19);
    switch (event.type) {
      case 'run':
        return this.applyRun(event, stamp);
      case 'warning':
        return `${stamp} warning: ${event.message}`;
      case 'base-image':
        return this.applyBaseImage(event, stamp);
      case 'image':
        return this.applyImage(event, stamp);
      case 'push':
        return this.applyPush(event, stamp);
      case 'scan':
        return this.applyScan(event, stamp);
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private applyRun(event: Extract<RunEvent, { type: 'run' }>, stamp: string): string | undefined {
    switch (event.reason) {
      case 'started':
        this.total = event.images.length;
        this.spread = (event.builders?.length ?? 0) > 1;
        this.title = `${event.tag} · ${event.distro} · ${event.engine}`;
        if (event.builders && this.spread) this.title += ` · ${event.builders.length} builders`;
        return `${stamp} run ${event.tag}: ${event.images.length} image(s), folder ${event.runDir}`;
      case 'finished':
        return event.interrupted ? `${stamp} interrupted` : undefined;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private applyBaseImage(event: Extract<RunEvent, { type: 'base-image' }>, stamp: string): string | undefined {
    switch (event.reason) {
      case 'started':
        this.running.set(BASE_IMAGE_LINE, { activity: 'building', since: this.now() });
        return undefined;
      case 'failed':
        this.running.delete(BASE_IMAGE_LINE);
        return `${stamp} ✗ base image ${event.reference} ${event.status}: ${event.message}`;
      case 'present':
      case 'imported':
      case 'bootstrapped':
        this.running.delete(BASE_IMAGE_LINE);
        return `${stamp} · base image ${event.reason} (${event.seconds.toFixed(1)}s)`;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private applyImage(
    event: Extract<RunEvent, { type: 'image' }>,
    stamp: string,
  ): string | undefined | typeof UNCHANGED {
    switch (event.reason) {
      case 'started': {
        // A retry keeps the image's first start, so its line shows the time spent on it in all.
        const since = event.attempt > 1 ? this.running.get(event.name)?.since : undefined;
        this.running.set(event.name, {
          activity: 'building',
          since: since ?? this.now(),
          attempt: event.attempt,
          ...(this.spread && event.builder ? { builder: event.builder } : {}),
        });
        return undefined;
      }
      case 'built':
      case 'reused':
      case 'patched': {
        const flaky = describeFlaky(this.running.get(event.name)?.attempt);
        this.running.delete(event.name);
        this.done++;
        if (flaky !== '') this.flaky++;
        const builder = event.reason === 'patched' ? undefined : event.builder;
        const where = this.spread && builder ? ` on ${builder}` : '';
        const what = describeMade(this.work.get(event.name), event);
        return `${stamp} ✓ ${event.name} ${what}${where} (${event.seconds.toFixed(1)}s)${flaky}`;
      }
      case 'retrying':
        return `${stamp} ↻ ${event.name} retrying (attempt ${event.attempt}) after: ${event.message}`;
      case 'planned':
        this.work.set(event.name, event.work);
        return UNCHANGED;
      case 'failed':
        this.running.delete(event.name);
        this.failed++;
        return event.status === 'parent_error' || event.status === 'interrupted'
          ? `${stamp} - ${event.name} not built (${event.status}: ${event.message})`
          : `${stamp} ✗ ${event.name} ${event.status}: ${event.message}`;
      case 'skipped':
        this.running.delete(event.name);
        this.skipped++;
        return `${stamp} - ${event.name} skipped (${event.because})`;
      case 'log':
      case 'queued':
      case 'not-matched':
      case 'unbuildable':
        return UNCHANGED;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private applyPush(event: Extract<RunEvent, { type: 'push' }>, stamp: string): string | undefined {
    switch (event.reason) {
      case 'started': {
        const before = this.running.get(event.name);
        this.running.set(event.name, { ...before, activity: 'pushing', since: before?.since ?? this.now() });
        return undefined;
      }
      case 'pushed':
        this.running.delete(event.name);
        if (event.already) return `${stamp} ↑ ${event.name} already in the registry`;
        return `${stamp} ↑ ${event.name} pushed (${event.seconds.toFixed(1)}s)`;
      case 'failed':
        this.running.delete(event.name);
        return `${stamp} ✗ ${event.name} push failed (${event.status}): ${event.message}`;
      case 'retrying':
        return undefined;
      case 'held':
        return `${stamp} ✋ ${event.name} held (${event.verdict}): not pushed`;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private applyScan(event: Extract<RunEvent, { type: 'scan' }>, stamp: string): string | undefined {
    switch (event.reason) {
      case 'started':
        this.running.set(event.name, { activity: 'scanning', since: this.now() });
        return undefined;
      case 'scanned':
        this.running.delete(event.name);
        return `${stamp} ${event.verdict === 'clean' ? '✓' : '!'} ${event.name} ${event.verdict}${describeCounts(event)}`;
      case 'failed':
        this.running.delete(event.name);
        return `${stamp} ✗ ${event.name} scan failed: ${event.message}`;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private redraw(): void {
    this.clearBlock();
    this.drawBlock();
  }

  private clearBlock(): void {
    if (this.drawnLines > 0) this.out.write(`${ESC}${this.drawnLines}A\r${ESC}0J`);
    this.drawnLines = 0;
  }

  private drawBlock(): void {
    const lines: string[] = [];
    for (const [name, state] of this.running) {
      const where = state.builder === undefined ? '' : `  on ${state.builder}`;
      const attempt = state.activity === 'building' && (state.attempt ?? 1) > 1 ? `  attempt ${state.attempt}` : '';
      const elapsed = formatElapsed(this.now() - state.since);
      lines.push(
        `  ${state.activity === 'pushing' ? '↑' : '⋯'} ${name.padEnd(28)} ${state.activity.padEnd(9)} ${elapsed}${attempt}${where}`,
      );
    }
    if (this.total > 0) {
      const finished = this.done + this.failed + this.skipped;
      const remaining = Math.max(0, this.total - finished);
      lines.push(
        `${progressBar(finished / this.total, 30)} ${finished}/${this.total}  done ${this.done}${this.flaky > 0 ? ` (flaky ${this.flaky})` : ''} · failed ${this.failed} · skipped ${this.skipped} · remaining ${remaining}${this.title ? `  (${this.title})` : ''}`,
      );
    }
    if (lines.length === 0) return;
    this.out.write(`${lines.map((line) => this.fit(line)).join('\n')}\n`);
    this.drawnLines = lines.length;
  }

  /** Long lines would wrap and break the count of lines to redraw. */
  private fit(line: string): string {
    // A pseudo-terminal may report no size (0): assume a usual width then.
    const width = this.out.columns !== undefined && this.out.columns > 0 ? this.out.columns : 100;
    return line.length >= width ? `${line.slice(0, Math.max(10, width - 2))}…` : line;
  }
}

export function progressBar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

function formatElapsed(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}
