import type { ComposedFolders, EngineFailure, StackedLayers, StackSteps } from '../engine/types.js';
import type { PatchSteps } from '../report/events.js';
import type { PatchInputs, PlannedImage } from '../plan/plan.js';
import { packagesUnderRoot, type ImagePackages } from '../respin/image-packages.js';
import { mergeOntoPatchedParent } from '../respin/onto-patched-parent.js';
import { patchScript } from '../respin/patch-layer.js';
import { errorMessage } from '../util/errors.js';
import { fail, ok, type Result } from '../util/result.js';
import { StepClock } from '../util/step-clock.js';
import type { ImageStepContext } from './image-step-context.js';
import { mountFolders } from '../engine/store-composition.js';
import { composeAtRegistry } from './compose-step.js';
import { logTo } from './image-log.js';
import { canStack, type OntoPatchedParent, type PatchWork } from './image-work.js';

/**
 * The image made by stacking (with its packages as read before its commit, where the run keeps them), or why it
 * could not be stacked.
 */
export type StackOutcome =
  | { kind: 'stacked'; imageId: string; steps: PatchSteps; packages?: Result<ImagePackages, string> }
  /** Composed at the registry (compose-step.ts): not in the engine's store; pushed there unless the gate held it. */
  | { kind: 'composed'; imageId: string; steps: PatchSteps; pushed: boolean; packages?: Result<ImagePackages, string> }
  | { kind: 'refused'; why: string };

/**
 * The child's own layers put onto its patched parent (the engine carries them as they are, the respin merges the
 * package managers' state over them), then the packages only the child holds that moved upgraded in the same
 * last layer: in place of a patch layer upgrading again, in every child, what the parent's patch upgraded.
 * `labels` are the patched image's. Refused (by the engine or the merge) leaves nothing behind. The parents'
 * mounts are the run's (shared-mounts.ts): siblings read the same two.
 */
export async function stackOntoPatchedParent(
  context: ImageStepContext,
  patching: PatchInputs,
  image: PlannedImage,
  work: PatchWork,
  onto: OntoPatchedParent,
  labels: Record<string, string>,
  signal: AbortSignal,
): Promise<Result<StackOutcome, EngineFailure>> {
  const { engine } = context;
  if (!canStack(engine)) return ok({ kind: 'refused', why: `${engine.name} cannot stack layers` });
  if (parentHeld(context, image)) return ok({ kind: 'refused', why: PARENT_HELD });
  // The parents' mounts are the stack's first step: timed, so the image's log accounts for the whole stack.
  const clock = new StepClock();
  const parents = await mountParents(context, image, onto);
  if (!parents.ok) return ok({ kind: 'refused', why: parents.failure });
  const { before, after } = parents.value;
  const log = logTo(context.events, image.name);
  const parentsMounted = clock.lap();
  log(`parents mounted in ${parentsMounted.toFixed(1)} s`);
  // Read from the working container's root: reading the committed image would mount it once more.
  let packages: Result<ImagePackages, string> | undefined;
  const read = context.packageRecorder && {
    // A read that fails is not the stack's failure: the recorder reads the image itself and says why not.
    read: async (root: string) => {
      packages = await packagesUnderRoot(root, image.name).catch((error: unknown) => fail(errorMessage(error)));
    },
  };
  const parts = {
    labels,
    edit: (root: string, layers: StackedLayers) =>
      mergeOntoPatchedParent(root, layers, { before, after }, context.layerChanges),
    ...ownUpgrade(patching, work, onto),
    ...read,
    onLine: log,
  };
  const composition = context.composition;
  if (composition !== undefined && !composition.inStore.has(image.name)) {
    const composed = await composeAtRegistry(context, composition, image, work, onto, parts, signal);
    if (!composed.ok) return composed;
    if (composed.value.kind === 'composed') {
      const { imageId, steps, pushed, manifestDigest } = composed.value;
      const where = pushed ? 'at the registry' : 'and held by the gate, not pushed,';
      log(`composed ${where} as ${manifestDigest}: ${describeSteps(steps)}`);
      const allSteps = { parents_mounted: parentsMounted, ...steps };
      return ok({ kind: 'composed', imageId, steps: allSteps, pushed, ...(packages ? { packages } : {}) });
    }
    log(`stacked in the store, not composed at the registry: ${composed.value.why}`);
    packages = undefined;
  }
  if (composedParent(context, image) !== undefined) {
    // Stacked in the store onto a parent composed at the registry: the parent is pulled into the store first.
    const pulled = await pullComposedParent(context, onto.parentReference, log, signal);
    if (!pulled.ok) return ok({ kind: 'refused', why: `its parent cannot be pulled: ${pulled.failure.message}` });
  }
  const stacked = await engine.stackOwnLayers({
    image: work.imageId,
    below: onto.parentBefore,
    onto: onto.parentReference,
    reference: image.reference,
    ...parts,
    signal,
  });
  if (!stacked.ok) return stacked;
  if (stacked.value.kind === 'refused') return ok(stacked.value);
  const engineSteps: EngineStepsReported = stacked.value.steps;
  const steps: PatchSteps = { parents_mounted: parentsMounted, ...engineSteps };
  return ok({ kind: 'stacked', imageId: stacked.value.image.id, steps, ...(packages ? { packages } : {}) });
}

