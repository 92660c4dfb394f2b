/**
 * ci-builder against upstream kolla-build, building the same Kolla-format tree (the bundled images/) in one
 * run, side by side: wall seconds of kolla-build and of ci-builder with docker, buildah and podman per
 * scenario, ratios ci-builder ÷ kolla-build; a table on stdout and bench/results/versus-kolla.json.
 *
 *   node --import tsx bench/versus-kolla.ts --kolla /path/to/kolla [--tree small|library]
 *        [--scenarios cold,nochange,leaf,base,push] [--tools kolla-build,docker,buildah,podman] [--keep]
 *
 * How the two are made to build the same thing:
 * - kolla-build runs from a copy of the checkout (Debian's /usr/bin/python3, python3-pbr, -oslo.config,
 *   -jinja2, -git, -docker; PBR_VERSION) whose image tree folder is replaced by our tree: `--docker-dir`
 *   only copies extra folders over Kolla's own tree, whose other images and macros.j2 would stay. Kolla's
 *   source sections that name images of our tree point at an empty local folder (kolla-build archives
 *   them; our templates do not use them). Our macros' `release` reaches kolla-build through a template
 *   override setting it (kolla-build has no such value).
 * - The bench starts its own dockerd (own data root, exec root and socket; no bridge, no iptables) and an
 *   anonymous docker-registry on a free loopback port. kolla-build (classic builder: --nobuildkit, as it
 *   drives docker without buildx; --nopull; network_mode host) and ci-builder's docker engine (BuildKit)
 *   share that dockerd; ci-builder's buildah and podman engines use the host's shared containers storage.
 * - No base image can be pulled: ci-builder bootstraps its base with mmdebstrap (cached), and a first
 *   ci-builder run of `^base$` per engine (not measured) imports it into the dockerd and the containers
 *   storage; kolla-build is told that image with --base-image and --base-tag, so all start from the same root
 *   filesystem.
 * - Same values for both: registry (the bench's; images are only pushed in the push scenario), namespace,
 *   maintainer, threads 2, push threads 2, retries 0; each run its own tag. The Dockerfiles both rendered
 *   are compared after every scenario (tag and the bench's marker step masked); a material difference, or a
 *   different set of images, stops the bench with exit 1.
 * - Each tool has its own copy of the tree. Cold, base-changed and push scenarios set a marker step in the base
 *   template to a value new to that tool, so nothing any engine built before can be reused (the
 *   bootstrapped root filesystem stays cached).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dockerfileDifferences, selectionDifference } from './versus-kolla/compare.js';
import { packageCacheRatios, rows, table, type ScenarioResult } from './versus-kolla/report.js';
import { ownStepsTable } from './versus-kolla/own-steps.js';
import { baseImageOf, runCiBuilder, runKollaBuild, type Measurement, type Shared } from './versus-kolla/runners.js';
import { SCENARIOS, scenarioPlan, type Scenario } from './versus-kolla/scenarios.js';
import { startDockerd, startRegistry, type Service } from './versus-kolla/services.js';
import {
  configuredRelease,
  createCiBuilderWorkspace,
  createKollaWorkspace,
  PBR_VERSION,
  setBenchMarker,
  setRegexes,
  TOOLS,
  ENGINE_TOOLS,
  type EngineTool,
  type KollaWorkspace,
  type Tool,
  type Workspace,
} from './versus-kolla/workspace.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli/main.js');
const exampleConfig = join(root, 'etc/ci-builder/config.yml');
const { values: options } = parseArgs({
  options: {
    kolla: { type: 'string' },
    tree: { type: 'string', default: 'small' },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    tools: { type: 'string', default: TOOLS.join(',') },
    out: { type: 'string', default: join(root, 'bench/results/versus-kolla.json') },
    keep: { type: 'boolean', default: false },
  },
});

function usage(message: string): never {
  console.error(`bench/versus-kolla: ${message}`);
  process.exit(2);
}

function listOption<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value.split(',').filter((item) => item !== '');
  const unknown = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (unknown.length > 0 || items.length === 0) usage(`--${what}: one or more of ${allowed.join(',')}`);
  // Run in the canonical order whatever order they were given in.
  return allowed.filter((item) => items.includes(item));
}

const tools = listOption(options.tools, TOOLS, 'tools');
const scenarios = listOption(options.scenarios, SCENARIOS, 'scenarios');
if (options.kolla === undefined || !existsSync(options.kolla)) usage('--kolla DIR: a Kolla checkout is needed');
const kollaCheckout = resolve(options.kolla);
if (!existsSync(cli)) usage(`${cli} is missing: run npm run build first`);
const regexes = (() => {
  switch (options.tree) {
    case 'small':
      return ['^cron$', '^memcached$', '^keystone$'];
    case 'library':
      // The sets' regexes, given to both tools alike (kolla-build has no sets of ours).
      return setRegexes(exampleConfig, ['overcloud', 'seed']);
    default:
      return usage('--tree: small or library');
  }
})();

const stamp = new Date()
  .toISOString()
  .replace(/[-:]/g, '')
  .replace(/\.\d+Z$/, '');
// Short: dockerd's socket path must fit a unix socket address.
const work = mkdtempSync('/tmp/versus-');
const services: Service[] = [];

function say(line: string) {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** The last lines of a run's log, for a failure message. */
function tail(log: string): string {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-6).join('\n') : '';
}

