import type { PackageCacheCounters } from '../proxy/counters.js';
import type { Verdict } from '../scan/types.js';
import { MiB } from '../util/read-input.js';
import {
  describeRebuild,
  type BuildSteps,
  type PatchSteps,
  type FailureStatus,
  type ImageWork,
  type PatchedPackage,
  type RebuildReason,
  type Reporter,
  type RunEvent,
  type ScanCounts,
} from './events.js';

export interface ImageRecord {
  reference: string;
  parent: string | null;
  input_digest: string;
  /** The input digest with the snapshot versions masked: equal recipes, equal images but for their packages. */
  recipe_digest?: string;
  /** The snapshot set the image is built (or patched) against this run. */
  snapshot_set?: string;
  image_id?: string;
  /** Patched by putting its own layers onto its patched parent (not by a patch layer on its earlier self). */
  stacked_on_patched_parent?: true;
  /** Stacked at the registry (respin.compose registry): never in the store; pushed there unless a gate held it. */
  composed_at_registry?: true;
  /** A stacked image's seconds by step: its parents mounted, then the stack's steps (carried, merged, …). */
  stack_steps?: PatchSteps;
  status: 'queued' | 'building' | 'built' | 'reused' | 'patched' | 'failed' | 'skipped';
  /** How the run made it, decided before building: reused, patched (which packages, from which image), rebuilt (why). */
  respin?: RespinRecord;
  started_at?: string;
  finished_at?: string;
  build_seconds?: number;
  /** A built image's seconds by step: the engine's build and ci-builder's own steps around it. */
  build_steps?: BuildSteps;
  attempts?: number;
  /** Built (or reused) only after a failed attempt: it passed on a retry, so its build may fail again. */
  flaky?: true;
  /** The builder it was built (or reused) on, on a run spread over several builders. */
  builder?: string;
  /** `already`: the registry held this image at its reference before the push, so nothing was sent. */
  push?: {
    status: 'pushed' | 'failed';
    seconds?: number;
    attempts: number;
    started_at?: string;
    finished_at?: string;
    already?: true;
  };
}

/** summary.json's word for an image's work: `reused`, `patched` or `rebuilt`, with what and why. */
export type RespinRecord =
  | { outcome: 'reused'; snapshots_moved: false }
  | { outcome: 'reused'; snapshots_moved: true; from: string; earlier_snapshot_set: string }
  | { outcome: 'patched'; from: string; earlier_snapshot_set: string; packages: PatchedPackage[] }
  | { outcome: 'rebuilt'; reason_kind: RebuildReason['kind']; reason: string };

export function respinRecord(work: ImageWork): RespinRecord {
  switch (work.kind) {
    case 'reuse':
      return { outcome: 'reused', snapshots_moved: false };
    case 'respin-reuse':
      return { outcome: 'reused', snapshots_moved: true, from: work.imageId, earlier_snapshot_set: work.snapshotSet };
    case 'patch':
      return {
        outcome: 'patched',
        from: work.imageId,
        earlier_snapshot_set: work.snapshotSet,
        packages: work.packages,
      };
    case 'build':
      return { outcome: 'rebuilt', reason_kind: work.why.kind, reason: describeRebuild(work.why) };
    default: {
      const never: never = work;
      return never;
    }
  }
}

/** A respin record in a few words: reused, patched (n packages: a 1→2, …), rebuilt (why). */
export function describeRespin(record: RespinRecord): string {
  switch (record.outcome) {
    case 'reused':
      return record.snapshots_moved ? 'reused: snapshots moved, none of its packages' : 'reused: nothing changed';
    case 'patched': {
      const listed = record.packages.map((entry) => `${entry.name} ${entry.from}→${entry.to}`).join(', ');
      return `patched (${record.packages.length} package${record.packages.length === 1 ? '' : 's'}): ${listed}`;
    }
    case 'rebuilt':
      return `${record.reason_kind === 'new-recipe' ? 'built' : 'rebuilt'}: ${record.reason}`;
    default: {
      const never: never = record;
      return never;
    }
  }
}

/**
 * The run's summary.json: kolla-build's five keys first, then ci-builder's own. Each image of
 * the run is in exactly one of built, reused, failed and skipped; `failed` also names the base
 * image (by its reference) when it could not be made.
 */
