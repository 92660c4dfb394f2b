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

/** A package a respin upgrades: its version in the earlier image, and the one the new snapshots decide. */
export interface PatchedPackage {
  name: string;
  architecture: string;
  from: string;
  to: string;
}

/** Why an image is built from its first step rather than reused or patched. */
export type RebuildReason =
  /** No earlier image has its recipe: a new image, or its template, context, parent or options changed. */
  | { kind: 'new-recipe' }
  /** --full (or respin.mode full) asked for full rebuilds. */
  | { kind: 'full' }
  /** --nocache (kolla-build) asked for every image again. */
  | { kind: 'no-cache' }
  /** The earlier image already carries respin.max_patch_layers patch layers. */
  | { kind: 'patch-layers'; count: number }
  /** An rpm image: patching with dnf is not supported, the image is rebuilt. */
  | { kind: 'rpm' }
  /** The earlier image's packages, or the new snapshots' indexes, could not be read. */
  | { kind: 'unreadable'; message: string }
  /** Its parent is rebuilt: the image is built on the new parent, not patched over the old one. */
  | { kind: 'parent-rebuilt'; parent: string }
  /**
   * Its parent is patched and it could only be patched as a whole, upgrading again what the parent's patch does:
   * built on the patched parent, it and the images below it install fewer packages (`installs`) than patching it
   * takes (`upgrades`: its upgrades, and what the images below it then take, each the cheaper way).
   */
  | { kind: 'parent-patched'; parent: string; installs: number; upgrades: number };

/** How an image is made in this run, decided before any is built. */
export type ImageWork =
  /** Its input digest was built before: that image is tagged. */
  | { kind: 'reuse'; imageId: string }
  /** Its recipe was built before and only the snapshots moved, none of its packages with them: that image is tagged. */
  | { kind: 'respin-reuse'; imageId: string; snapshotSet: string }
  /** Its recipe was built before and some of its packages moved: one layer upgrades exactly them. */
  | { kind: 'patch'; imageId: string; snapshotSet: string; packages: PatchedPackage[] }
  | { kind: 'build'; why: RebuildReason };

const packages = (count: number) => `${count} package${count === 1 ? '' : 's'}`;

/** One line for why an image is built in full. */
export function describeRebuild(why: RebuildReason): string {
  switch (why.kind) {
    case 'new-recipe':
      return 'no earlier image of this recipe';
    case 'full':
      return 'full rebuild asked (--full)';
    case 'no-cache':
      return 'no reuse asked (--nocache)';
    case 'patch-layers':
      return `the earlier image carries ${why.count} patch layers (respin.max_patch_layers)`;
    case 'rpm':
      return 'rpm images are rebuilt: patching with dnf is not supported';
    case 'unreadable':
      return why.message;
    case 'parent-rebuilt':
      return `its parent ${why.parent} is rebuilt`;
    case 'parent-patched':
      return (
        `its parent ${why.parent} is patched: built on it, ${packages(why.installs)} to install (it and the images ` +
        `below it) against ${why.upgrades} patched as a whole`
      );
    default: {
      const never: never = why;
      return never;
    }
  }
}

/**
 * Where a built image's seconds went: the engine's build of its Dockerfile, and ci-builder's own steps around
 * it. Kept per image in summary.json (`build_steps`), so a benchmark says what ci-builder adds to the engine's
 * work step by step instead of guessing it from wall times.
 */
export interface BuildSteps {
  /** Looking for an image built before with the same input digest (absent where nothing was looked up). */
  lookup?: number;
  /** Writing the build context and the Dockerfile. */
  context: number;
  /** The engine's build of the Dockerfile, the inspection of its result included. */
  engine: number;
  /** Reading the service's version from the image and labelling it with it. */
  version_label: number;
}

/**
 * Where a stacked image's seconds went (summary.json's `stack_steps`): its parents mounted (the first of their
 * children pays), then the engine's steps of the stack, which its log line names in words. A step not taken
 * is absent.
 */
