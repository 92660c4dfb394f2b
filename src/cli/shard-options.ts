import { InvalidArgumentError, Option, type Command, type OptionValues } from '@commander-js/extra-typings';
import type { Catalog } from '../catalog/types.js';
import type { LoadedConfig } from '../config/load.js';
import { RUNS_DIR, type ShardRequest } from '../run/build-runs.js';
import { planShards } from '../shard/plan-shards.js';
import { ownersOfPartition, parseShardLabel, readShardPlanFile, type ShardChoice } from '../shard/shard-plan-file.js';
import { UsageError } from '../util/errors.js';
import { parsePositiveInteger } from './options.js';

function parseShard(value: string): ShardChoice {
  const choice = parseShardLabel(value);
  if (choice === undefined) throw new InvalidArgumentError('expected k/n with 1 <= k <= n, e.g. 2/3');
  return choice;
}

/** --shard, --shard-plan and --shard-wait, for build and pipeline. */
export function withShardOptions<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(
  command: Command<Args, Opts, Globals>,
) {
  return command
    .addOption(
      new Option(
        '--shard <k/n>',
        'build only shard k of n of the selection (CI matrices); parents from earlier shards come from the registry',
      ).argParser(parseShard),
    )
    .addOption(new Option('--shard-plan <file>', 'the output of shard plan --json, so every shard uses one partition'))
    .addOption(
      new Option(
        '--shard-wait <seconds>',
        "how long to wait for another shard's parent in the registry (config shard_wait, default 3600)",
      ).argParser(parsePositiveInteger),
    );
}

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