export interface RunSummary {
  built: Array<{ name: string }>;
  failed: Array<{ name: string; status: FailureStatus; reason: string }>;
  not_matched: Array<{ name: string }>;
  skipped: Array<{ name: string; reason: string }>;
  unbuildable: Array<{ name: string }>;
  reused: Array<{ name: string }>;
  /** Images whose snapshots moved, patched with one layer of the packages that moved. */
  patched: Array<{ name: string; packages: number }>;
  pushed: Array<{ name: string; reference: string; already?: true }>;
  push_failed: Array<{ name: string; reference: string; reason: string }>;
  /** Images scanned before their push (pipeline runs): verdict and counting findings per severity. */
  scanned: Array<{
    name: string;
    reference: string;
    verdict: Verdict;
    counts: ScanCounts;
    allowed: number;
    seconds: number;
  }>;
  /** Images that could not be scanned (so were not pushed). */
  scan_failed: Array<{ name: string; reference: string; reason: string }>;
  /** Built and scanned, but not pushed because of their verdict (critical without --push-dirty). */
  held: Array<{ name: string; reference: string; verdict: Verdict }>;
  /** Images that passed only on a retry, with the attempts they took: a build that fails now and then. */
  flaky: Array<{ name: string; attempts: number }>;
  unmatched_regexes: string[];
  tag: string;
  distro: string;
  engine: string;
  base_image: { reference: string; outcome: string } | null;
  started_at: string;
  finished_at: string | null;
  interrupted: boolean;
  images: Record<string, ImageRecord>;
  /** `k/n` when the run built one shard of a run split over CI jobs (only that shard's images are listed). */
  shard?: string;
  /** What the run's package cache served, and from where (absent when the run had none). */
  package_cache?: PackageCacheCounters;
  /** A run spread over several builders: all of them, and those lost during the run. */
  builders?: string[];
  lost_builders?: string[];
}

/** `N flaky (passed on a retry)` for a run's outcome line, or nothing when no image needed a retry. */
export function describeFlakyCount(summary: Pick<RunSummary, 'flaky'>): string[] {
  return summary.flaky.length > 0 ? [`${summary.flaky.length} flaky (passed on a retry)`] : [];
}

/** The pipeline's own summary at the top of its artifacts folder, beside the runs' summary.json files (tags update reads both). */
export const PIPELINE_SUMMARY = 'pipeline-summary.json';

/** A run's summary.json is megabytes for thousands of images; 300,000 images still fit. */
export const SUMMARY_LIMITS = { what: 'run summary', maxBytes: 256 * MiB } as const;

/** Builds the summary from events alone, so it is the same whatever the run went through. */
export class SummaryCollector implements Reporter {
  readonly summary: RunSummary = {
    built: [],
    failed: [],
    not_matched: [],
    skipped: [],
    unbuildable: [],
    reused: [],
    patched: [],
    pushed: [],
    push_failed: [],
    scanned: [],
    scan_failed: [],
    held: [],
    flaky: [],
    unmatched_regexes: [],
    tag: '',
    distro: '',
    engine: '',
    base_image: null,
    started_at: '',
    finished_at: null,
    interrupted: false,
    images: {},
  };

  constructor(unmatchedRegexes: readonly string[] = []) {
    this.summary.unmatched_regexes = [...unmatchedRegexes];
  }