export type PatchSteps = Partial<Record<(typeof PATCH_STEPS)[number], number>>;

/** The steps of a stack in the order they run. */
export const PATCH_STEPS = [
  'parents_mounted',
  // Reading the store's records of the child's own layers and its patched parent's.
  'layers_read',
  // The child's own layers put onto the patched parent, each committed.
  'carried',
  // The last layer's working container mounted.
  'mounted',
  // dpkg's, apt's and debconf's state merged, folders restored, the linker cache made again.
  'merged',
  // The packages only the child holds that moved, upgraded.
  'own_upgrade',
  // The stacked image's packages read, kept for the next respin.
  'packages_read',
  'committed',
  // Composed at the registry instead (respin.compose registry): the last layer written as a blob, tar and gzip.
  'layer_written',
  // The run's gate deciding on the composed image's root, before any of it is pushed (the pipeline's scan).
  'gated',
  // The image put together at the registry: its shared layers mounted, the new one and the config uploaded.
  'composed',
] as const;

/** An image made in the run, as its event says it: built or reused, or patched with so many packages. */
type MadeEvent =
  { reason: 'built' | 'reused' } | { reason: 'patched'; packages: number; stacked?: true; composed?: true };

/**
 * How an image was made, in words: as the run decided before building, else (a run over several builders
 * decides image by image, with no plan) as its event says.
 */
export function describeMade(work: ImageWork | undefined, event: MadeEvent): string {
  const onto = event.reason === 'patched' && event.composed ? ', composed at the registry' : '';
  const stacked = event.reason === 'patched' && event.stacked ? `, its own layers onto the patched parent${onto}` : '';
  if (work !== undefined) return `${describeWork(work)}${stacked}`;
  return event.reason === 'patched' ? `patched (${event.packages} packages${stacked})` : event.reason;
}

/** What an image's work is, in the words of the live view, the log and the report: reused, patched (n packages), rebuilt (why). */
function describeWork(work: ImageWork): string {
  switch (work.kind) {
    case 'reuse':
      return 'reused (nothing changed)';
    case 'respin-reuse':
      return 'reused (snapshots moved, none of its packages)';
    case 'patch':
      return `patched (${packages(work.packages.length)})`;
    case 'build':
      // A new recipe (a new image, or a changed template, context or parent) is simply built, as ever.
      return work.why.kind === 'new-recipe' ? 'built' : `rebuilt (${describeRebuild(work.why)})`;
    default: {
      const never: never = work;
      return never;
    }
  }
}

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
    | {
        type: 'image';
        reason: 'queued';
        name: string;
        reference: string;
        inputDigest: string;
        parent: string | null;
        recipeDigest?: string;
        snapshotSet?: string;
      }
    /** How the image will be made, decided before the run builds anything (absent on runs that do not decide ahead). */
    | { type: 'image'; reason: 'planned'; name: string; work: ImageWork }
    /** `builder`: where the image builds, on a run spread over several builders. */
    | { type: 'image'; reason: 'started'; name: string; attempt: number; builder?: string }
    | { type: 'image'; reason: 'log'; name: string; line: string }
    /** `steps`: where a built image's seconds went (BuildSteps); absent for reused images. */
    | {
        type: 'image';
        reason: 'built' | 'reused';
        name: string;
        imageId: string;
        seconds: number;
        builder?: string;
        steps?: BuildSteps;
      }
    /**
     * `packages` packages of the image's earlier self upgraded: by a patch layer on it, or (`stacked`) by its own
     * layers put onto its patched parent, the packages only it holds then upgraded by a patch layer.
     */
    | {
        type: 'image';
        reason: 'patched';
        name: string;
        imageId: string;
        seconds: number;
        packages: number;
        stacked?: true;
        /** Stacked at the registry (respin.compose registry): never in the store; pushed unless a gate held it. */
        composed?: true;
        /** Seconds by step, for a stacked image. */
        steps?: PatchSteps;
      }
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
