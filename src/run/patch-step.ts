import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineFailure } from '../engine/types.js';
import type { PlannedImage } from '../plan/plan.js';
import { writeBuildContext } from '../render/context.js';
import {
  describePatched,
  PATCH_LAYERS_LABEL,
  PATCHED_FROM_LABEL,
  PATCHED_PACKAGES_LABEL,
  patchDockerfile,
} from '../respin/patch-layer.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { fail, ok, type Result } from '../util/result.js';
import { logTo } from './image-log.js';
import type { ImageStepContext } from './image-step-context.js';
import type { PatchWork } from './image-work.js';
import { addVersionLabel } from './version-label.js';

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
  const { engine, events, patching } = context;
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
  const contextDir = join(context.contextRoot, image.name);
  await rm(contextDir, { recursive: true, force: true });
  await writeBuildContext(contextDir, dockerfile, [], []);
  await writeFileAtomic(join(context.runDir, 'dockerfiles', image.name, 'Dockerfile'), dockerfile);
  const built = await engine.build({
    contextDir,
    reference: image.reference,
    labels: {
      ...image.labels,
      [PATCHED_FROM_LABEL]: work.imageId,
      [PATCHED_PACKAGES_LABEL]: describePatched(work.packages),
      [PATCH_LAYERS_LABEL]: String(work.patchLayers + 1),
    },
    signal,
    onLine: logTo(events, image.name),
  });
  if (!built.ok) return fail(built.failure);
  // The service's version is read again: the patch may have upgraded its very package.
  const labelled = await addVersionLabel(engine, image.reference, built.value, signal, logTo(events, image.name));
  if (!labelled.ok) return labelled;
  const seconds = (Date.now() - started) / 1000;
  const imageId = labelled.value.id;
  events.emit({ type: 'image', reason: 'patched', name: image.name, imageId, seconds, packages: work.packages.length });
  return ok(undefined);
}
