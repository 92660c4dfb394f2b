import { randomBytes } from 'node:crypto';
import type { EngineFailure } from '../engine/types.js';
import type { PatchInputs, PlannedImage } from '../plan/plan.js';
import {
  describePatched,
  PATCH_LAYERS_LABEL,
  PATCHED_FROM_LABEL,
  PATCHED_PACKAGES_LABEL,
  patchDockerfile,
} from '../respin/patch-layer.js';
import { ok, type Result } from '../util/result.js';
import { buildInEngine } from './engine-build.js';
import { stackOntoPatchedParent, type StackOutcome } from './stack-step.js';
import { patchedVersionLabel } from './version-label.js';
import type { ImageStepContext } from './image-step-context.js';
import type { PatchWork } from './image-work.js';

/**
 * A respin's patch, labelled with the new input digest, recipe and snapshot set, the image it patched, the
 * packages from and to, and its count of patch layers: the image's own layers stacked onto its patched parent
 * where the plan says so (stack-step.ts), else (or when the stack is refused) one layer on the image's earlier
 * self upgrading exactly the packages that moved, built by the engine like any image (its Dockerfile is in the
 * run folder). `held`: composed at the registry and held there by the run's gate, so in neither.
 */
export async function patchImage(
  context: ImageStepContext,
  image: PlannedImage,
  work: PatchWork,
  attempt: number,
  signal: AbortSignal,
): Promise<Result<'in-store' | 'in-registry' | 'held', EngineFailure>> {
  const { events, patching } = context;
  if (patching === undefined) throw new Error(`internal: ${image.name} is to be patched on a run that cannot patch`);
  const started = Date.now();
  events.emit({ type: 'image', reason: 'started', name: image.name, attempt });
  const labels = {
    ...image.labels,
    [PATCHED_FROM_LABEL]: work.imageId,
    [PATCHED_PACKAGES_LABEL]: describePatched(work.packages),
    [PATCH_LAYERS_LABEL]: String(work.patchLayers + 1),
    ...patchedVersionLabel(work.labels, work.packages),
  };
  const stacked =
    work.onto && (await stackOntoPatchedParent(context, patching, image, work, work.onto, labels, signal));
  if (stacked && !stacked.ok) return stacked;
  if (stacked?.value.kind === 'refused') {
    events.emit({ type: 'image', reason: 'log', name: image.name, line: `patched as a whole: ${stacked.value.why}` });
  }
  const made = stacked !== undefined && stacked.value.kind !== 'refused' ? stacked.value : undefined;
  const patched = made ? ok(recorded(context, made)) : await patchLayer(context, patching, image, work, labels, signal);
  if (!patched.ok) return patched;
  const seconds = (Date.now() - started) / 1000;
  const composed = made?.kind === 'composed' ? { composed: true as const } : {};
  const how = made ? { stacked: true as const, ...composed, steps: made.steps } : {};
  const { length } = work.packages;
  events.emit({
    type: 'image',
    reason: 'patched',
    name: image.name,
    imageId: patched.value,
    seconds,
    packages: length,
    ...how,
  });
  if (made?.kind !== 'composed') return ok('in-store');
  if (!made.pushed) return ok('held');
  events.emit({ type: 'push', reason: 'pushed', name: image.name, reference: image.reference, seconds, attempts: 1 });
  return ok('in-registry');
}

/** The image made by stacking, kept for the next respin as a built one is: its packages as the stack read them. */
function recorded(context: ImageStepContext, stacked: Exclude<StackOutcome, { kind: 'refused' }>): string {
  const { imageId, packages } = stacked;
  if (packages?.ok) context.packageRecorder?.keep(imageId, packages.value);
  else context.packageRecorder?.record(imageId);
  return imageId;
}

/**
 * One layer on the earlier image upgrading exactly the moved packages, built by the engine like any image. The
 * Dockerfile names the earlier image by a name of the run's own, given for the build and taken back after it:
 * BuildKit (docker) resolves a FROM by name only, an image id it looks for on Docker Hub. Taking the name back
 * leaves the image to its other names; one that had none (its run's tag removed since) goes as docker's and
 * buildah's rmi let an unnamed image go, its layers kept by the patched image built on them.
 */
async function patchLayer(
  context: ImageStepContext,
  patching: PatchInputs,
  image: PlannedImage,
  work: PatchWork,
  labels: Record<string, string>,
  signal: AbortSignal,
): Promise<Result<string, EngineFailure>> {
  const from = patchFromName(image.name, work.imageId);
  const named = await context.engine.tag(work.imageId, from);
  if (!named.ok) return named;
  try {
    return await buildPatch(context, patching, image, work, from, labels, signal);
  } finally {
    const dropped = await context.engine.remove(from);
    if (!dropped.ok) {
      const message = `${image.name}: the name ${from} given to its earlier image for the patch stays: ${dropped.failure.message}`;
      context.events.emit({ type: 'warning', message });
    }
  }
}

/** A name of its own for the earlier image of one patch: two runs patching the same image do not share it. */
function patchFromName(name: string, imageId: string): string {
  const id = imageId.replace(/^sha256:/, '').slice(0, 12);
  return `localhost/ci-builder-patch-from/${name}:${id}-${randomBytes(4).toString('hex')}`;
}

async function buildPatch(
  context: ImageStepContext,
  patching: PatchInputs,
  image: PlannedImage,
  work: PatchWork,
  from: string,
  labels: Record<string, string>,
  signal: AbortSignal,
): Promise<Result<string, EngineFailure>> {
  const dockerfile = patchDockerfile({
    patched: work.imageId,
    from,
    user: work.user,
    setup: patching.setup,
    restore: patching.restore,
    packages: work.packages,
    nativeArchitecture: work.nativeArchitecture,
  });
  const { name, reference } = image;
  const patch = { name, reference, dockerfile, contextFiles: [], emptyDirs: [], labels, noCache: false };
  // The version label is among the labels: the patch installs a version it knows.
  const built = await buildInEngine(context, { ...patch, versionLabelled: true }, signal);
  return built.ok ? ok(built.value.id) : built;
}
