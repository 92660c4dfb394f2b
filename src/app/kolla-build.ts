import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { discoverCatalog } from '../catalog/discover.js';
import { kollaDependencyListing, kollaImageListing } from '../catalog/dependency-tree.js';
import { selectImages } from '../catalog/select.js';
import { regexesOfSets } from '../catalog/sets.js';
import type { Catalog } from '../catalog/types.js';
import { chosenDistros } from '../config/distros.js';
import { loadConfig, type LoadOptions, type LoadedConfig } from '../config/load.js';
import { kollaCommandLineValues, unhonourableKollaFlags, type KollaBuildFlags } from '../kolla/cli-flags.js';
import type { KollaBuildSwitches } from '../kolla/cli-flags.js';
import { dependencyDot } from '../kolla/dependency-dot.js';
import { writePlanContexts, type UnwrittenImage } from '../plan/write-contexts.js';
import { readTreeFiles, writeContextFiles } from '../render/context.js';
import type { Reporter } from '../report/events.js';
import { kollaSummaryOf, pythonJson, type KollaSummary } from '../report/kolla-summary.js';
import { runBuilds } from '../run/build-runs.js';
import { runConfigOverrides, runSettings, type RunFlags } from '../run/settings.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UsageError } from '../util/errors.js';
import { checkOutputDir, checkOutputFile } from '../util/output-path.js';
import { renderOnlyPlan } from './workspace.js';

/** kolla-build's on/off options, after the last of `--x` and `--nox` won. */
export interface KollaSwitches {
  push: boolean;
  skipParents: boolean;
  skipExisting: boolean;
  templateOnly: boolean;
  listImages: boolean;
  listDependencies: boolean;
  debug: boolean;
  quiet: boolean;
  summary: boolean;
  cache: boolean;
  kolla: KollaBuildSwitches;
}

/** Where kolla-build's own flags put things, and which trees and files it reads. */
export interface KollaBuildPlaces {
  kollaDir?: string;
  /** --config-file, in the order given. */
  configFiles: string[];
  /** --config-dir: its `*.conf` files are read after the --config-file ones. */
  configDir?: string;
  dockerDirs: string[];
  profiles: string[];
  workDir?: string;
  logsDir?: string;
  summaryJsonFile?: string;
  saveDependency?: string;
  format?: string;
  engine?: string;
}

export interface KollaBuildRequest {
  /** The global options' configuration folder, environment and vault password file (and, in tests, env and cwd). */
  config: Pick<LoadOptions, 'configDir' | 'environment' | 'vaultPasswordFile' | 'env' | 'cwd'>;
  flags: KollaBuildFlags;
  places: KollaBuildPlaces;
  switches: KollaSwitches;
  regexes: readonly string[];
  /** The progress reporter of the build, as --debug and --quiet choose it. */
  progress: (choice: { verbose: boolean; quiet: boolean }) => Reporter;
  onWarning: (line: string) => void;
  signal: AbortSignal;
}

/** What a kolla-build invocation did, for the command to print. */
export type KollaBuildOutcome =
  | { kind: 'template-only'; dockerDir: string; unwritten: UnwrittenImage[] }
  | { kind: 'dependency-file'; file: string }
  | { kind: 'listing'; text: string }
  | {
      kind: 'built';
      summary: KollaSummary;
      runDir: string;
      exitCode: number;
      /** The summary as kolla-build prints it on stdout (with --format json and no --summary-json-file). */
      stdout?: string;
    };

/** kolla-build's --format: json unless told none. */
function summaryFormat(asked: string | undefined): 'json' | 'none' {
  if (asked === undefined || asked === 'json') return 'json';
  if (asked === 'none') return 'none';
  throw new UsageError(`invalid --format ${JSON.stringify(asked)}: expected json or none`);
}

/** Every output place, checked before any work, so a bad one costs nothing. */
function checkedPlaces(places: KollaBuildPlaces) {
  return {
    workDir: places.workDir === undefined ? undefined : checkOutputDir(places.workDir, '--work-dir'),
    logsDir: places.logsDir === undefined ? undefined : checkOutputDir(places.logsDir, '--logs-dir'),
    summaryFile:
      places.summaryJsonFile === undefined ? undefined : checkOutputFile(places.summaryJsonFile, '--summary-json-file'),
    dependencyFile:
      places.saveDependency === undefined ? undefined : checkOutputFile(places.saveDependency, '--save-dependency'),
  };
}

