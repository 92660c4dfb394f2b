import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { discoverCatalog } from '../../catalog/discover.js';
import { selectImages } from '../../catalog/select.js';
import { regexesOfSets } from '../../catalog/sets.js';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import { loadSecrets } from '../../config/secrets.js';
import { createEngine } from '../../engine/index.js';
import { kollaCommandLineValues, unhonourableKollaFlags } from '../../kolla/cli-flags.js';
import { dependencyDot } from '../../kolla/dependency-dot.js';
import { makePlan } from '../../plan/make-plan.js';
import { readTreeFiles, writeBuildContext, writeContextFiles } from '../../render/context.js';
import { chooseProgressReporter } from '../../report/choose.js';
import { kollaSummaryOf, pythonJson } from '../../report/kolla-summary.js';
import { runBuilds } from '../../run/build-runs.js';
import { cacheDir } from '../../util/cache-dir.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { UsageError } from '../../util/errors.js';
import { checkOutputDir, checkOutputFile } from '../../util/output-path.js';
import { collectRepeated, parseCount, parsePositiveInteger, type GlobalOptions } from '../options.js';
import { chosenDistros } from '../workspace.js';
import { childrenJson } from './images.js';
import { addKollaBooleans } from './kolla-build-booleans.js';

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

/** kolla-build's --format: json unless told none. */
function summaryFormat(asked: string | undefined): 'json' | 'none' {
  if (asked === undefined || asked === 'json') return 'json';
  if (asked === 'none') return 'none';
  throw new UsageError(`invalid --format ${JSON.stringify(asked)}: expected json or none`);
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
      const kollaSwitches = {
        useDumbInit: switches['use-dumb-init'],
        dockerHealthchecks: switches['docker-healthchecks'],
        enableUnbuildable: switches['enable-unbuildable'],
        keep: switches.keep,
        squash: switches.squash,
      };
      const unhonourable = unhonourableKollaFlags(options, kollaSwitches);
      if (unhonourable.length > 0) throw new UsageError(`cannot honour: ${unhonourable.join('; ')}`);
      const format = summaryFormat(options.format);
      // Every output place is checked before any work, so a bad one costs nothing.
      const workDir = options.workDir === undefined ? undefined : checkOutputDir(options.workDir, '--work-dir');
      const logsDir = options.logsDir === undefined ? undefined : checkOutputDir(options.logsDir, '--logs-dir');
      const summaryFile =
        options.summaryJsonFile === undefined
          ? undefined
          : checkOutputFile(options.summaryJsonFile, '--summary-json-file');
      const dependencyFile =
        options.saveDependency === undefined ? undefined : checkOutputFile(options.saveDependency, '--save-dependency');
      const global = globals();
      const configFiles = [
        ...(options.configFile ?? []),
        ...(options.configDir === undefined ? [] : confFilesIn(resolve(options.configDir))),
      ];
      const loaded = loadConfig({
        configDir: global.config,
        environment: global.environment,
        vaultPasswordFile: global.vaultPasswordFile,
        flags: {
          engine: options.engine,
          threads: options.threads,
          retries: options.retries,
          push_threads: options.pushThreads,
        },
        kolla: { dir: options.kollaDir, configFiles, commandLine: kollaCommandLineValues(options, kollaSwitches) },
      });
      for (const warning of loaded.warnings) process.stderr.write(`ci-builder: warning: ${warning}\n`);
      const catalog = discoverCatalog([...loaded.imagesDirs, ...(options.dockerDir ?? []).map((dir) => resolve(dir))]);
      const [distro = ''] = chosenDistros(loaded, undefined);
      const regexes = chosenRegexes(loaded, positional, options.profile ?? []);
      const tag = loaded.kolla?.rules.defaultTag(distro) ?? '';
      const unbuildable = loaded.config.distros[distro]?.unbuildable ?? [];
      const quiet = global.quiet || switches.quiet;

      // kolla-build's order: --template-only, then --save-dependency, --list-images, --list-dependencies.
      if (switches['template-only']) {
        const dockerDir = join(workDir ?? mkdtempSync(join(tmpdir(), 'kolla-')), 'docker');
        const failed = await renderWorkDir(loaded, catalog, distro, tag, dockerDir);
        for (const failure of failed) process.stderr.write(`ci-builder: error: ${failure}\n`);
        process.stderr.write(`Dockerfiles are generated in ${dockerDir}\n`);
        setExitCode(failed.length > 0 ? 1 : 0);
        return;
      }
      if (dependencyFile !== undefined || switches['list-images'] || switches['list-dependencies']) {
        const listsOnly = dependencyFile === undefined && !switches['list-dependencies'];
        const selection = selectImages(catalog, {
          regexes,
          unbuildable,
          skipParents: listsOnly && switches['skip-parents'],
        });
        if (dependencyFile !== undefined) {
          const images = selection.selected.map((name) => ({ name, parent: catalog.images.get(name)?.parent ?? null }));
          await writeFileAtomic(dependencyFile, dependencyDot(images));
          process.stderr.write(`Container images dependency are saved in ${dependencyFile}\n`);
          return;
        }
        if (switches['list-images']) {
          process.stdout.write(selection.selected.map((name, index) => `${index + 1} : ${name}\n`).join(''));
          return;
        }
        const selected = new Set(selection.selected);
        const roots = selection.selected.filter((name) => !selected.has(catalog.images.get(name)?.parent ?? ''));
        const tree = Object.fromEntries(roots.map((root) => [root, childrenJson(catalog, root, selected)]));
        process.stdout.write(roots.length === 0 ? 'Nothing matched!\n' : `${JSON.stringify(tree, null, 2)}\n`);
        return;
      }

      // Builds stage their contexts in the run's own folder: a work dir asked for would stay empty.
      if (workDir !== undefined)
        throw new UsageError('cannot honour: --work-dir without --template-only (builds stage in the run folder)');
      if (switches.push && loaded.config.registry === '')
        throw new UsageError('--push needs a registry: --registry, or registry in kolla-build.conf');
      const [run] = await runBuilds(
        {
          loaded,
          catalog,
          secrets: loadSecrets(loaded.secretsFile, loaded.readYaml),
          engine: createEngine(loaded.config.engine, { url: loaded.config.engine_url }),
          distros: [distro],
          regexes,
          skipParents: switches['skip-parents'],
          skipExisting: switches['skip-existing'],
          noCache: !switches.cache,
          push: switches.push,
          authProxy: false,
          progress: () => chooseProgressReporter({ verbose: switches.debug, quiet }),
          signal,
          tag,
        },
        () => undefined,
      );
      if (run === undefined) throw new Error('a kolla-build run finished without its summary');
      const everyUnbuildable = selectImages(catalog, { regexes: null, unbuildable, skipParents: false }).unbuildable;
      const summary = kollaSummaryOf(run.summary, everyUnbuildable);
      if (logsDir !== undefined) copyLogs(join(run.runDir, 'logs'), logsDir);
      // As kolla-build: with --format json the summary goes to the file when one is named, else to stdout.
      if (switches.summary && format === 'json') {
        if (summaryFile !== undefined) await writeFileAtomic(summaryFile, pythonJson(summary, 4));
        else process.stdout.write(pythonJson(summary));
      }
      if (!quiet)
        process.stderr.write(
          `${summary.built.length} built, ${summary.failed.length} failed, ${summary.skipped.length} skipped; ` +
            `run ${run.runDir}\n`,
        );
      setExitCode(signal.aborted ? 130 : run.exitCode);
    });
}