/** The bench's images leave buildah's and podman's shared storage with it (the dockerd's data root goes whole). */
function removeBuildahImages(): void {
  const listed = spawnSync('buildah', ['images', '--format', '{{.Name}}:{{.Tag}}'], { encoding: 'utf8' });
  const ours = listed.stdout.split('\n').filter((reference) => reference.endsWith(stamp));
  if (ours.length > 0) spawnSync('buildah', ['rmi', ...ours], { stdio: 'ignore' });
}

interface Bench {
  shared: Shared;
  workspaces: Map<Tool, Workspace>;
  prepSeconds: Partial<Record<EngineTool, number>>;
}

/** ci-builder's `^base$` per engine, unmeasured: puts the bootstrapped base image where both tools find it. */
async function prepare(dockerHost: string, registry: string): Promise<Bench> {
  // kolla-build finds the base image in the bench's dockerd, so docker prepares it for kolla-build too.
  const engines = ENGINE_TOOLS.filter(
    (tool) => tools.includes(tool) || (tool === 'docker' && tools.includes('kolla-build')),
  );
  const partial: Shared = { dockerHost, registry, namespace: 'ci-builder-dev', baseImage: '', baseTag: '', threads: 2 };
  const prepSeconds: Bench['prepSeconds'] = {};
  let base: { image: string; tag: string } | undefined;
  for (const engine of engines) {
    const workspace = createCiBuilderWorkspace(
      join(work, `prepare-${engine}`),
      engine,
      join(root, 'images'),
      exampleConfig,
      registry,
    );
    setBenchMarker(workspace.tree, `${stamp}-prepare-${engine}`);
    const request = { label: 'prepare', tag: `vs-prepare-${stamp}`, push: false, regexes: ['^base$'] };
    say(`preparing the base image in ${engine} (ci-builder ^base$, not measured)`);
    const run = await runCiBuilder({ cli, workspace, shared: partial, request });
    if (run.exitCode !== 0) throw new Error(`preparing ${engine} failed (exit ${run.exitCode}): ${tail(run.log)}`);
    prepSeconds[engine] = run.seconds;
    base = baseImageOf(join(workspace.dir, 'runs/prepare'));
  }
  if (base === undefined) throw new Error('no engine prepared a base image');
  const shared = { ...partial, baseImage: base.image, baseTag: base.tag };
  const workspaces = new Map<Tool, Workspace>();
  const release = configuredRelease(exampleConfig);
  for (const tool of tools) {
    const dir = join(work, tool);
    workspaces.set(
      tool,
      tool === 'kolla-build'
        ? createKollaWorkspace(dir, kollaCheckout, join(root, 'images'), release)
        : createCiBuilderWorkspace(dir, tool, join(root, 'images'), exampleConfig, registry),
    );
  }
  return { shared, workspaces, prepSeconds };
}

async function measure(bench: Bench, tool: Tool, scenario: Scenario): Promise<Measurement> {
  const workspace = bench.workspaces.get(tool);
  if (workspace === undefined) throw new Error(`no workspace for ${tool}`);
  const request = {
    label: scenario,
    tag: `vs-${scenario}-${tool}-${stamp}`,
    push: scenarioPlan(scenario).push,
    regexes,
  };
  say(`${scenario}: ${tool}`);
  const run =
    tool === 'kolla-build'
      ? await runKollaBuild(workspace as KollaWorkspace, bench.shared, request)
      : await runCiBuilder({ cli, workspace, shared: bench.shared, request });
  const failed = run.exitCode !== 0 || run.failed.length > 0;
  say(
    `${scenario}: ${tool} ${run.seconds.toFixed(1)} s, built ${run.built.length}, reused ${run.reused.length}` +
      (failed ? `, FAILED (exit ${run.exitCode}: ${run.failed.join(' ')})\n${tail(run.log)}` : ''),
  );
  return run;
}

