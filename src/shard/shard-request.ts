import type { Catalog } from '../catalog/types.js';
import type { LoadedConfig } from '../config/load.js';
import { UsageError } from '../util/errors.js';
import { RUNS_DIR } from '../util/runs-dir.js';
import { planShards } from './plan-shards.js';
import { ownersOfPartition, readShardPlanFile, type ShardChoice, type ShardOwners } from './shard-plan-file.js';

/** The shard a run builds: which one, who owns every image, and how long to wait for other shards' parents. */
export interface ShardRequest {
  choice: ShardChoice;
  owners: ShardOwners;
  /** Where the owners come from (the plan file, or the partition made here), as errors name it. */
  source: string;
  waitMs: number;
}

/** --shard, --shard-plan and --shard-wait as parsed. */
export interface ShardFlags {
  shard?: ShardChoice;
  shardPlan?: string;
  shardWait?: number;
}

export interface ShardContext {
  loaded: LoadedConfig;
  catalog: Catalog;
  distros: readonly string[];
  regexes: readonly string[] | null;
  push: boolean;
  skipParents: boolean;
  /** The flag that gives every shard the one tag (--tag, --timestamp), when it was given. */
  oneTag: { flag: string; given: boolean };
}

/** The shard a build or pipeline runs, or undefined; one clear line for any flag that does not fit. */
export function shardRequest(flags: ShardFlags, context: ShardContext): ShardRequest | undefined {
  const { shard } = flags;
  if (shard === undefined) {
    if (flags.shardPlan !== undefined || flags.shardWait !== undefined)
      throw new UsageError('--shard-plan and --shard-wait go with --shard k/n');
    return undefined;
  }
  const { config } = context.loaded;
  const [distro] = context.distros;
  if (distro === undefined || context.distros.length !== 1)
    throw new UsageError('--shard: give a single --distro (each distro is sharded on its own)');
  if (!context.push || config.registry === '')
    throw new UsageError('--shard needs --push and a registry: shards hand their images to each other through it');
  if (!context.oneTag.given)
    throw new UsageError(`--shard needs ${context.oneTag.flag}: every shard of a run must build under the one tag`);
  if (context.skipParents)
    throw new UsageError('--shard and --skip-parents do not go together: a skipped parent exists on one builder only');
  const waitMs = (flags.shardWait ?? config.shard_wait) * 1000;
  if (flags.shardPlan !== undefined) {
    const owners = readShardPlanFile(flags.shardPlan);
    if (owners.count !== shard.count)
      throw new UsageError(
        `--shard ${shard.index}/${shard.count}: --shard-plan ${flags.shardPlan} has ${owners.count} shards`,
      );
    if (owners.distro !== undefined && owners.distro !== distro)
      throw new UsageError(`--shard-plan ${flags.shardPlan} is for distro ${owners.distro}, not ${distro}`);
    return { choice: shard, owners, source: `--shard-plan ${flags.shardPlan}`, waitMs };
  }
  const partition = planShards({
    catalog: context.catalog,
    distro,
    regexes: context.regexes,
    unbuildable: config.distros[distro]?.unbuildable ?? [],
    shards: shard.count,
    durationsFrom: [],
    runsRoot: RUNS_DIR,
  });
  return { choice: shard, owners: ownersOfPartition(partition), source: 'the partition made here', waitMs };
}
