import { chosenRegexes } from '../catalog/sets.js';
import { chosenDistros } from '../config/distros.js';
import { planShards } from '../shard/plan-shards.js';
import { shardPlanDocument, type ShardPlanDocument } from '../shard/shard-plan-file.js';
import { UsageError } from '../util/errors.js';
import { RUNS_DIR } from '../util/runs-dir.js';
import type { Workspace } from './workspace.js';

export { BALANCE_GOAL } from '../shard/partition.js';
export { parseShardLabel, type ShardChoice, type ShardPlanDocument } from '../shard/shard-plan-file.js';

/** `shard plan`: the selected images of one distro split into shards for a CI matrix. */
export interface ShardPlanRequest {
  workspace: Workspace;
  regexes: readonly string[];
  sets: readonly string[];
  distros?: readonly string[];
  skipParents?: boolean;
  shards: number;
  /** Run folders or summaries to weigh images by; default the distro's runs. */
  durationsFrom: readonly string[];
}

export function planShardsOf(request: ShardPlanRequest): ShardPlanDocument {
  const { loaded, catalog } = request.workspace;
  const distros = chosenDistros(loaded.config, request.distros);
  const [distro] = distros;
  if (distro === undefined || distros.length !== 1)
    throw new UsageError('shard plan: give a single --distro (each distro is sharded on its own)');
  if (request.skipParents)
    throw new UsageError('shard plan: --skip-parents does not go with shards (a skipped parent is on one builder)');
  const partition = planShards({
    catalog,
    distro,
    regexes: chosenRegexes(loaded.config.sets, request.regexes, request.sets),
    unbuildable: loaded.config.distros[distro]?.unbuildable ?? [],
    shards: request.shards,
    durationsFrom: request.durationsFrom,
    runsRoot: RUNS_DIR,
  });
  return shardPlanDocument(distro, partition);
}
