import {
  Command,
  InvalidArgumentError,
  Option,
  type CommandUnknownOpts,
  type OptionValues,
} from '@commander-js/extra-typings';
import { readFileSync } from 'node:fs';
import {
  describeNotRun,
  describeReason,
  parseRunStamp,
  REGEX_SET,
  runPipelineCommand,
  type SetOutcome,
} from '../../app/pipeline.js';
import { chooseProgressReporter } from '../../report/choose.js';
import { describeMadeCounts } from '../../report/run-line.js';
import { RUNS_DIR } from '../../util/runs-dir.js';
import {
  collectRepeated,
  languagePackagesOption,
  templateOverrideOption,
  withImageSelection,
  type GlobalOptions,
} from '../options.js';
import { withRunOptions } from '../run-options.js';
import { withShardOptions } from '../shard-options.js';
import { chosenSets, openWorkspaceForRun } from '../workspace.js';

const packageJson = new URL('../../../package.json', import.meta.url);
const toolVersion = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;

const HELP_AFTER = [
  '',
  `Sets default to overcloud,seed, built in that order for each distro; positional regexes replace the`,
  `${REGEX_SET} set's regexes (the seed set keeps its own), as Kayobe's overcloud and seed builds.`,
  'Every tag is <release>-<distro>-<version>-<timestamp> with one timestamp for the whole pipeline.',
  '',
  'Artifacts: <distro>/<set>/ (logs, summary.json, report.html, scan/<image>.json and .cdx.json),',
  'scan-summary.csv, clean-images.txt, dirty-images.txt, critical-images.txt, push-attempt-images.txt,',
  'push-failed-images.txt and pipeline-summary.json.',
  '',
  'Exit status: 0 all good; 1 a distro built nothing, a build, scan or push failed, or a critical image',
  'was found without --push-dirty (one line on stderr per reason); 2 bad input; 130 interrupted.',
].join('\n');

/** How the pipeline scans: the scanner, its database, what does not count. */
function withScanOptions<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(
  command: Command<Args, Opts, Globals>,
) {
  return command
    .option(
      '--osv-db <path>',
      'OSV dump (all.zip, record folder) or Debian tracker JSON; repeatable (config: scan.osv_db)',
      collectRepeated,
    )
    .addOption(
      new Option('--scanner <scanner>', 'osv (built in) or trivy (config: scan.scanner, default osv)').choices([
        'osv',
        'trivy',
      ] as const),
    )
    .option('--ignore-unfixed', 'vulnerabilities without a fixed version do not count (config: scan.ignore_unfixed)')
    .addOption(languagePackagesOption())
    .option(
      '--allowed-vulnerabilities <file>',
      'YAML: global_allowed_vulnerabilities, <image>_allowed_vulnerabilities (config: scan.allowed_vulnerabilities)',
    );
}

export function pipelineCommand(
  globals: () => GlobalOptions,
  signal: AbortSignal,
  setExitCode: (code: number) => void,
): CommandUnknownOpts {
  const description =
    'The whole CI run: for every distro and set under one timestamp, build each image, scan it as soon as ' +
    'it exists and push it as soon as its verdict allows (clean and dirty; critical only with --push-dirty)';
  const command = withShardOptions(withImageSelection(new Command('pipeline').description(description)));
  return withScanOptions(
    withRunOptions(command, {
      help: 'push each image once its scan allows it',
      threadsHelp: 'images built (and scanned) at once',
    }),
  )
    .addOption(templateOverrideOption())
    .option('--push-dirty', 'push critical images too (they are held otherwise, and the pipeline fails)')
    .option(
      '--timestamp <YYYYMMDDTHHMMSS>',
      'UTC timestamp of every tag (default: now); CI jobs of one pipeline share it',
      parseTimestamp,
    )
    .option(
      '--artifacts <dir>',
      `folder to upload: run folders, scan reports, lists (default: ${RUNS_DIR}/<release>-<UTC timestamp>)`,
    )
    .addHelpText('after', HELP_AFTER)
    .action(async (regexes, options) => {
      const global = globals();
      const result = await runPipelineCommand(
        {
          workspace: openWorkspaceForRun(global, options, options),
          regexes,
          sets: chosenSets(options),
          distros: options.distro,
          timestamp: options.timestamp,
          artifacts: options.artifacts,
          pushDirty: options.pushDirty ?? false,
          flags: options,
          shard: options,
          scan: options,
          toolVersion,
          progress: () => chooseProgressReporter(global),
          signal,
        },
        (outcome) => global.json || process.stderr.write(`${describeSet(outcome)}\n`),
      );
      for (const reason of result.reasons)
        process.stderr.write(`ci-builder: pipeline failed: ${describeReason(reason)}\n`);
      if (!global.json && !global.quiet) process.stderr.write(`artifacts in ${result.artifactsDir}\n`);
      setExitCode(result.exitCode);
    });
}

/** A tag's timestamp as the tags spell it, UTC: 20240903T113235. */
function parseTimestamp(value: string): Date {
  const at = parseRunStamp(value);
  if (at === undefined)
    throw new InvalidArgumentError('expected a UTC timestamp YYYYMMDDTHHMMSS, e.g. 20240903T113235');
  return at;
}

function describeSet(outcome: SetOutcome): string {
  const where = `${outcome.distro} ${outcome.set} ${outcome.tag}`;
  const summary = outcome.summary;
  if (summary === undefined) return `${where}: not run: ${outcome.notRun ? describeNotRun(outcome.notRun) : 'unknown'}`;
  const verdicts = ['clean', 'dirty', 'critical'].map(
    (verdict) => `${summary.scanned.filter((scan) => scan.verdict === verdict).length} ${verdict}`,
  );
  const parts = [
    ...describeMadeCounts(summary),
    ...verdicts,
    `${summary.pushed.length} pushed`,
    `${summary.held.length} held`,
  ];
  return `${summary.interrupted ? 'interrupted' : 'done'} ${where}: ${parts.join(', ')}; folder ${outcome.runDir}`;
}
