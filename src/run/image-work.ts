import type { Engine, EngineFailure, ImageInfo } from '../engine/types.js';
import {
  INPUT_DIGEST_LABEL,
  RECIPE_DIGEST_LABEL,
  SNAPSHOT_SET_LABEL,
  type Plan,
  type PlannedImage,
} from '../plan/plan.js';
import type { ImageWork, RebuildReason } from '../report/events.js';
import { movedPackages, type MovedPackage } from '../respin/apt-policy.js';
import { readImagePackages, type ImagePackages } from '../respin/image-packages.js';
import { PATCH_LAYERS_LABEL } from '../respin/patch-layer.js';
import { readSnapshotIndexes, SnapshotIndexError, type SnapshotIndexes } from '../respin/snapshot-indexes.js';
import { errorMessage } from '../util/errors.js';
import { Limiter } from '../util/limiter.js';
import { ok, type Result } from '../util/result.js';
import { cheaperRebuilt, type HeldPackages } from './cheaper-rebuilt.js';
import type { RecordedImages } from './recorded-images.js';
import type { RunSettings } from './settings.js';

/** A patch, with what the patch layer needs of the earlier image beside what the events show. */
export type PatchWork = Extract<ImageWork, { kind: 'patch' }> & {
  /** Patch layers the earlier image carries already. */
  patchLayers: number;
  /** The user it runs as: the patch switches to root and back. */
  user: string;
  /** Its labels: the version label of the patched image follows the service's package they name. */
  labels: Record<string, string>;
  nativeArchitecture: string;
  /** Set when the parent is patched too: the child's own layer may be put onto the patched parent instead. */
  onto?: OntoPatchedParent;
};

/** A child's own layer onto its parent's patched self, then only the child's own moved packages upgraded. */
export interface OntoPatchedParent {
  /** The parent the earlier image was built on. */
  parentBefore: string;
  /** Where this run puts the patched parent. */
  parentReference: string;
  /** The moved packages the parent does not hold: the patch on the patched parent upgrades none of them. */
  ownPackages: MovedPackage[];
}

/** How each image of the run is made, decided before any is built. */
export type RunImageWork = Exclude<ImageWork, { kind: 'patch' }> | PatchWork;

export interface WorkContext {
  engine: Engine;
  settings: RunSettings;
  recordedImages?: RecordedImages;
  /**
   * Pulls an image an earlier run composed at the registry (so never in the engine's store) from where it was
   * pushed; whether the engine then holds it under its id. Absent where the run has no registry login.
   */
  pullRecorded?: (reference: string, imageId: string, name: string) => Promise<boolean>;
  /** Where the packages read from earlier images are kept, by image id. */
  respinCacheDir: string;
  signal: AbortSignal;
}

/**
 * An earlier image the respin may reuse or patch, with what was read of it: one of the same recipe whose
 * snapshots moved, or (`refresh`) the very image of this input digest, asked about its mirrors' current indexes.
 */
interface Candidate {
  image: PlannedImage;
  earlier: ImageInfo;
  packages: ImagePackages;
  refresh: boolean;
}

type Decided = { decided: RunImageWork } | { candidate: Candidate };

/**
 * The work of each image: reuse when its input digest was built before; when only its snapshots moved (its
 * recipe was built before), reuse that image if none of its packages moved, else patch it; otherwise a full
 * build, saying why. The earlier images are found through the runs' summaries (recordedImages): a recipe is
 * not searched for in the engine, whose search reads every image it holds.
 */
