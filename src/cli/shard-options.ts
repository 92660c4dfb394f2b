import { InvalidArgumentError, Option, type Command, type OptionValues } from '@commander-js/extra-typings';
import { parseShardLabel, type ShardChoice } from '../app/shard.js';
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