/**
 * The image's parent before and after its patch, mounted for the merge: from the store, or (a parent composed at
 * the registry, not in the store) its folders. The mounts are the run's (shared-mounts.ts).
 */
async function mountParents(
  context: ImageStepContext,
  image: PlannedImage,
  onto: OntoPatchedParent,
): Promise<Result<{ before: string; after: string }, string>> {
  const composed = composedParent(context, image);
  const scratchRoot = context.composition?.scratchRoot;
  const folderMount =
    composed && scratchRoot !== undefined ? () => mountFolders(composed.lowers, scratchRoot) : undefined;
  const roots: string[] = [];
  for (const reference of [onto.parentBefore, onto.parentReference]) {
    const mounter = reference === onto.parentReference ? folderMount : undefined;
    const mounted = await context.parentMounts.mount(context.engine, reference, mounter);
    // Not held here (a builder of a spread run may lack the earlier parent): the patch on its own self does.
    if (!mounted.ok) return fail(`${reference} cannot be mounted: ${mounted.failure.message}`);
    roots.push(mounted.value.root);
  }
  const [before, after] = roots;
  if (before === undefined || after === undefined) throw new Error('internal: both parents are mounted');
  return ok({ before, after });
}

/** The folders of the image's parent where the run composed it at the registry (it is not in the store). */
function composedParent(context: ImageStepContext, image: PlannedImage): ComposedFolders | undefined {
  return image.parent === null ? undefined : context.composition?.composed.get(image.parent);
}

const PARENT_HELD = "its patched parent was composed and held by the run's gate: it is in neither store nor registry";

/** Whether the image's parent was composed at the registry and held there by the run's gate. */
function parentHeld(context: ImageStepContext, image: PlannedImage): boolean {
  return image.parent !== null && context.composition?.held.has(image.parent) === true;
}

/** Compiles only while every step the engine times has its key among the summary's (PatchSteps). */
type EngineStepsReported = keyof StackSteps extends keyof PatchSteps ? StackSteps : never;

/** The patch's script for the packages only the child holds that moved, run in the stacked image; none if none. */
function ownUpgrade(patching: PatchInputs, work: PatchWork, onto: OntoPatchedParent): { run?: string[] } {
  if (onto.ownPackages.length === 0) return {};
  const { setup, restore } = patching;
  const script = patchScript({
    setup,
    restore,
    packages: onto.ownPackages,
    nativeArchitecture: work.nativeArchitecture,
    // Told to share them only where composed (compose-step.ts); stacked in the store, it updates as before.
    sharedLists: true,
  });
  return { run: ['sh', '-c', script] };
}

/** A parent composed at the registry into the engine's store, with the run's login. */
async function pullComposedParent(
  context: ImageStepContext,
  reference: string,
  log: (line: string) => void,
  signal: AbortSignal,
): Promise<Result<void, EngineFailure>> {
  const composition = context.composition;
  if (composition === undefined) return ok(undefined);
  const exists = await context.engine.exists(reference);
  if (exists.ok && exists.value) return ok(undefined);
  log(`pulling ${reference}: composed at the registry, and this image is stacked in the store`);
  const authFile = composition.authFile ? { authFile: composition.authFile } : {};
  const { insecure } = composition.access;
  const pulled = await context.engine.pull({ reference, insecure, onLine: log, signal, ...authFile });
  return pulled.ok ? ok(undefined) : pulled;
}

/** A composition's seconds by step, for its log line. */
function describeSteps(steps: PatchSteps): string {
  return Object.entries(steps)
    .map(([step, seconds]) => `${step.replace('_', ' ')} ${seconds.toFixed(1)} s`)
    .join(', ');
}