export async function planImageWork(
  context: WorkContext,
  plan: Plan,
  images: readonly PlannedImage[],
): Promise<Map<string, RunImageWork>> {
  const limiter = new Limiter(context.settings.threads);
  const first = await Promise.all(images.map((image) => limiter.add(() => firstLook(context, plan, image))));
  const work = new Map<string, RunImageWork>();
  const candidates: Candidate[] = [];
  for (const [index, looked] of first.entries()) {
    const image = images[index];
    if (image === undefined) continue;
    if ('decided' in looked) work.set(image.name, looked.decided);
    else candidates.push(looked.candidate);
  }
  if (candidates.length > 0 && plan.patching !== undefined) {
    const indexes = await snapshotIndexes(context, plan, candidates);
    for (const candidate of candidates) {
      work.set(
        candidate.image.name,
        indexes.ok
          ? respinWork(candidate, indexes.value, context.settings.respin.maxPatchLayers)
          : build({ kind: 'unreadable', message: indexes.failure }),
      );
    }
  }
  const rebuilt = rebuildUnderRebuiltParents(images, work);
  const held = heldPackages(candidates);
  const stacked = canStack(context.engine) ? ontoPatchedParents(images, rebuilt, held) : rebuilt;
  for (const [name, why] of cheaperRebuilt(images, stacked, held)) stacked.set(name, build(why));
  return rebuildUnderRebuiltParents(images, stacked);
}

/** Whether the engine can put an image's own layers onto another image (it reads the parents through mounts). */
export function canStack(engine: Engine): engine is Engine & Required<Pick<Engine, 'stackOwnLayers' | 'mountImage'>> {
  return engine.stackOwnLayers !== undefined && engine.mountImage !== undefined;
}

/** The packages each candidate's earlier image holds, by name:architecture. */
function heldPackages(candidates: readonly Candidate[]): HeldPackages {
  return new Map(
    candidates.map((candidate) => [candidate.image.name, new Set(candidate.packages.installed.map(packageKey))]),
  );
}

const packageKey = (entry: { name: string; architecture: string }) => `${entry.name}:${entry.architecture}`;

/**
 * On an engine that stacks, a patched child of a patched parent may have its own layer put onto the patched
 * parent (and then only its own moved packages upgraded), when what moved of its parent's packages moved to the
 * very versions the parent's patch installs: the child's pins decide those packages as the parent's do.
 */
function ontoPatchedParents(
  images: readonly PlannedImage[],
  work: Map<string, RunImageWork>,
  heldBy: HeldPackages,
): Map<string, RunImageWork> {
  const references = new Map(images.map((image) => [image.name, image.reference]));
  for (const image of images) {
    const own = work.get(image.name);
    const parent = image.parent === null ? undefined : work.get(image.parent);
    const held = image.parent === null ? undefined : heldBy.get(image.parent);
    const parentReference = image.parent === null ? undefined : references.get(image.parent);
    if (own?.kind !== 'patch' || parent?.kind !== 'patch' || !held || !parentReference) continue;
    const describe = (packages: readonly MovedPackage[]) =>
      packages
        .map((entry) => `${packageKey(entry)}=${entry.to}`)
        .sort()
        .join(' ');
    const ofParent = own.packages.filter((entry) => held.has(packageKey(entry)));
    if (describe(ofParent) !== describe(parent.packages)) continue;
    const ownPackages = own.packages.filter((entry) => !held.has(packageKey(entry)));
    work.set(image.name, { ...own, onto: { parentBefore: parent.imageId, parentReference, ownPackages } });
  }
  return work;
}

/**
 * A child whose parent is rebuilt is rebuilt too, never patched or reused from its earlier self: that one sits
 * on the old parent's layers, so it would share none with the new parent (a registry stores and a host pulls
 * both in full) and keep whatever the old parent held that the new one does not. Parents come first in `images`.
 */
function rebuildUnderRebuiltParents(
  images: readonly PlannedImage[],
  work: Map<string, RunImageWork>,
): Map<string, RunImageWork> {
  for (const image of images) {
    const own = work.get(image.name);
    const parent = image.parent === null ? undefined : work.get(image.parent);
    if (image.parent === null || own === undefined || parent?.kind !== 'build') continue;
    if (own.kind === 'patch' || own.kind === 'respin-reuse')
      work.set(image.name, build({ kind: 'parent-rebuilt', parent: image.parent }));
  }
  return work;
}

const build = (why: RebuildReason): RunImageWork => ({ kind: 'build', why });

/**
 * Everything that can be decided image by image: reuse, a full build and why, or a respin candidate. An image
 * whose recipe a run recorded is decided from that image without the engine's search by label: that search reads
 * every image the engine holds (0.6 s per image of the run with 600 held), more than the rest of a respin's
 * decision. The engine is searched only when the runs recorded neither this input digest nor a recipe the run
 * may patch (an rpm distro's, or any under --full, is rebuilt unless the engine holds this very digest).
 */
