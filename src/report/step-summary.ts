import { SEVERITIES, type Severity } from '../scan/types.js';
import { describeMade, type ImageWork, type RunEvent } from './events.js';

interface ImageRow {
  status: string;
  verdict: string;
  push: string;
  /** Build (or reuse), scan and push time, added up. */
  seconds: number;
  /** How the image is made, as the run decided before building. */
  work?: ImageWork;
}

const NONE = '—';

/**
 * The run as one markdown table, image by image: status, scan verdict, push result, time. Written
 * into a CI job's summary page, so it is built from events alone, whatever the run got through.
 */
export class StepSummary {
  private readonly rows = new Map<string, ImageRow>();
  private heading = 'ci-builder run';
  private baseImageFailure: string | undefined;
  private interrupted = false;

  record(event: RunEvent): void {
    switch (event.type) {
      case 'run':
        if (event.reason === 'started') this.heading = `ci-builder run \`${event.tag}\` (${event.distro})`;
        else this.interrupted = event.interrupted;
        return;
      case 'warning':
        return;
      case 'base-image':
        if (event.reason === 'failed') this.baseImageFailure = `${event.reference} (${event.status})`;
        return;
      case 'image':
        return this.recordImage(event);
      case 'scan':
        return this.recordScan(event);
      case 'push':
        return this.recordPush(event);
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  markdown(): string {
    const lines = [`### ${this.heading}${this.interrupted ? ' — interrupted' : ''}`, ''];
    if (this.baseImageFailure !== undefined) lines.push(`Base image failed: ${cell(this.baseImageFailure)}`, '');
    lines.push(this.counts(), '', '| image | status | verdict | push | time |', '| --- | --- | --- | --- | ---: |');
    for (const [name, row] of this.rows) {
      const time = row.seconds > 0 ? formatSeconds(row.seconds) : NONE;
      lines.push(`| ${cell(name)} | ${cell(row.status)} | ${cell(row.verdict)} | ${cell(row.push)} | ${time} |`);
    }
    return `${lines.join('\n')}\n\n`;
  }

  private recordImage(event: Extract<RunEvent, { type: 'image' }>): void {
    switch (event.reason) {
      case 'queued':
        this.rows.set(event.name, { status: 'queued', verdict: NONE, push: NONE, seconds: 0 });
        return;
      case 'started':
        this.row(event.name).status = 'building';
        return;
      case 'built':
      case 'reused':
      case 'patched': {
        const row = this.row(event.name);
        row.status = describeMade(row.work, event);
        row.seconds += event.seconds;
        return;
      }
      case 'planned':
        this.row(event.name).work = event.work;
        return;
      case 'failed':
        this.row(event.name).status =
          event.status === 'error' || event.status === 'connection_error'
            ? `failed (${event.status})`
            : `not built (${event.status})`;
        return;
      case 'skipped':
        this.row(event.name).status = `skipped (${event.because})`;
        return;
      case 'log':
      case 'retrying':
      case 'not-matched':
      case 'unbuildable':
        return;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private recordScan(event: Extract<RunEvent, { type: 'scan' }>): void {
    const row = this.row(event.name);
    switch (event.reason) {
      case 'started':
        row.verdict = 'scanning';
        return;
      case 'scanned':
        row.verdict = describeVerdict(event.verdict, event.counts, event.allowed);
        row.seconds += event.seconds;
        return;
      case 'failed':
        row.verdict = 'scan failed';
        return;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private recordPush(event: Extract<RunEvent, { type: 'push' }>): void {
    const row = this.row(event.name);
    switch (event.reason) {
      case 'started':
        row.push = 'pushing';
        return;
      case 'retrying':
        return;
      case 'pushed':
        row.push = event.attempts > 1 ? `pushed (${event.attempts} attempts)` : 'pushed';
        row.seconds += event.seconds;
        return;
      case 'failed':
        row.push = `failed (${event.status}) after ${event.attempts} attempt(s)`;
        return;
      case 'held':
        row.push = `held (${event.verdict})`;
        return;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  /** Rows come from `queued`; an event about an image that never was queued still gets one. */
  private row(name: string): ImageRow {
    let row = this.rows.get(name);
    if (row === undefined) {
      row = { status: NONE, verdict: NONE, push: NONE, seconds: 0 };
      this.rows.set(name, row);
    }
    return row;
  }

  private counts(): string {
    const tally = new Map<string, number>();
    const add = (word: string) => tally.set(word, (tally.get(word) ?? 0) + 1);
    for (const row of this.rows.values()) {
      add(firstWords(row.status));
      if (row.push !== NONE) add(row.push.startsWith('failed') ? 'push failed' : firstWords(row.push));
    }
    const parts = [...tally].map(([word, count]) => `${count} ${word}`);
    return `${this.rows.size} image(s): ${parts.join(', ')}`;
  }
}

/** `failed (error)` → `failed`, `not built (parent_error)` → `not built`. */
function firstWords(text: string): string {
  return text.replace(/ \(.*$/, '');
}

function describeVerdict(verdict: string, counts: Record<Severity, number>, allowed: number): string {
  const found = [...SEVERITIES]
    .reverse()
    .filter((severity) => counts[severity] > 0)
    .map((severity) => `${counts[severity]} ${severity.toLowerCase()}`);
  if (allowed > 0) found.push(`${allowed} allowed`);
  return found.length > 0 ? `${verdict}: ${found.join(', ')}` : verdict;
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
}

/** A table cell holds one line and no column separator. */
function cell(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replaceAll('|', '\\|');
}
