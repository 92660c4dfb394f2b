import type { EngineFailure } from '../engine/types.js';
import type { PlannedImage } from '../plan/plan.js';
import {
  describePatched,
  PATCH_LAYERS_LABEL,
  PATCHED_FROM_LABEL,
  PATCHED_PACKAGES_LABEL,
  patchDockerfile,
} from '../respin/patch-layer.js';
import { ok, type Result } from '../util/result.js';
import { buildInEngine } from './engine-build.js';
import { stackOntoPatchedParent } from './stack-step.js';
import type { ImageStepContext } from './image-step-context.js';
import type { PatchWork } from './image-work.js';

/**
 * A respin's patch: one layer on the image's earlier self upgrading exactly the packages that moved, built by
 * the engine like any image (its Dockerfile is in the run folder), labelled with the new input digest, recipe
 * and snapshot set, the image it patched, the packages from and to, and its count of patch layers.
 */
export async function patchImage(
  context: ImageStepContext,
  image: PlannedImage,
  work: PatchWork,
  attempt: number,
  signal: AbortSignal,
): Promise<Result<void, EngineFailure>> {
  const { events, patching } = context;
  if (patching === undefined) throw new Error(`internal: ${image.name} is to be patched on a run that cannot patch`);
  const started = Date.now();
  events.emit({ type: 'image', reason: 'started', name: image.name, attempt });
  const labels = {
    ...image.labels,
    [PATCHED_FROM_LABEL]: work.imageId,
    [PATCHED_PACKAGES_LABEL]: describePatched(work.packages),
    [PATCH_LAYERS_LABEL]: String(work.patchLayers + 1),
  };
  const stacked = work.onto && (await stackOntoPatchedParent(context, image, work, work.onto, labels, signal));
  if (stacked && !stacked.ok) return stacked;
  let upgrade = { from: work.imageId, packages: work.packages };
  if (stacked?.value.kind === 'refused') {
    events.emit({ type: 'image', reason: 'log', name: image.name, line: `patched as a whole: ${stacked.value.why}` });
  } else if (stacked?.value.kind === 'stacked' && work.onto) {
    upgrade = { from: stacked.value.imageId, packages: work.onto.ownPackages };
  }
  const patched =
    upgrade.packages.length === 0 && stacked?.value.kind === 'stacked'
      ? ok(recorded(context, stacked.value.imageId))
      : await patchLayer(context, image, work, upgrade, labels, signal);
  if (!patched.ok) return patched;
  const seconds = (Date.now() - started) / 1000;
  const how = stacked?.value.kind === 'stacked' ? { stacked: true as const } : {};
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
  return ok(undefined);
}

/** The image made by stacking, kept for the next respin as a built one is. */
function recorded(context: ImageStepContext, imageId: string): string {
  context.packageRecorder?.record(imageId);
  return imageId;
}

/** One layer on `upgrade.from` upgrading exactly `upgrade.packages`, built by the engine like any image. */
async function patchLayer(
  context: ImageStepContext,
  image: PlannedImage,
  work: PatchWork,
  upgrade: { from: string; packages: PatchWork['packages'] },
  labels: Record<string, string>,
  signal: AbortSignal,
): Promise<Result<string, EngineFailure>> {
  const { patching } = context;
  if (patching === undefined) throw new Error(`internal: ${image.name} is to be patched on a run that cannot patch`);
  const dockerfile = patchDockerfile({
    from: upgrade.from,
    user: work.user,
    setup: patching.setup,
    restore: patching.restore,
    packages: upgrade.packages,
    nativeArchitecture: work.nativeArchitecture,
  });
  // The version label is read again by buildInEngine: the patch may have upgraded the service's very package.
  const { name, reference } = image;
  const patch = { name, reference, dockerfile, contextFiles: [], emptyDirs: [], labels, noCache: false };
  return buildInEngine(context, patch, signal);
}
