import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { mergeShards } from '../../app/summary.js';
import { RUNS_DIR } from '../../util/runs-dir.js';
import type { GlobalOptions } from '../options.js';

export function summaryCommand(globals: () => GlobalOptions, signal: AbortSignal): CommandUnknownOpts {
  const merge = new Command('merge')
    .description(
      'Merge the run folders of the shards of one run (one tag, one distro) into one summary.json and report.html',
    )
    .argument('<run-dir...>', "the shards' run folders (each with its summary.json and logs/)")
    .option('--out <dir>', `the merged run folder (default: ${RUNS_DIR}/<tag>-merged)`)
    .addHelpText(
      'after',
      [
        '',
        'An image one shard built and others pulled from the registry counts once, as built; each image is in',
        'at most one of built, reused, failed and skipped. Logs and scan reports are copied from the shard',
        "that did the work, so the report links work. Only regular files inside a shard's folder are read:",
        'a symbolic link, a FIFO or an oversized file there is passed over with a warning naming it.',
        '',
        'Exit status: 0 merged; 2 a folder without a readable summary.json, a damaged summary or scan report',
        '(a bad image name or tag included), or shards of different tags or distros.',
      ].join('\n'),
    )
    .action(async (runDirs, options) => {
      const global = globals();
      const merged = await mergeShards(runDirs, options.out, signal);
      const { summary } = merged;
      for (const warning of merged.warnings) process.stderr.write(`warning: ${warning}\n`);
      if (global.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else if (!global.quiet) {
        const counts = [
          `${summary.built.length} built`,
          `${summary.reused.length} reused`,
          `${summary.failed.length} failed`,
          `${summary.skipped.length} skipped`,
          `${summary.pushed.length} pushed`,
        ];
        const where = `${merged.outDir}/summary.json and report.html`;
        process.stderr.write(`merged ${runDirs.length} shard(s) of ${summary.tag}: ${counts.join(', ')}; ${where}\n`);
      }
    });
  return new Command('summary').description('Work with run summaries').addCommand(merge);
}
