import { guardEngine } from '../engine/guarded.js';
import type { Plan, PlannedImage } from '../plan/plan.js';
import type { BuildFailureStatus, EventBus } from '../report/events.js';
import type { NodeFailure } from '../schedule/dag.js';
import { fail, ok, type Result } from '../util/result.js';
import { BuilderPool, type Builder } from './builder-pool.js';
import { pullParentFromRegistry, type RegistryHandOff } from './parent-from-registry.js';
import { buildFailureStatus } from './run-graph.js';

type StepResult = Result<void, NodeFailure<BuildFailureStatus>>;

/** What a run spread over several builders needs besides the pool. */
export interface SpreadRun {
  pool: BuilderPool;
  events: EventBus;
  /** The images of the plan by name: a parent among them is built in this run, maybe elsewhere. */
  planned: ReadonlyMap<string, PlannedImage>;
  /** The base image's reference: what root images need first. */
  baseReference: string;
  handOff: Omit<RegistryHandOff, 'onLine' | 'signal'>;
  /** Whether each image of the run reached the registry (absent: not pushed, held by a gate). */
  pushed: ReadonlyMap<string, Promise<boolean>>;
  /** Makes the base image on a builder's engine; its lines go to the base image's log. */
  prepareBase(builder: Builder, signal: AbortSignal): Promise<StepResult>;
}

/** The pool of a run over more than one builder (undefined otherwise); a lost builder is a warning naming it. */
export function builderPool(builders: readonly Builder[], events: EventBus): BuilderPool | undefined {
  if (builders.length < 2) return undefined;
  const guarded = builders.map((builder) => ({ ...builder, engine: guardEngine(builder.engine) }));
  return new BuilderPool(guarded, (builder, message) => {
    events.emit({ type: 'warning', message: `builder ${builder.name} lost: ${message}`, lostBuilder: builder.name });
  });
}

/** What a spread run knows from the plan and the push settings (the hand-off goes through the run's registry). */
export function spreadRun(
  pool: BuilderPool,
  plan: Plan,
  events: EventBus,
  push: Pick<RegistryHandOff, 'insecure' | 'authFile' | 'login'> & { handOffTimeoutMs?: number },
): Omit<SpreadRun, 'pushed' | 'prepareBase'> {
  return {
    pool,
    events,
    planned: new Map(plan.images.map((image) => [image.name, image])),
    baseReference: plan.baseImage.reference,
    handOff: {
      insecure: push.insecure,
      timeoutMs: push.handOffTimeoutMs ?? 120_000,
      pollMs: 1000,
      ...(push.authFile ? { authFile: push.authFile } : {}),
      ...(push.login ? { login: push.login } : {}),
    },
  };
}

/**
 * Runs one node's work on a builder chosen by placement. When the work fails and the builder turns out
 * to be lost, the work moves to another builder within the same attempt: a lost builder does not count
 * against the image's own retries.
 */
export async function onSomeBuilder(
  spread: SpreadRun,
  needs: string | null,
  signal: AbortSignal,
  work: (builder: Builder) => Promise<StepResult>,
): Promise<StepResult> {
  for (;;) {
    const lease = await spread.pool.acquire(needs, signal);
    if (lease === undefined) {
      if (signal.aborted) return fail({ kind: 'interrupted', reason: 'interrupted', retryable: false });
      return fail({ kind: 'connection_error', reason: 'every builder of the run is lost', retryable: false });
    }
    const { builder } = lease;
    let result: StepResult;
    try {
      result = await work(builder);
    } finally {
      spread.pool.release(lease);
    }
    if (result.ok || result.failure.kind === 'interrupted' || signal.aborted) return result;
    if (!(await spread.pool.lostAfter(builder, result.failure.reason))) return result;
  }
}

/**
 * Before an image builds on a builder: the base image made there (roots), or its parent pulled
 * there from the run's registry when it was built on another builder.
 */
export async function prepareOnBuilder(
  spread: SpreadRun,
  builder: Builder,
  image: PlannedImage,
  needs: string | null,
  signal: AbortSignal,
): Promise<StepResult> {
  const { pool } = spread;
  if (needs === null || pool.holds(builder, needs)) return ok(undefined);
  if (needs === spread.baseReference) {
    // Only the caller that made the attempt learns why it failed; others waiting on it get a plain reason.
    const attempt: { result?: StepResult } = {};
    const ready = await pool.baseImageOn(builder, async () => {
      attempt.result = await spread.prepareBase(builder, signal);
      return attempt.result.ok;
    });
    if (ready) {
      pool.record(builder, needs);
      return ok(undefined);
    }
    return attempt.result && !attempt.result.ok ? attempt.result : fail(baseFailed(builder));
  }
  const parent = spread.planned.get(needs);
  if (parent === undefined) return ok(undefined);
  if (!(await (spread.pushed.get(needs) ?? Promise.resolve(false)))) {
    const reason = `parent ${needs} is not in the registry (not pushed), so builder ${builder.name} cannot have it`;
    return fail({ kind: 'error', reason, retryable: false });
  }
  const onLine = (line: string) => spread.events.emit({ type: 'image', reason: 'log', name: image.name, line });
  const parentInRegistry = { reference: parent.reference, inputDigest: parent.inputDigest };
  const pulled = await pullParentFromRegistry(builder.engine, parentInRegistry, { ...spread.handOff, onLine, signal });
  if (!pulled.ok) {
    const kind = buildFailureStatus(pulled.failure.kind);
    const reason = `pulling parent ${needs} on ${builder.name}: ${pulled.failure.message}`;
    return fail({ kind, reason, retryable: kind !== 'interrupted' });
  }
  pool.record(builder, needs);
  return ok(undefined);
}

function baseFailed(builder: Builder): NodeFailure<BuildFailureStatus> {
  return { kind: 'error', reason: `the base image could not be made on ${builder.name}`, retryable: true };
}