/** kolla-build: regexes when given, else the profiles, else every image. */
function chosenRegexes(loaded: LoadedConfig, regexes: string[], profiles: string[]): string[] | null {
  if (regexes.length > 0) return regexes;
  if (profiles.length > 0) return regexesOfSets(loaded.config.sets, profiles);
  return null;
}

/**
 * kolla-build --template-only: every image of the tree rendered in place of its folder under `docker/`,
 * as the tree lays it out, beside the tree's other files (`macros.j2`). Returns one line per image that
 * could not be rendered.
 */
async function renderWorkDir(
  loaded: LoadedConfig,
  catalog: ReturnType<typeof discoverCatalog>,
  distro: string,
  tag: string,
  dockerDir: string,
): Promise<string[]> {
  const plan = await makePlan({
    config: loaded.config,
    catalog,
    distro,
    tag,
    engine: loaded.config.engine,
    selection: { regexes: null, skipParents: false },
    renderInputs: loaded.renderInputs,
    cacheDir: cacheDir(),
    fetchSources: false,
  });
  // kolla-build copies every tree whole into its work dir before rendering: files of no image stay too.
  for (const tree of catalog.trees) await writeContextFiles(dockerDir, await readTreeFiles(tree));
  const failures: string[] = [];
  for (const image of plan.images) {
    const definition = catalog.images.get(image.name);
    if (image.failure !== undefined || definition === undefined) {
      failures.push(`${image.name}: ${image.failure ?? 'not in the tree'}`);
      continue;
    }
    const target = join(dockerDir, relative(definition.treeRoot, definition.dir));
    await writeBuildContext(target, image.dockerfile, image.contextFiles, image.emptyDirs);
  }
  return failures;
}

function copyLogs(from: string, to: string): void {
  if (!existsSync(from)) return;
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from).filter((entry) => entry.endsWith('.log'))) {
    copyFileSync(join(from, name), join(to, name));
  }
}
