import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { kollaBuild, type KollaBuildOutcome, type KollaSwitches } from '../../app/kolla-build.js';
import { chooseProgressReporter } from '../../report/choose.js';
import type { GlobalOptions } from '../options.js';
import { addKollaBooleans, type KollaBooleans } from './kolla-build-booleans.js';
import { withKollaBuildOptions } from './kolla-build-options.js';

export function kollaBuildCommand(
  globals: () => GlobalOptions,
  signal: AbortSignal,
  setExitCode: (code: number) => void,
): CommandUnknownOpts {
  const description =
    "kolla-build's command line, options, output and exit codes over ci-builder's builds (Kayobe can call it)";
  const command = withKollaBuildOptions(
    new Command('kolla-build')
      .description(description)
      .argument('[regex...]', 'build images matching any regex (unanchored) and their parents'),
  );
  const booleans = addKollaBooleans(command);
  return command
    .addHelpText(
      'after',
      '\nEvery on/off option also has a --no form (--nopush, --nocache, --noskip-parents...): the last given wins.' +
        '\nExit status: 0 done; 1 an image failed; 2 bad input or an option that cannot be honoured; 130 interrupted.',
    )
    .action(async (positional, options) => {
      const switches = booleans();
      const global = globals();
      const outcome = await kollaBuild({
        config: {
          configDir: global.config,
          environment: global.environment,
          vaultPasswordFile: global.vaultPasswordFile,
        },
        flags: options,
        places: {
          ...options,
          configFiles: options.configFile ?? [],
          dockerDirs: options.dockerDir ?? [],
          profiles: options.profile ?? [],
        },
        switches: kollaSwitches(switches),
        regexes: positional,
        progress: (choice) => chooseProgressReporter({ ...choice, quiet: global.quiet || choice.quiet }),
        onWarning: (line) => process.stderr.write(`ci-builder: warning: ${line}\n`),
        signal,
      });
      setExitCode(printOutcome(outcome, global.quiet || switches.quiet));
    });
}

function kollaSwitches(switches: KollaBooleans): KollaSwitches {
  return {
    push: switches.push,
    skipParents: switches['skip-parents'],
    skipExisting: switches['skip-existing'],
    templateOnly: switches['template-only'],
    listImages: switches['list-images'],
    listDependencies: switches['list-dependencies'],
    debug: switches.debug,
    quiet: switches.quiet,
    summary: switches.summary,
    cache: switches.cache,
    kolla: {
      useDumbInit: switches['use-dumb-init'],
      dockerHealthchecks: switches['docker-healthchecks'],
      enableUnbuildable: switches['enable-unbuildable'],
      keep: switches.keep,
      squash: switches.squash,
    },
  };
}

/** What kolla-build prints for each outcome; returns the exit code. */
function printOutcome(outcome: KollaBuildOutcome, quiet: boolean): number {
  switch (outcome.kind) {
    case 'template-only':
      for (const image of outcome.unwritten)
        process.stderr.write(`ci-builder: error: ${image.name}: ${image.reason}\n`);
      process.stderr.write(`Dockerfiles are generated in ${outcome.dockerDir}\n`);
      return outcome.unwritten.length > 0 ? 1 : 0;
    case 'dependency-file':
      process.stderr.write(`Container images dependency are saved in ${outcome.file}\n`);
      return 0;
    case 'listing':
      process.stdout.write(outcome.text);
      return 0;
    case 'built': {
      if (outcome.stdout !== undefined) process.stdout.write(outcome.stdout);
      const { built, failed, skipped } = outcome.summary;
      if (!quiet)
        process.stderr.write(
          `${built.length} built, ${failed.length} failed, ${skipped.length} skipped; run ${outcome.runDir}\n`,
        );
      return outcome.exitCode;
    }
    default: {
      const never: never = outcome;
      return never;
    }
  }
}