/** kolla-build's behaviour over ci-builder: --template-only, then the listings, then a build. */
export async function kollaBuild(request: KollaBuildRequest): Promise<KollaBuildOutcome> {
  const { switches, places } = request;
  const unhonourable = unhonourableKollaFlags(request.flags, switches.kolla);
  if (unhonourable.length > 0) throw new UsageError(`cannot honour: ${unhonourable.join('; ')}`);
  const format = summaryFormat(places.format);
  const checked = checkedPlaces(places);
  const flags: RunFlags = {
    engine: places.engine,
    threads: request.flags.threads,
    retries: request.flags.retries,
    pushThreads: request.flags.pushThreads,
    push: switches.push,
    skipParents: switches.skipParents,
    skipExisting: switches.skipExisting,
    noCache: !switches.cache,
    authProxy: false,
    // kolla-build builds on its one engine: the config's builders are for build and pipeline.
    builders: [],
  };
  const loaded = loadConfig({
    ...request.config,
    flags: runConfigOverrides(flags),
    kolla: {
      dir: places.kollaDir,
      configFiles: [
        ...places.configFiles,
        ...(places.configDir === undefined ? [] : confFilesIn(resolve(places.configDir))),
      ],
      commandLine: kollaCommandLineValues(request.flags, switches.kolla),
    },
  });
  for (const warning of loaded.warnings) request.onWarning(warning);
  const catalog = discoverCatalog([...loaded.imagesDirs, ...places.dockerDirs.map((dir) => resolve(dir))]);
  const [distro = ''] = chosenDistros(loaded.config, undefined);
  const regexes = kollaRegexes(loaded, request.regexes, places.profiles);
  const tag = loaded.kolla?.rules.defaultTag(distro) ?? '';
  const unbuildable = loaded.config.distros[distro]?.unbuildable ?? [];

  // kolla-build's order: --template-only, then --save-dependency, --list-images, --list-dependencies.
  if (switches.templateOnly) {
    const dockerDir = join(checked.workDir ?? mkdtempSync(join(tmpdir(), 'kolla-')), 'docker');
    return {
      kind: 'template-only',
      dockerDir,
      unwritten: await renderWorkDir(loaded, catalog, distro, tag, dockerDir),
    };
  }
  if (checked.dependencyFile !== undefined || switches.listImages || switches.listDependencies) {
    const listsOnly = checked.dependencyFile === undefined && !switches.listDependencies;
    const { selected } = selectImages(catalog, {
      regexes,
      unbuildable,
      skipParents: listsOnly && switches.skipParents,
    });
    if (checked.dependencyFile !== undefined) {
      const images = selected.map((name) => ({ name, parent: catalog.images.get(name)?.parent ?? null }));
      await writeFileAtomic(checked.dependencyFile, dependencyDot(images));
      return { kind: 'dependency-file', file: checked.dependencyFile };
    }
    const text = switches.listImages ? kollaImageListing(selected) : kollaDependencyListing(catalog, selected);
    return { kind: 'listing', text };
  }

  // Builds stage their contexts in the run's own folder: a work dir asked for would stay empty.
  if (checked.workDir !== undefined)
    throw new UsageError('cannot honour: --work-dir without --template-only (builds stage in the run folder)');
  if (switches.push && loaded.config.registry === '')
    throw new UsageError('--push needs a registry: --registry, or registry in kolla-build.conf');
  const [run] = await runBuilds(
    {
      loaded,
      catalog,
      settings: runSettings(loaded, flags),
      distros: [distro],
      regexes,
      progress: () => request.progress({ verbose: switches.debug, quiet: switches.quiet }),
      signal: request.signal,
      tag,
    },
    () => undefined,
  );
  if (run === undefined) throw new Error('internal: a kolla-build run finished without its summary');
  const everyUnbuildable = selectImages(catalog, { regexes: null, unbuildable, skipParents: false }).unbuildable;
  const summary = kollaSummaryOf(run.summary, everyUnbuildable);
  if (checked.logsDir !== undefined) copyLogs(join(run.runDir, 'logs'), checked.logsDir);
  // As kolla-build: with --format json the summary goes to the file when one is named, else to stdout.
  let stdout: string | undefined;
  if (switches.summary && format === 'json') {
    if (checked.summaryFile !== undefined) await writeFileAtomic(checked.summaryFile, pythonJson(summary, 4));
    else stdout = pythonJson(summary);
  }
  const exitCode = request.signal.aborted ? 130 : run.exitCode;
  return { kind: 'built', summary, runDir: run.runDir, exitCode, ...(stdout !== undefined ? { stdout } : {}) };
}

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

/** kolla-build: regexes when given, else the profiles, else every image. */
function kollaRegexes(loaded: LoadedConfig, regexes: readonly string[], profiles: string[]): string[] | null {
  if (regexes.length > 0) return [...regexes];
  if (profiles.length > 0) return regexesOfSets(loaded.config.sets, profiles);
  return null;
}

/**
 * kolla-build --template-only: every image of the tree rendered in place of its folder under `docker/`,
 * as the tree lays it out, beside the tree's other files (`macros.j2`). Returns the images that could not
 * be rendered.
 */
async function renderWorkDir(
  loaded: LoadedConfig,
  catalog: Catalog,
  distro: string,
  tag: string,
  dockerDir: string,
): Promise<UnwrittenImage[]> {
  const plan = await renderOnlyPlan(loaded, catalog, distro, tag, { regexes: null, skipParents: false });
  // kolla-build copies every tree whole into its work dir before rendering: files of no image stay too.
  for (const tree of catalog.trees) await writeContextFiles(dockerDir, await readTreeFiles(tree));
  return writePlanContexts(plan, dockerDir, (image) => {
    const definition = catalog.images.get(image.name);
    return definition && relative(definition.treeRoot, definition.dir);
  });
}

function copyLogs(from: string, to: string): void {
  if (!existsSync(from)) return;
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from).filter((entry) => entry.endsWith('.log'))) {
    copyFileSync(join(from, name), join(to, name));
  }
}