async function firstLook(context: WorkContext, plan: Plan, image: PlannedImage): Promise<Decided> {
  const { settings } = context;
  if (settings.noCache) return { decided: build({ kind: 'no-cache' }) };
  const recorded = await recordedBuilt(context, image);
  if (recorded !== undefined) return lookAtBuilt(context, plan, image, recorded.id, recorded);
  const earlier = await recordedRecipe(context, image);
  if (earlier !== undefined && settings.respin.mode !== 'full' && plan.patching !== undefined)
    return respinLook(context, image, earlier, false);
  // An engine that cannot be asked here fails the image's own build, where its failure is reported.
  const searched = await context.engine.findByLabel(INPUT_DIGEST_LABEL, image.inputDigest);
  if (searched.ok && searched.value !== undefined) return lookAtBuilt(context, plan, image, searched.value);
  if (earlier === undefined) return { decided: build({ kind: 'new-recipe' }) };
  return { decided: build({ kind: settings.respin.mode === 'full' ? 'full' : 'rpm' }) };
}

/**
 * The engine holds an image of this very input digest: reused, unless the run asks for a full build or a refresh.
 * `known` is what was read of it already (the recorded image's inspection); else it is inspected when needed.
 */
async function lookAtBuilt(
  context: WorkContext,
  plan: Plan,
  image: PlannedImage,
  imageId: string,
  known?: ImageInfo,
): Promise<Decided> {
  const { engine, settings } = context;
  const reuse = { decided: { kind: 'reuse', imageId } } as const;
  const fullBuild = settings.respin.mode === 'full';
  if (!fullBuild && (!settings.respin.refresh || plan.patching === undefined)) return reuse;
  const info = known !== undefined ? ok(known) : await engine.inspect(imageId);
  if (!info.ok) return reuse;
  // A patch claims the input digest of the full build it stands for; one asked for the full build gets it.
  if (fullBuild) return patchLayersOf(info.value) > 0 ? { decided: build({ kind: 'full' }) } : reuse;
  return respinLook(context, image, info.value, true);
}

/** An earlier image that may be reused or patched, with its packages read. */
async function respinLook(
  context: WorkContext,
  image: PlannedImage,
  earlier: ImageInfo,
  refresh: boolean,
): Promise<Decided> {
  const packages = await readImagePackages(context.engine, earlier.id, context.respinCacheDir);
  if (!packages.ok) return { decided: build({ kind: 'unreadable', message: packages.failure }) };
  switch (packages.value.packageType) {
    case 'rpm':
      return { decided: build({ kind: 'rpm' }) };
    case 'none':
      // Nothing installed by a package manager: nothing can have moved.
      return { decided: unmovedWork(earlier, refresh) };
    case 'deb':
      return { candidate: { image, earlier, packages: packages.value, refresh } };
    default: {
      const never: never = packages.value.packageType;
      return never;
    }
  }
}

const patchLayersOf = (info: ImageInfo) => Number(info.labels[PATCH_LAYERS_LABEL] ?? '0');
const snapshotSetOf = (info: ImageInfo) => info.labels[SNAPSHOT_SET_LABEL] ?? '';

/**
 * An earlier image none of whose packages moved: reused as it is. Asked by --refresh, it is the image of this
 * very input digest; otherwise one of the same recipe at other snapshots, which the summary says apart.
 */
function unmovedWork(earlier: ImageInfo, refresh: boolean): RunImageWork {
  if (refresh) return { kind: 'reuse', imageId: earlier.id };
  return { kind: 'respin-reuse', imageId: earlier.id, snapshotSet: snapshotSetOf(earlier) };
}

