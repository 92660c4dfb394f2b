import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { join } from 'node:path';
import { loadSecrets } from '../../config/secrets.js';
import { createEngine } from '../../engine/index.js';
import { describeCounters } from '../../proxy/counters.js';
import { isValidTag } from '../../plan/naming.js';
import { chooseProgressReporter } from '../../report/choose.js';
import { describeFlakyCount, type RunSummary } from '../../report/summary.js';
import { RUNS_DIR, runBuilds } from '../../run/build-runs.js';
import { UsageError } from '../../util/errors.js';
import { checkOutputDir } from '../../util/output-path.js';
import { BUILDERS_HELP, chosenBuilders } from '../builders.js';
import {
  collectList,
  parseCount,
  parsePositiveInteger,
  templateOverrideOption,
  withImageSelection,
} from '../options.js';
import type { GlobalOptions } from '../options.js';
import { shardRequest, withShardOptions } from '../shard-options.js';
import { chosenDistros, chosenRegexes, chosenSets, openWorkspace } from '../workspace.js';

export function buildCommand(
  globals: () => GlobalOptions,
  signal: AbortSignal,
  setExitCode: (code: number) => void,
): CommandUnknownOpts {
  const description = 'Build the selected images for each distro, one tag per run; push them with --push';
  return withShardOptions(withImageSelection(new Command('build').description(description)))
    .addOption(templateOverrideOption())
    .option(
      '--skip-existing',
      'leave alone images that already exist in the engine at the run tag (not built, not pushed), as kolla-build does',
    )
    .option('--tag <tag>', 'tag for every image of the run (default: <release>-<distro>-<version>-<UTC timestamp>)')
    .option('--engine <engine>', 'buildah, docker or podman')
    .option('--builders <urls>', BUILDERS_HELP, collectList)
    .option('--threads <n>', 'images built at once', parsePositiveInteger)
    .option('--retries <n>', 'extra build attempts for a failed image', parseCount)
    .option('--push', 'push every image as soon as it is built')
    .option('--push-threads <n>', 'pushes at once', parsePositiveInteger)
    .option('--run-dir <dir>', `run folder (default: ${RUNS_DIR}/<tag>)`)
    .option(
      '--auth-proxy',
      'start the authenticating proxy on a free loopback port for the run and install from Pulp through it',
    )
    .option(
      '--package-cache',
      "reach every repository through the run's caching proxy (default: proxy.package_cache; on, but off for --kolla-dir)",
    )
    .option('--no-package-cache', 'reach plain mirrors directly, each image downloading its packages itself')
    .addHelpText(
      'after',
      '\nExit status: 0 all built (and pushed); 1 an image, push or the base image failed; 2 bad input; 130 interrupted.',
    )
    .action(async (regexes, options) => {
      checkOutputDir(options.runDir ?? RUNS_DIR, '--run-dir');
      const global = globals();
      const { loaded, catalog } = openWorkspace(global, options, {
        engine: options.engine,
        threads: options.threads,
        retries: options.retries,
        push_threads: options.pushThreads,
      });
      const { config } = loaded;
      const distros = chosenDistros(loaded, options.distro);
      if (distros.length > 1 && (options.tag !== undefined || options.runDir !== undefined)) {
        throw new UsageError('--tag and --run-dir name one run: give a single --distro with them');
      }
      if (options.tag !== undefined && !isValidTag(options.tag))
        throw new UsageError(`invalid --tag ${JSON.stringify(options.tag)}: letters, digits, '_', '.', '-' (max 128)`);
      if (options.push && config.registry === '')
        throw new UsageError('--push needs a registry: set registry in the config or CI_BUILDER_REGISTRY');
      const selectedRegexes = chosenRegexes(loaded, regexes, chosenSets(options));
      const shard = shardRequest(options, {
        loaded,
        catalog,
        distros,
        regexes: selectedRegexes,
        push: options.push ?? false,
        skipParents: options.skipParents ?? false,
        oneTag: { flag: '--tag', given: options.tag !== undefined },
      });
      const builders = chosenBuilders(config, options.builders, options);
      const runs = await runBuilds(
        {
          loaded,
          catalog,
          secrets: loadSecrets(loaded.secretsFile, loaded.readYaml),
          engine: builders?.[0]?.engine ?? createEngine(config.engine, { url: config.engine_url }),
          ...(builders ? { builders } : {}),
          distros,
          regexes: selectedRegexes,
          skipParents: options.skipParents ?? false,
          skipExisting: options.skipExisting ?? false,
          push: options.push ?? false,
          authProxy: options.authProxy ?? false,
          ...(options.packageCache !== undefined ? { packageCache: options.packageCache } : {}),
          progress: () => chooseProgressReporter(global),
          signal,
          ...(options.tag !== undefined ? { tag: options.tag } : {}),
          ...(options.runDir !== undefined ? { runDir: options.runDir } : {}),
          ...(shard ? { shard } : {}),
        },
        (run) => global.json || process.stderr.write(`${describeOutcome(run.summary, run.runDir)}\n`),
      );
      const worst = runs.some((run) => run.exitCode === 130) ? 130 : Math.max(0, ...runs.map((run) => run.exitCode));
      setExitCode(signal.aborted ? 130 : worst);
    });
}

function describeOutcome(summary: RunSummary, runDir: string): string {
  const parts = [
    `${summary.built.length} built`,
    `${summary.reused.length} reused`,
    `${summary.failed.length} failed`,
    ...describeFlakyCount(summary),
    `${summary.skipped.length} skipped`,
    ...(summary.pushed.length + summary.push_failed.length > 0
      ? [`${summary.pushed.length} pushed`, `${summary.push_failed.length} push failed`]
      : []),
  ];
  const outcome = `${summary.interrupted ? 'interrupted' : 'done'} ${summary.tag}: ${parts.join(', ')}; summary ${join(runDir, 'summary.json')}`;
  return summary.package_cache ? `${describeCounters(summary.package_cache)}\n${outcome}` : outcome;
}
