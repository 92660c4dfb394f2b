import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineFailure } from '../engine/types.js';
import { writeBuildContext, type ContextFile } from '../render/context.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { ok, type Result } from '../util/result.js';
import type { BuildSteps } from '../report/events.js';
import { StepClock } from '../util/step-clock.js';
import { logTo } from './image-log.js';
import type { ImageStepContext } from './image-step-context.js';
import { builtImagePackages, type ImagePackages } from '../respin/image-packages.js';
import { addVersionLabel, VERSION_PACKAGE_LABEL } from './version-label.js';

/** What the engine builds for one image: a full build's Dockerfile and context, or a patch layer's. */
export interface EngineBuild {
  name: string;
  reference: string;
  dockerfile: string;
  contextFiles: readonly ContextFile[];
  emptyDirs: readonly string[];
  labels: Record<string, string>;
  noCache: boolean;
  /** The version label is among `labels` already (a patch knows the version it installs): not read from the image. */
  versionLabelled?: boolean;
}

/** The image the engine made, and the seconds each step took. */
export interface BuiltInEngine {
  id: string;
  steps: BuildSteps;
}

/**
 * Writes the build context (and the Dockerfile into the run folder), has the engine build it and labels the
 * service's version; the image id and the time of each step, or the engine's failure. Its lines go to the
 * image's log. The image's packages are then kept for the next respin, where the run has a recorder.
 */
export async function buildInEngine(
  context: ImageStepContext,
  build: EngineBuild,
  signal: AbortSignal,
): Promise<Result<BuiltInEngine, EngineFailure>> {
  const { engine, events } = context;
  const clock = new StepClock();
  const contextDir = join(context.contextRoot, build.name);
  await rm(contextDir, { recursive: true, force: true });
  await writeBuildContext(contextDir, build.dockerfile, build.contextFiles, build.emptyDirs);
  await writeFileAtomic(join(context.runDir, 'dockerfiles', build.name, 'Dockerfile'), build.dockerfile);
  const written = clock.lap();
  const built = await engine.build({
    contextDir,
    reference: build.reference,
    labels: build.labels,
    signal,
    onLine: logTo(events, build.name),
    ...(build.noCache ? { noCache: true } : {}),
  });
  if (!built.ok) return built;
  const engineSeconds = clock.lap();
  const labelNeeded = !build.versionLabelled && built.value.labels[VERSION_PACKAGE_LABEL] !== undefined;
  const packages = labelNeeded || context.packageRecorder ? await builtPackages(context, built.value.id) : undefined;
  const labelled = labelNeeded
    ? await addVersionLabel(
        engine,
        build.reference,
        built.value,
        signal,
        logTo(events, build.name),
        packages?.installed,
      )
    : built;
  if (!labelled.ok) return labelled;
  const steps = { context: written, engine: engineSeconds, version_label: clock.lap() };
  // The label build changed no file: the packages read from the unlabelled image are the labelled one's.
  if (packages !== undefined) context.packageRecorder?.keep(labelled.value.id, packages);
  else context.packageRecorder?.record(labelled.value.id);
  return ok({ id: labelled.value.id, steps });
}

/**
 * The packages of the image just built, read once where the engine mounts images (buildah, podman) or copies
 * files out of them (docker): its service's version for the label and what the next respin keeps, with no
 * container run to ask dpkg. Undefined where the read fails: each then reads as it would alone.
 */
async function builtPackages(context: ImageStepContext, imageId: string): Promise<ImagePackages | undefined> {
  const packages = await builtImagePackages(context.engine, imageId);
  return packages.ok ? packages.value : undefined;
}
