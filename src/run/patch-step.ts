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
  const dockerfile = patchDockerfile({
    from: work.imageId,
    user: work.user,
    setup: patching.setup,
    restore: patching.restore,
    packages: work.packages,
    nativeArchitecture: work.nativeArchitecture,
  });
  const labels = {
    ...image.labels,
    [PATCHED_FROM_LABEL]: work.imageId,
    [PATCHED_PACKAGES_LABEL]: describePatched(work.packages),
    [PATCH_LAYERS_LABEL]: String(work.patchLayers + 1),
  };
  // The version label is read again by buildInEngine: the patch may have upgraded the service's very package.
  const { name, reference } = image;
  const patch = { name, reference, dockerfile, contextFiles: [], emptyDirs: [], labels, noCache: false };
  const built = await buildInEngine(context, patch, signal);
  if (!built.ok) return built;
  const imageId = built.value;
  const seconds = (Date.now() - started) / 1000;
  events.emit({ type: 'image', reason: 'patched', name: image.name, imageId, seconds, packages: work.packages.length });
  return ok(undefined);
}