  handle(event: RunEvent): void {
    switch (event.type) {
      case 'run':
        return this.onRun(event);
      case 'base-image':
        return this.onBaseImage(event);
      case 'image':
        return this.onImage(event);
      case 'push':
        return this.onPush(event);
      case 'scan':
        return this.onScan(event);
      case 'warning':
        if (event.lostBuilder !== undefined) this.summary.lost_builders?.push(event.lostBuilder);
        return;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private onRun(event: Extract<RunEvent, { type: 'run' }>): void {
    switch (event.reason) {
      case 'started':
        Object.assign(this.summary, { tag: event.tag, distro: event.distro, engine: event.engine });
        this.summary.started_at = event.at;
        if (event.builders) Object.assign(this.summary, { builders: event.builders, lost_builders: [] });
        return;
      case 'finished':
        Object.assign(this.summary, { finished_at: event.at, interrupted: event.interrupted });
        return;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private onBaseImage(event: Extract<RunEvent, { type: 'base-image' }>): void {
    switch (event.reason) {
      case 'started':
        return;
      case 'present':
      case 'imported':
      case 'bootstrapped':
        this.summary.base_image = { reference: event.reference, outcome: event.reason };
        return;
      case 'failed':
        this.summary.base_image = { reference: event.reference, outcome: event.reason };
        this.summary.failed.push({ name: event.reference, status: event.status, reason: event.message });
        return;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private onImage(event: Extract<RunEvent, { type: 'image' }>): void {
    const summary = this.summary;
    const record = summary.images[event.name];
    switch (event.reason) {
      case 'queued':
        summary.images[event.name] = {
          reference: event.reference,
          parent: event.parent,
          input_digest: event.inputDigest,
          ...(event.recipeDigest === undefined ? {} : { recipe_digest: event.recipeDigest }),
          ...(event.snapshotSet === undefined ? {} : { snapshot_set: event.snapshotSet }),
          status: 'queued',
        };
        return;
      case 'planned':
        if (record) record.respin = respinRecord(event.work);
        return;
      case 'patched':
        if (!summary.patched.some((entry) => entry.name === event.name))
          summary.patched.push({ name: event.name, packages: event.packages });
        if (record)
          Object.assign(record, {
            status: 'patched',
            image_id: event.imageId,
            finished_at: event.at,
            build_seconds: event.seconds,
            ...(event.stacked ? { stacked_on_patched_parent: true } : {}),
            ...(event.composed ? { composed_at_registry: true } : {}),
            ...(event.steps ? { stack_steps: event.steps } : {}),
          });
        this.noteFlaky(event.name, record);
        return;
      case 'started':
        if (record)
          Object.assign(record, {
            status: 'building',
            started_at: record.started_at ?? event.at,
            attempts: event.attempt,
            ...(event.builder ? { builder: event.builder } : {}),
          });
        return;
      case 'built':
      case 'reused': {
        const list = event.reason === 'built' ? summary.built : summary.reused;
        // Built again on another builder when the first one was lost before its push: listed once.
        if (!list.some((entry) => entry.name === event.name)) list.push({ name: event.name });
        if (record)
          Object.assign(record, {
            status: event.reason,
            image_id: event.imageId,
            finished_at: event.at,
            build_seconds: event.seconds,
            ...(event.steps ? { build_steps: event.steps } : {}),
            ...(event.builder ? { builder: event.builder } : {}),
          });
        this.noteFlaky(event.name, record);
        return;
      }
      case 'failed':
        summary.failed.push({ name: event.name, status: event.status, reason: event.message });
        if (record) record.status = 'failed';
        // An image that never started keeps no timings.
        if (record && event.attempts > 0) Object.assign(record, { finished_at: event.at, attempts: event.attempts });
        return;
      case 'skipped':
        summary.skipped.push({ name: event.name, reason: event.because });
        if (record) record.status = 'skipped';
        return;
      case 'not-matched':
        summary.not_matched.push({ name: event.name });
        return;
      case 'unbuildable':
        summary.unbuildable.push({ name: event.name });
        return;
      case 'log':
      case 'retrying':
        return;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  /** An image that needed more than one attempt to succeed is flaky: said once, with its attempts. */
  private noteFlaky(name: string, record: ImageRecord | undefined): void {
    const attempts = record?.attempts ?? 1;
    if (record === undefined || attempts < 2) return;
    record.flaky = true;
    const known = this.summary.flaky.find((entry) => entry.name === name);
    if (known) known.attempts = attempts;
    else this.summary.flaky.push({ name, attempts });
  }

  private onPush(event: Extract<RunEvent, { type: 'push' }>): void {
    const record = this.summary.images[event.name];
    switch (event.reason) {
      case 'started':
        if (record)
          record.push = { status: 'failed', attempts: event.attempt, started_at: record.push?.started_at ?? event.at };
        return;
      case 'pushed': {
        const already = event.already ? { already: true as const } : {};
        this.summary.pushed.push({ name: event.name, reference: event.reference, ...already });
        if (!record) return;
        const { seconds, attempts } = event;
        record.push = { ...record.push, status: 'pushed', seconds, attempts, finished_at: event.at, ...already };
        return;
      }
      case 'failed':
        this.summary.push_failed.push({ name: event.name, reference: event.reference, reason: event.message });
        // As kolla-build: an image that did not reach the registry is failed, not built.
        this.summary.built = this.summary.built.filter((entry) => entry.name !== event.name);
        this.summary.reused = this.summary.reused.filter((entry) => entry.name !== event.name);
        this.summary.failed.push({ name: event.name, status: event.status, reason: event.message });
        if (record) record.push = { ...record.push, status: 'failed', attempts: event.attempts, finished_at: event.at };
        return;
      case 'retrying':
        return;
      case 'held':
        this.summary.held.push({ name: event.name, reference: event.reference, verdict: event.verdict });
        return;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private onScan(event: Extract<RunEvent, { type: 'scan' }>): void {
    switch (event.reason) {
      case 'started':
        return;
      case 'scanned': {
        const { name, reference, verdict, counts, allowed, seconds } = event;
        this.summary.scanned.push({ name, reference, verdict, counts, allowed, seconds });
        return;
      }
      case 'failed':
        this.summary.scan_failed.push({ name: event.name, reference: event.reference, reason: event.message });
        return;
      default: {
        const never: never = event;
        return never;
      }
    }
  }
}