/** Both tools must have built the same images from the same Dockerfiles, or the timings compare nothing. */
function checkSameWork(scenario: Scenario, runs: Partial<Record<Tool, Measurement>>): string[] {
  const problems: string[] = [];
  const present = TOOLS.map((tool) => runs[tool]).filter((run): run is Measurement => run !== undefined);
  const [reference, ...others] = present;
  if (reference === undefined) return problems;
  for (const other of others) {
    for (const difference of dockerfileDifferences(reference, other)) problems.push(`${scenario}: ${difference}`);
    const bothOk = [reference, other].every((run) => run.exitCode === 0 && run.failed.length === 0);
    const selection = bothOk ? selectionDifference(reference, other) : null;
    if (selection !== null) problems.push(`${scenario}: not the same images: ${selection}`);
  }
  return problems;
}

const machine = { hostname: hostname(), cpus: cpus().length, cpu: cpus()[0]?.model ?? '', memoryGB: totalmem() / 1e9 };

/** The JSON, written again after every scenario so a run cut short still leaves what it measured. */
function writeResults(bench: Bench, results: readonly ScenarioResult[], loadAtStart: number, complete: boolean) {
  const runs = results.flatMap((result) =>
    Object.values(result.runs).map(({ dockerfiles, ...run }) => ({
      ...run,
      scenario: result.scenario,
      images: dockerfiles.size,
    })),
  );
  const json = {
    benchmark: 'versus-kolla',
    at: new Date().toISOString(),
    complete,
    tree: options.tree,
    regexes,
    kolla: { checkout: kollaCheckout, pbrVersion: PBR_VERSION },
    machine,
    loadAverage: { start: loadAtStart, now: loadavg()[0] ?? 0 },
    base: { image: bench.shared.baseImage, tag: bench.shared.baseTag, prepareSeconds: bench.prepSeconds },
    rows: rows(results, tools),
    runs,
  };
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(json, null, 2)}\n`);
}

function printReport(results: readonly ScenarioResult[]): void {
  const allRows = rows(results, tools);
  console.log(
    `\nci-builder versus kolla-build, tree ${options.tree} (${regexes.join(' ')}), ${new Date().toISOString()}`,
  );
  console.log(`kolla-build: ${kollaCheckout} (PBR_VERSION ${PBR_VERSION}); machine: ${machine.cpus} × ${machine.cpu}`);
  console.log('seconds are wall time of the whole command; (n) images built; load: 1-min load average at the start\n');
  for (const line of table(allRows)) console.log(line);
  console.log(`\n${packageCacheRatios(allRows)}`);
  const stepped = results.flatMap(({ scenario, runs }) =>
    Object.values(runs).flatMap((run) => (run.steps === null ? [] : [{ scenario, tool: run.tool, steps: run.steps }])),
  );
  if (stepped.length > 0) {
    console.log(
      "\nci-builder's own steps (summary.json's build_steps, summed over the images built; other: the rest of",
    );
    console.log(
      "an image's seconds, own share: all but the engine's build; before/after: the command outside the run)\n",
    );
    for (const line of ownStepsTable(stepped)) console.log(line);
  }
  for (const scenario of scenarios) {
    const caveat = scenarioPlan(scenario).kollaBuildCaveat;
    if (caveat !== null && tools.includes('kolla-build')) console.log(`${scenario}: ${caveat}`);
  }
  console.log(`\nwritten to ${options.out}`);
}

async function main(): Promise<number> {
  const loadAtStart = loadavg()[0] ?? 0;
  const registry = await startRegistry(join(work, 'registry'));
  services.push(registry);
  const dockerd = await startDockerd(join(work, 'dockerd'));
  services.push(dockerd);
  const bench = await prepare(dockerd.address, registry.address);
  say(`base image ${bench.shared.baseImage}:${bench.shared.baseTag}; images: ${regexes.join(' ')}`);
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    const plan = scenarioPlan(scenario);
    for (const workspace of bench.workspaces.values()) plan.change(workspace, stamp);
    const loadAverage = loadavg()[0] ?? 0;
    const runs: ScenarioResult['runs'] = {};
    for (const tool of tools) runs[tool] = await measure(bench, tool, scenario);
    results.push({ scenario, loadAverage, runs });
    writeResults(bench, results, loadAtStart, false);
    const problems = checkSameWork(scenario, runs);
    if (problems.length > 0) {
      for (const problem of problems.slice(0, 20)) console.error(`bench/versus-kolla: ${problem}`);
      console.error('bench/versus-kolla: the tools did not build the same thing; the timings would compare nothing');
      return 1;
    }
  }
  writeResults(bench, results, loadAtStart, true);
  printReport(results);
  return rows(results, tools).some((row) => Object.keys(row.failed).length > 0) ? 1 : 0;
}

async function stopAll(): Promise<void> {
  for (const service of services.reverse()) await service.stop();
  if (tools.includes('buildah') || tools.includes('podman')) removeBuildahImages();
  if (!options.keep) rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
}

process.once('SIGINT', () => {
  void stopAll()
    .catch(() => undefined)
    .finally(() => process.exit(130));
});
try {
  process.exitCode = await main();
} catch (error) {
  console.error(`bench/versus-kolla: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
