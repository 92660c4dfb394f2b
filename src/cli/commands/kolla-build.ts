import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { kollaBuild, type KollaBuildOutcome, type KollaSwitches } from '../../app/kolla-build.js';
import { chooseProgressReporter } from '../../report/choose.js';
import { UsageError } from '../../util/errors.js';
import { collectRepeated, parseCount, parsePositiveInteger, type GlobalOptions } from '../options.js';
import { addKollaBooleans, type KollaBooleans } from './kolla-build-booleans.js';

/** oslo.config's --config-dir: every `*.conf` in it, in name order. */
function confFilesIn(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new UsageError(`--config-dir ${dir}: not a readable folder`);
  }
  return names
    .filter((name) => name.endsWith('.conf') && !name.startsWith('.'))
    .sort()
    .map((name) => join(dir, name));
}

export function kollaBuildCommand(
  globals: () => GlobalOptions,
  signal: AbortSignal,
  setExitCode: (code: number) => void,
): CommandUnknownOpts {
  const description =
    "kolla-build's command line, options, output and exit codes over ci-builder's builds (Kayobe can call it)";
  const command = new Command('kolla-build')
    .description(description)
    .argument('[regex...]', 'build images matching any regex (unanchored) and their parents')
    .option('--kolla-dir <dir>', 'the Kolla checkout to build from (config kolla.dir); required')
    .option('--config-file <file>', 'a kolla-build.conf; repeatable', collectRepeated)
    .option('--config-dir <dir>', 'a folder whose *.conf files are read after --config-file')
    .option('-b, --base <distro>', 'the base distro')
    .option('--base-tag <tag>', "the base distro image's tag")
    .option('--base-image <image>', 'the base distro image')
    .option('--base-arch <arch>', "the images' architecture (only this host's)")
    .option('--debian-arch <arch>', "Debian's name of that architecture (only this host's)")
    .option('-n, --namespace <namespace>', 'the image namespace')
    .option('--registry <registry>', 'the registry host images are named under and pushed to')
    .option('--tag <tag>', 'the tag of every image')
    .option('--image-name-prefix <prefix>', 'a prefix to every image name')
    .option('-T, --threads <n>', 'images built at once', parsePositiveInteger)
    .option('--push-threads <n>', 'pushes at once', parsePositiveInteger)
    .option('-r, --retries <n>', 'extra build attempts for a failed image', parseCount)
    .option('-p, --profile <name>', 'a profile of images, used when no regex is given; repeatable', collectRepeated)
    .option('--work-dir <dir>', 'where --template-only writes (default: a new temporary folder)')
    .option('--template-override <file>', 'a template override; repeatable', collectRepeated)
    .option('-D, --docker-dir <dir>', 'a further tree of image templates; repeatable', collectRepeated)
    .option('--repos-yaml <file>', "the repos.yaml templates' repository macros read")
    .option('--patches-path <dir>', 'the folder of patches applied to sources (releases that have it)')
    .option('--save-dependency <file>', 'write the selected images and their parents as a Graphviz file and exit')
    .option('-f, --format <format>', 'json (default): the build summary as JSON, on stdout or in the file; none')
    .option('--summary-json-file <file>', 'with --format json, write the summary (indented) here, not on stdout')
    .option('--logs-dir <dir>', "copy every image's build log to <dir>/<image>.log")
    .option('--engine <engine>', 'docker or podman (or buildah)')
    .option('--podman-base-url <url>', "podman's API service, with --engine podman")
    .option('--platform <platform>', "the platform to build for (only this host's)")
    .option('--timeout <seconds>', 'how long a source download may send nothing', parsePositiveInteger)
    .option('--openstack-release <release>', 'the OpenStack release templates are told')
    .option('--openstack-release-codename <name>', 'its codename (releases that have it)')
    .option('--openstack-branch <branch>', 'the branch sources are taken from')
    .option('--openstack-branch-slashed <branch>', 'the same, slashed')
    .option('--tarballs-base <url>', 'where the default source table downloads from')
    .option('--locals-base <dir>', 'accepted, as kolla-build (it has no effect there either)')
    .option('--network_mode <mode>', 'only host: builds use the host network')
    .option('--build-args <args>', 'refused: templates take values from the configuration');
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
          configFiles: [
            ...(options.configFile ?? []),
            ...(options.configDir === undefined ? [] : confFilesIn(resolve(options.configDir))),
          ],
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
