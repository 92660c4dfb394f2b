import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { buildImages } from '../../app/build.js';
import { chooseProgressReporter } from '../../report/choose.js';
import { describeRunLine } from '../../report/run-line.js';
import { RUNS_DIR } from '../../util/runs-dir.js';
import { templateOverrideOption, withImageSelection, type GlobalOptions } from '../options.js';
import { withRunOptions } from '../run-options.js';
import { withShardOptions } from '../shard-options.js';
import { chosenSets, openWorkspaceForRun } from '../workspace.js';

export function buildCommand(
  globals: () => GlobalOptions,
  signal: AbortSignal,
  setExitCode: (code: number) => void,
): CommandUnknownOpts {
  const description = 'Build the selected images for each distro, one tag per run; push them with --push';
  const command = withImageSelection(new Command('build').description(description));
  return withRunOptions(withShardOptions(command), {
    help: 'push every image as soon as it is built',
    threadsHelp: 'images built at once',
  })
    .addOption(templateOverrideOption())
    .option(
      '--skip-existing',
      'leave alone images that already exist in the engine at the run tag (not built, not pushed), as kolla-build does',
    )
    .option('--tag <tag>', 'tag for every image of the run (default: <release>-<distro>-<version>-<UTC timestamp>)')
    .option('--run-dir <dir>', `run folder (default: ${RUNS_DIR}/<tag>)`)
    .addHelpText(
      'after',
      '\nExit status: 0 all built (and pushed); 1 an image, push or the base image failed; 2 bad input; 130 interrupted.',
    )
    .action(async (regexes, options) => {
      const global = globals();
      const outcome = await buildImages(
        {
          workspace: openWorkspaceForRun(global, options, options),
          regexes,
          sets: chosenSets(options),
          distros: options.distro,
          tag: options.tag,
          runDir: options.runDir,
          flags: options,
          shard: options,
          progress: () => chooseProgressReporter(global),
          signal,
        },
        (run) => global.json || process.stderr.write(`${describeRunLine(run.summary, run.runDir)}\n`),
      );
      setExitCode(outcome.exitCode);
    });
}