function respinWork(candidate: Candidate, indexes: SnapshotIndexes, maxPatchLayers: number): RunImageWork {
  const { earlier, packages } = candidate;
  const moved: MovedPackage[] = movedPackages({
    nativeArchitecture: packages.nativeArchitecture,
    installed: packages.installed,
    available: indexes.versions,
    pins: packages.pins,
  });
  if (moved.length === 0) return unmovedWork(earlier, candidate.refresh);
  // Only an image that needs one more patch is rebuilt for carrying too many: one with no update stays reused.
  const patchLayers = patchLayersOf(earlier);
  if (patchLayers >= maxPatchLayers) return build({ kind: 'patch-layers', count: patchLayers });
  return {
    kind: 'patch',
    imageId: earlier.id,
    snapshotSet: snapshotSetOf(earlier),
    packages: moved,
    patchLayers,
    user: earlier.user,
    labels: earlier.labels,
    nativeArchitecture: packages.nativeArchitecture,
  };
}

/** The new snapshots' indexes for every package the candidates hold, read once for them all. */
async function snapshotIndexes(
  context: WorkContext,
  plan: Plan,
  candidates: readonly Candidate[],
): Promise<Result<SnapshotIndexes, string>> {
  const wanted = new Set(candidates.flatMap((candidate) => candidate.packages.installed.map((entry) => entry.name)));
  const architecture = candidates[0]?.packages.nativeArchitecture ?? 'amd64';
  try {
    return ok(await readSnapshotIndexes(plan.patching?.sources ?? [], architecture, wanted, context.signal));
  } catch (error) {
    if (!(error instanceof SnapshotIndexError) && !context.signal.aborted) throw error;
    return { ok: false, failure: `the snapshots' indexes cannot be read: ${errorMessage(error)}` };
  }
}

/**
 * The engine's image with this input digest, if it holds one: the image an earlier run recorded for it, else
 * whatever the engine's search by label finds.
 */
export async function findBuilt(
  context: Pick<WorkContext, 'engine' | 'recordedImages'>,
  image: Pick<PlannedImage, 'name' | 'inputDigest' | 'recipeDigest'>,
): Promise<Result<string | undefined, EngineFailure>> {
  const recorded = await recordedBuilt(context, image);
  return recorded !== undefined ? ok(recorded.id) : context.engine.findByLabel(INPUT_DIGEST_LABEL, image.inputDigest);
}

/**
 * The image an earlier run recorded for this input digest, if the engine still holds it as that: carrying the
 * digest, or the same recipe when a respin reused or patched it for this digest.
 */
async function recordedBuilt(
  context: Pick<WorkContext, 'engine' | 'recordedImages' | 'pullRecorded'>,
  image: Pick<PlannedImage, 'name' | 'inputDigest' | 'recipeDigest'>,
): Promise<ImageInfo | undefined> {
  const recorded = context.recordedImages?.byInput.get(image.inputDigest);
  if (recorded === undefined) return undefined;
  const info = await inspectRecorded(context, recorded, image.name);
  if (!info.ok) return undefined;
  const { labels } = info.value;
  const same = labels[INPUT_DIGEST_LABEL] === image.inputDigest || labels[RECIPE_DIGEST_LABEL] === image.recipeDigest;
  return same ? info.value : undefined;
}

/**
 * A recorded image as the engine holds it; one an earlier run composed at the registry is pulled first (once:
 * then the engine holds it), as the earlier image of a respin must be in the store to be patched or stacked.
 */
async function inspectRecorded(
  context: Pick<WorkContext, 'engine' | 'recordedImages' | 'pullRecorded'>,
  imageId: string,
  name: string,
): Promise<Result<ImageInfo, EngineFailure>> {
  const info = await context.engine.inspect(imageId);
  const reference = context.recordedImages?.inRegistry?.get(imageId);
  if (info.ok || reference === undefined || context.pullRecorded === undefined) return info;
  return (await context.pullRecorded(reference, imageId, name)) ? context.engine.inspect(imageId) : info;
}

/** The newest image of the same recipe earlier runs recorded that the engine still holds with that recipe. */
async function recordedRecipe(context: WorkContext, image: PlannedImage): Promise<ImageInfo | undefined> {
  for (const recorded of context.recordedImages?.byRecipe.get(image.recipeDigest) ?? []) {
    const info = await inspectRecorded(context, recorded, image.name);
    if (info.ok && info.value.labels[RECIPE_DIGEST_LABEL] === image.recipeDigest) return info.value;
  }
  return undefined;
}
