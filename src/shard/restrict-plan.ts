import type { Plan, PlannedImage } from '../plan/plan.js';
import { UsageError } from '../util/errors.js';
import { shardLabel, type ShardChoice, type ShardOwners } from './shard-plan-file.js';

/** A parent another shard builds, which this shard's run takes from the registry. */
export interface ParentFromShard {
  image: PlannedImage;
  /** `j/n`, the shard that builds it. */
  builtBy: string;
}

export interface ShardOfPlan {
  /** The plan with only this shard's images to build. */
  plan: Plan;
  /** The parents of those images that other shards build. */
  fromOtherShards: ParentFromShard[];
}

/**
 * Pure: the part of the plan one shard builds. Every planned image must have an owner, and a parent's
 * owner must not come after its child's (a shard would wait for a later one, which runs after it).
 */
export function restrictPlanToShard(plan: Plan, choice: ShardChoice, owners: ShardOwners, source: string): ShardOfPlan {
  const ownerOf = (image: PlannedImage): number => {
    const owner = owners.ownerOf.get(image.name);
    if (owner === undefined) {
      throw new UsageError(`${source}: ${image.name} is in no shard (the plan was made for another selection)`);
    }
    return owner;
  };
  const byName = new Map(plan.images.map((image) => [image.name, image]));
  const own = plan.images.filter((image) => ownerOf(image) === choice.index);
  const fromOtherShards: ParentFromShard[] = [];
  for (const image of own) {
    const parent = image.parent === null ? undefined : byName.get(image.parent);
    if (parent === undefined) continue;
    const parentOwner = ownerOf(parent);
    if (parentOwner > choice.index) {
      throw new UsageError(
        `${source}: ${image.name} is in shard ${choice.index} but its parent ${parent.name} in the later shard ` +
          `${parentOwner}: a parent's shard must come first`,
      );
    }
    if (parentOwner !== choice.index && !fromOtherShards.some((entry) => entry.image.name === parent.name)) {
      fromOtherShards.push({ image: parent, builtBy: shardLabel({ index: parentOwner, count: choice.count }) });
    }
  }
  return { plan: { ...plan, images: own }, fromOtherShards };
}
