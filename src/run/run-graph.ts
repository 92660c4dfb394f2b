import type { BaseImage } from '../bootstrap/base-image.js';
import type { EngineFailureKind } from '../engine/types.js';
import type { Plan, PlannedImage } from '../plan/plan.js';
import type { BuildFailureStatus, PushFailureStatus } from '../report/events.js';
import type { DagNode } from '../schedule/dag.js';
import type { ParentFromShard } from '../shard/restrict-plan.js';
import type { RunImageWork } from './image-work.js';

/** The work of one run, as the scheduler's nodes: the distro's base image, and each image. */
export type RunNode =
  | (DagNode & { kind: 'base-image'; base: BaseImage })
  /**
   * `build` makes the image as `planned` says (reuse, respin, full build), or as its step finds when the run
   * decided nothing ahead; `tag-existing` only tags a --skip-parents parent's existing image.
   */
  | (DagNode & { kind: 'image'; image: PlannedImage; work: 'build' | 'tag-existing'; planned?: RunImageWork })
  /** `from-shard`: a parent another shard builds, waited for in the registry and pulled. */
  | (DagNode & { kind: 'image'; image: PlannedImage; work: 'from-shard'; builtBy: string });

/**
 * Pure: the plan as a graph. An image waits for its parent; a root image built FROM the base
 * image waits for the base-image node, which exists only when some image needs it. The base
 * image's id is its reference, which no image name can be. With the work decided ahead, only a
 * full build needs the base image, and a respin (patched or reused from its own earlier image)
 * needs neither its parent nor the base image, unless its patch stacks onto its patched parent.
 */
export function runGraph(
  plan: Plan,
  fromOtherShards: readonly ParentFromShard[] = [],
  planned?: ReadonlyMap<string, RunImageWork>,
): RunNode[] {
  const images = [...plan.skippedParents, ...plan.images];
  const names = new Set([...images, ...fromOtherShards.map((entry) => entry.image)].map((image) => image.name));
  const skipped = new Set(plan.skippedParents.map((image) => image.name));
  const baseId = plan.baseImage.reference;
  const nodes: RunNode[] = images.map((image) => {
    const work = skipped.has(image.name) ? 'tag-existing' : 'build';
    const decided = work === 'build' ? planned?.get(image.name) : undefined;
    // Tagging an existing image needs no base image.
    const needsBase = work === 'build' && image.fromBaseImage && (decided === undefined || decided.kind === 'build');
    // A patch stacking the image's own layers onto its patched parent waits for that parent, as a build does.
    const ownEarlierImage =
      (decided?.kind === 'patch' && decided.onto === undefined) || decided?.kind === 'respin-reuse';
    const needsParent = image.parent !== null && names.has(image.parent) && !ownEarlierImage;
    const dependsOn = needsParent && image.parent !== null ? [image.parent] : needsBase ? [baseId] : [];
    return { kind: 'image', id: image.name, dependsOn, image, work, ...(decided ? { planned: decided } : {}) };
  });
  for (const { image, builtBy } of fromOtherShards) {
    nodes.push({ kind: 'image', id: image.name, dependsOn: [], image, work: 'from-shard', builtBy });
  }
  if (nodes.some((node) => node.dependsOn.includes(baseId))) {
    nodes.push({ kind: 'base-image', id: baseId, dependsOn: [], base: plan.baseImage });
  }
  return nodes;
}

/** The summary status of an image whose own work failed this way. */
export function buildFailureStatus(kind: EngineFailureKind): BuildFailureStatus {
  return failureStatus(kind, 'error');
}

/** The summary status of an image whose push failed this way. */
export function pushFailureStatus(kind: EngineFailureKind): PushFailureStatus {
  return failureStatus(kind, 'push_error');
}

/** An unreachable engine or registry and an interrupt say so; any other failure is the step's own. */
function failureStatus<S extends 'error' | 'push_error'>(
  kind: EngineFailureKind,
  own: S,
): S | 'connection_error' | 'interrupted' {
  switch (kind) {
    case 'connection':
      return 'connection_error';
    case 'interrupted':
      return 'interrupted';
    case 'build':
    case 'push':
    case 'not-found':
    case 'engine':
      return own;
    default: {
      const never: never = kind;
      return never;
    }
  }
}
