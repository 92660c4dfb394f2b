import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { BALANCE_GOAL, planShardsOf, type ShardPlanDocument } from '../../app/shard.js';
import { RUNS_DIR } from '../../util/runs-dir.js';
import { collectRepeated, parsePositiveInteger, withImageSelection, type GlobalOptions } from '../options.js';
import { chosenSets, openWorkspace } from '../workspace.js';

export function shardCommand(globals: () => GlobalOptions): CommandUnknownOpts {
  const plan = withImageSelection(
    new Command('plan').description(
      'Split the selected images of one distro into n shards for a CI matrix: each image in one shard, ' +
        'a parent never in a later shard than its child, balanced by the last recorded build times',
    ),
  )
    .requiredOption('--shards <n>', 'how many shards', parsePositiveInteger)
    .option(
      '--durations-from <path>',
      `a run folder or summary.json to weigh images by; repeatable, the newest run wins ` +
        `(default: the runs of the distro under ${RUNS_DIR})`,
      collectRepeated,
    )
    .addHelpText(
      'after',
      [
        '',
        'With --json it prints {"distro", "shards": [{"shard": "1/3", "images": [...], "seconds"}, ...], ...}: give',
        'the file to every job of the matrix as build/pipeline --shard k/n --shard-plan FILE, so all use one',
        'partition. Images without a recorded build weigh the median of those with one; with none recorded,',
        'shards are balanced by image count.',
        '',
        'Exit status: 0 planned; 2 bad input.',
      ].join('\n'),
    )
    .action((regexes, options) => {
      const global = globals();
      const document = planShardsOf({
        workspace: openWorkspace(global, options),
        regexes,
        sets: chosenSets(options),
        distros: options.distro,
        skipParents: options.skipParents,
        shards: options.shards,
        durationsFrom: options.durationsFrom ?? [],
      });
      process.stdout.write(global.json ? `${JSON.stringify(document)}\n` : shardTable(document));
    });
  return new Command('shard').description('Split a run over CI jobs').addCommand(plan);
}

/** The plan for a reader: one row per shard, then the balance and what limits it. */
function shardTable(document: ShardPlanDocument): string {
  const unit = document.estimated_by === 'durations' ? 'seconds' : 'images';
  const rows = document.shards.map((shard) => [shard.shard, String(shard.images.length), String(shard.seconds)]);
  const header = ['shard', 'images', `estimated ${unit}`];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) => `${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ')}\n`;
  const lists = document.shards.map((shard) => `${shard.shard}: ${shard.images.join(' ') || '(none)'}\n`);
  const verdict = document.max_over_mean <= BALANCE_GOAL ? 'within' : 'over';
  return [
    `${document.distro}: ${document.shards.length} shard(s), weighed by ${document.estimated_by}\n`,
    line(header),
    ...rows.map(line),
    `mean ${document.mean_seconds} ${unit}; max÷mean ${document.max_over_mean} (${verdict} the ${BALANCE_GOAL}× goal)\n`,
    ...document.notes.map((note) => `note: ${note}\n`),
    '\n',
    ...lists,
  ].join('');
}
