import type { EngineFailure } from '../engine/types.js';
import type { PlannedImage } from '../plan/plan.js';
import { fail, ok, type Result } from '../util/result.js';
import { StepClock } from '../util/step-clock.js';
import { buildInEngine } from './engine-build.js';
import type { ImageStepContext } from './image-step-context.js';
import { findBuilt, type RunImageWork } from './image-work.js';
import { patchImage } from './patch-step.js';
import { takeParentFromShard } from './parent-from-shard.js';
import { stepFailure, type StepFailure, type StepResult } from './run-outcomes.js';

/**
 * `ready`: the image is at its reference and goes on to be pushed; `left-alone`: nothing to push; `in-registry`:
 * composed at the registry, pushed already and not in the engine's store; `held`: composed, and held by the run's
 * gate before its push, so in neither.
 */
export type ImageReady = Result<'ready' | 'left-alone' | 'in-registry' | 'held', StepFailure>;

/** One attempt at one image: built, or reused by input digest, or left alone as --skip-existing says. */
export async function buildImage(
  context: ImageStepContext,
  image: PlannedImage,
  attempt: number,
  signal: AbortSignal,
  work?: RunImageWork,
): Promise<ImageReady> {
  const { engine, events } = context;
  if (image.failure !== undefined) {
    return fail({ kind: 'error', reason: image.failure.message, retryable: false });
  }
  if (context.settings.skipExisting) {
    const exists = await engine.exists(image.reference);
    if (!exists.ok) return fail(stepFailure(exists.failure));
    if (exists.value) {
      const because = `${image.reference} exists (--skip-existing)`;
      events.emit({ type: 'image', reason: 'skipped', name: image.name, because });
      return ok('left-alone');
    }
  }
  const built = await makeImage(context, image, attempt, signal, work);
  if (!built.ok) return fail(stepFailure(built.failure));
  return ok(built.value === 'in-registry' || built.value === 'held' ? built.value : 'ready');
}

/** The image by the work decided for it; without a decision (a run over several builders), as buildOrReuse finds. */
function makeImage(
  context: ImageStepContext,
  image: PlannedImage,
  attempt: number,
  signal: AbortSignal,
  work: RunImageWork | undefined,
): Promise<Result<'in-store' | 'in-registry' | 'held' | void, EngineFailure>> {
  if (work === undefined) return buildOrReuse(context, image, attempt, signal);
  switch (work.kind) {
    case 'reuse':
    case 'respin-reuse':
      return tagExisting(context, image, work.imageId, Date.now());
    case 'patch':
      return patchImage(context, image, work, attempt, signal);
    case 'build':
      // Rebuilt for its patch layers: with plain mirrors its recipe's cached layers are the outdated ones.
      return buildFromScratch(context, image, attempt, signal, { withoutLayerCache: work.why.kind === 'patch-layers' });
    default: {
      const never: never = work;
      return never;
    }
  }
}

/** An image whose input digest was built before is tagged, not built again. */
async function buildOrReuse(
  context: ImageStepContext,
  image: PlannedImage,
  attempt: number,
  signal: AbortSignal,
): Promise<Result<void, EngineFailure>> {
  const started = Date.now();
  const clock = new StepClock();
  const existing = context.settings.noCache ? ok(undefined) : await findBuilt(context, image);
  if (!existing.ok) return existing;
  if (existing.value !== undefined) return tagExisting(context, image, existing.value, started);
  return buildFromScratch(context, image, attempt, signal, { lookupSeconds: clock.lap() });
}

/** An image that exists already is tagged with the run's reference: "reused". */
async function tagExisting(
  context: ImageStepContext,
  image: PlannedImage,
  imageId: string,
  started: number,
): Promise<Result<void, EngineFailure>> {
  const tagged = await context.engine.tag(imageId, image.reference);
  if (!tagged.ok) return tagged;
  const on = context.builderName === undefined ? {} : { builder: context.builderName };
  const seconds = (Date.now() - started) / 1000;
  context.events.emit({ type: 'image', reason: 'reused', name: image.name, imageId, seconds, ...on });
  return ok(undefined);
}

/** Every step of the image's Dockerfile, in the engine. */
async function buildFromScratch(
  context: ImageStepContext,
  image: PlannedImage,
  attempt: number,
  signal: AbortSignal,
  { withoutLayerCache = false, lookupSeconds }: { withoutLayerCache?: boolean; lookupSeconds?: number } = {},
): Promise<Result<void, EngineFailure>> {
  const { events, settings } = context;
  const on = context.builderName === undefined ? {} : { builder: context.builderName };
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  // Only a real build is "started": reused images go straight from queued to reused.
  events.emit({ type: 'image', reason: 'started', name: image.name, attempt, ...on });
  const { name, reference, dockerfile, contextFiles, emptyDirs, labels } = image;
  const noCache = settings.noCache || withoutLayerCache;
  const built = await buildInEngine(
    context,
    { name, reference, dockerfile, contextFiles, emptyDirs, labels, noCache },
    signal,
  );
  if (!built.ok) return built;
  const { id: imageId } = built.value;
  const steps = { ...(lookupSeconds === undefined ? {} : { lookup: lookupSeconds }), ...built.value.steps };
  events.emit({ type: 'image', reason: 'built', name: image.name, imageId, seconds: seconds(), steps, ...on });
  return ok(undefined);
}

/** Neither built nor pushed here: a missing parent stays missing, so its failure is not retried. */
export async function takeFromShard(
  context: ImageStepContext,
  parent: { image: PlannedImage; builtBy: string },
  signal: AbortSignal,
): Promise<StepResult> {
  const { shard, push } = context;
  if (shard === undefined || push === undefined) throw new Error('internal: a shard run without its registry');
  const { waitMs, pollMs } = shard;
  const taken = await takeParentFromShard(context, parent, { access: push, waitMs, pollMs, signal });
  if (taken.ok) return ok(undefined);
  const failure = stepFailure(taken.failure);
  return fail(taken.failure.kind === 'not-found' ? { ...failure, retryable: false } : failure);
}

/** With --skip-parents a parent is not built, but its children's FROM needs it at this run's tag. */
export async function reuseSkippedParent(context: ImageStepContext, image: PlannedImage): Promise<ImageReady> {
  const existing = await findBuilt(context, image);
  if (!existing.ok) return fail(stepFailure(existing.failure));
  if (existing.value === undefined) {
    const reason =
      'not built (--skip-parents) and no image with its input digest exists; ' +
      'build it without --skip-parents first';
    return fail({ kind: 'error', reason, retryable: false });
  }
  const tagged = await context.engine.tag(existing.value, image.reference);
  if (!tagged.ok) return fail(stepFailure(tagged.failure));
  const because = '--skip-parents (existing image tagged for its children)';
  context.events.emit({ type: 'image', reason: 'skipped', name: image.name, because });
  return ok('left-alone');
}
