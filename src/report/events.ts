import type { Severity, Verdict } from '../scan/types.js';

/**
 * Why an image, or the base image, ends in summary.json's `failed`; kolla-build's own statuses
 * and `interrupted`:
 * - error: its build (or its base image's preparation) failed;
 * - parent_error: not built because its parent or the base image failed;
 * - push_error: built, but the registry refused every push attempt;
 * - connection_error: the engine or the registry could not be reached;
 * - interrupted: the run was interrupted before it finished.
 */
export type FailureStatus = 'error' | 'parent_error' | 'push_error' | 'connection_error' | 'interrupted';
/** A failure of the image's own work (building, or tagging its existing image). */
export type BuildFailureStatus = Extract<FailureStatus, 'error' | 'connection_error' | 'interrupted'>;
export type PushFailureStatus = Extract<FailureStatus, 'push_error' | 'connection_error' | 'interrupted'>;

/** The findings of an image that count toward its verdict, per severity. */
export type ScanCounts = Record<Severity, number>;

/** Everything that happens in a run, as one discriminated union (`type` + `reason`). */
export type RunEvent = { at: string } &
  /** `builders`: the run is spread over these builders (absent for a run on one engine). */
  (
    | {
        type: 'run';
        reason: 'started';
        tag: string;
        distro: string;
        engine: string;
        runDir: string;
        images: string[];
        builders?: string[];
      }
    | { type: 'run'; reason: 'finished'; interrupted: boolean }
    /** `lostBuilder`: this builder of a spread run could no longer be reached; its work moved to the others. */
    | { type: 'warning'; message: string; lostBuilder?: string }
    | { type: 'base-image'; reason: 'started'; reference: string }
    | { type: 'base-image'; reason: 'present' | 'imported' | 'bootstrapped'; reference: string; seconds: number }
    | { type: 'base-image'; reason: 'failed'; reference: string; status: BuildFailureStatus; message: string }
    | { type: 'image'; reason: 'queued'; name: string; reference: string; inputDigest: string; parent: string | null }
    /** `builder`: where the image builds, on a run spread over several builders. */
    | { type: 'image'; reason: 'started'; name: string; attempt: number; builder?: string }
    | { type: 'image'; reason: 'log'; name: string; line: string }
    | { type: 'image'; reason: 'built' | 'reused'; name: string; imageId: string; seconds: number; builder?: string }
    | { type: 'image'; reason: 'retrying'; name: string; attempt: number; message: string }
    /** `attempts` is 0 for an image that never started (parent_error, or interrupted before its turn). */
    | {
        type: 'image';
        reason: 'failed';
        name: string;
        status: Exclude<FailureStatus, 'push_error'>;
        message: string;
        attempts: number;
      }
    /** Left alone by a build option (--skip-existing, --skip-parents), as kolla-build's skipped. */
    | { type: 'image'; reason: 'skipped'; name: string; because: string }
    | { type: 'image'; reason: 'not-matched' | 'unbuildable'; name: string }
    | { type: 'scan'; reason: 'started'; name: string; reference: string }
    /** `counts` are the findings that decide the verdict, by severity; `allowed` were silenced by an allow-list. */
    | {
        type: 'scan';
        reason: 'scanned';
        name: string;
        reference: string;
        verdict: Verdict;
        counts: ScanCounts;
        allowed: number;
        seconds: number;
      }
    | { type: 'scan'; reason: 'failed'; name: string; reference: string; message: string }
    /** A built image whose verdict keeps it from the registry (critical without --push-dirty). */
    | { type: 'push'; reason: 'held'; name: string; reference: string; verdict: Verdict }
    | { type: 'push'; reason: 'started'; name: string; reference: string; attempt: number }
    | { type: 'push'; reason: 'retrying'; name: string; attempt: number; message: string }
    /** `already`: the registry held this very image at the reference, so nothing was sent. */
    | {
        type: 'push';
        reason: 'pushed';
        name: string;
        reference: string;
        seconds: number;
        attempts: number;
        already?: true;
      }
    | {
        type: 'push';
        reason: 'failed';
        name: string;
        reference: string;
        status: PushFailureStatus;
        message: string;
        attempts: number;
      }
  );

/** Distributes without the `at` field, which the emitter stamps. */
export type RunEventInput = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'at'> : never) : never;

export interface Reporter {
  handle(event: RunEvent): void;
  /** Flushes and closes whatever the reporter holds open. */
  close?(): Promise<void>;
}

export class EventBus {
  private readonly reporters: Reporter[] = [];

  constructor(private readonly scrub: (text: string) => string = (text) => text) {}

  attach(reporter: Reporter): void {
    this.reporters.push(reporter);
  }

  emit(input: RunEventInput): void {
    const event = this.scrubStrings({ at: new Date().toISOString(), ...input });
    for (const reporter of this.reporters) reporter.handle(event);
  }

  async close(): Promise<void> {
    for (const reporter of this.reporters) await reporter.close?.();
  }

  /** No reporter ever sees a secret value, whatever an engine printed. */
  private scrubStrings(event: RunEvent): RunEvent {
    const copy: Record<string, unknown> = { ...event };
    for (const [key, value] of Object.entries(copy)) if (typeof value === 'string') copy[key] = this.scrub(value);
    return copy as RunEvent;
  }
}
