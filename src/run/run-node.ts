import type { Plan } from '../plan/plan.js';
import { fail, ok } from '../util/result.js';
import type { ImageAdmission } from './admission.js';
import { prepareBase, type BaseStepContext } from './base-step.js';
import type { Builder, BuilderPool } from './builder-pool.js';
import type { ImageStepContext } from './image-step-context.js';
import { buildImage, reuseSkippedParent, takeFromShard } from './image-step.js';
import { onSomeBuilder, prepareOnBuilder, spreadRun, type SpreadRun } from './on-builders.js';
import type { StepResult } from './run-outcomes.js';
import type { RunNode } from './run-graph.js';

type ImageNode = Extract<RunNode, { kind: 'image' }>;

/** What a node's work needs: the step context on the run's own engine, and how images leave it. */
export interface NodeWork {
  plan: Plan;
  context: ImageStepContext;
  base: BaseStepContext;
  admission: ImageAdmission;
  /** The run's signal: gates and pushes outlive the node that queued them, so not the node's. */
  runSignal: AbortSignal;
}

/** The scheduler's work for one node: on the run's engine, or on a builder chosen by placement. */
export function nodeRunner(
  work: NodeWork,
  pool: BuilderPool | undefined,
): (node: RunNode, attempt: number, signal: AbortSignal) => Promise<StepResult> {
  const spread = pool && {
    ...spreadRun(pool, work.plan, work.context.events, work.context.push ?? { insecure: false }),
    pushed: work.admission.pushed,
    prepareBase: (builder: Builder, signal: AbortSignal) =>
      prepareBase({ ...work.base, engine: builder.engine }, signal, builder.name),
  };
  return (node, attempt, signal) => {
    switch (node.kind) {
      case 'base-image':
        return spread === undefined ? prepareBase(work.base, signal) : baseOnSomeBuilder(work, spread, signal);
      case 'image':
        return spread === undefined
          ? imageWork(work, work.context, node, attempt, signal)
          : imageOnSomeBuilder(work, spread, node, attempt, signal);
      default: {
        const never: never = node;
        return never;
      }
    }
  };
}

function baseOnSomeBuilder(work: NodeWork, spread: SpreadRun, signal: AbortSignal): Promise<StepResult> {
  return onSomeBuilder(spread, null, signal, async (builder) => {
    const made = await prepareBase({ ...work.base, engine: builder.engine }, signal);
    if (made.ok) spread.pool.baseImageMade(builder, work.plan.baseImage.reference);
    return made;
  });
}

function imageOnSomeBuilder(
  work: NodeWork,
  spread: SpreadRun,
  node: ImageNode,
  attempt: number,
  signal: AbortSignal,
): Promise<StepResult> {
  const needs = node.dependsOn[0] ?? null;
  return onSomeBuilder(spread, needs, signal, async (builder) => {
    const ready = await prepareOnBuilder(spread, builder, node.image, needs, signal);
    if (!ready.ok) return ready;
    const on: ImageStepContext = { ...work.context, engine: builder.engine, builderName: builder.name };
    const done = await imageWork(work, on, node, attempt, signal, builder);
    if (done.ok) spread.pool.record(builder, node.id);
    return done;
  });
}

/** One image on one engine: taken from another shard, tagged for --skip-parents, or built; then admitted. */
async function imageWork(
  work: NodeWork,
  on: ImageStepContext,
  node: ImageNode,
  attempt: number,
  signal: AbortSignal,
  builder?: Builder,
): Promise<StepResult> {
  if (node.work === 'from-shard') {
    const taken = await takeFromShard(on, node, signal);
    if (taken.ok) work.admission.markInRegistry(node.image.name);
    return taken;
  }
  const built =
    node.work === 'tag-existing'
      ? await reuseSkippedParent(on, node.image)
      : await buildImage(on, node.image, attempt, signal, node.planned);
  if (!built.ok) return built;
  if (built.value === 'in-registry') work.admission.composedAtRegistry(node.image);
  if (built.value === 'held') work.admission.composedAndHeld(node.image);
  if (built.value !== 'ready') return ok(undefined);
  const admitted = work.admission.admit(
    node.image,
    { engine: on.engine, events: on.events, signal: work.runSignal },
    builder,
  );
  if (builder === undefined) return ok(undefined);
  // Spread over builders, the registry hands the image to its children elsewhere: done once it is there.
  const outcome = await admitted;
  if (outcome?.builderLost) {
    return fail({ kind: 'connection_error', reason: `push from ${builder.name} cut short`, retryable: true });
  }
  return ok(undefined);
}
