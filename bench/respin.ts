/**
 * The respin benchmark on the bundled library, against pinned snapshots that really differ: A (Debian
 * bookworm), B (A with bookworm-updates and -security) and C (A with memcached one version up), made
 * with aptly from Debian's packages (bench/respin/library-packages.txt) and served as versions 1, 2, 3
 * of one distribution by the stand-in Pulp, the images pushed to a local registry. In one run, one engine:
 *
 *   cold at A (--push); A→B and A→C full rebuilds (`build --full`); A→B and A→C patch runs (`build`).
 *
 * Each respin starts from the cold build's images and the host cache as the cold build left it (the
 * images of the respin before it are removed from the engine) and the same settled disk (what was removed
 * written out and past the window in which the filesystem skips it: respin/settle-disk.ts). Per run: wall
 * seconds, images built, reused and patched (summary.json), the stacks' seconds by step summed over the run
 * (summary.json's stack_steps), MB pushed (the registry's storage growth),
 * `ci-builder images test`, and whether every installed package is the one its snapshot holds; then the
 * checks: patch ≡ full per image (name=version, and file by file: what `dpkg --verify` says of each
 * installed file the tree does not tell dpkg to leave out), C differs from A by the bumped package alone.
 * Prints tables, writes JSON.
 *
 *   node --import tsx bench/respin.ts [--engine buildah|docker|podman] [--skip-patch] [--scenarios LIST] [--keep]
 *       [--threads N] [--compose] [--pipeline] [--kolla DIR] [--debian-index] [--out bench/results/respin.json] [regex ...]
 *
 * --skip-patch runs the cold build and the full rebuilds only; --scenarios runs only these of cold, b-full,
 * c-full, b-patch, c-patch (comma-separated; the cold build always runs: every respin starts from it);
 * --keep leaves the cold build's and the last run's images in the engine and the workspace (each run's folder, its
 *   build.log) where it says;
 * --threads N is given to every run's build (images at once; the configuration's default otherwise);
 * --compose sets respin.compose registry: stacked images are put together at the registry, not in the engine's
 *   store (unless an image of the run is built on them); they are pulled into the engine for the checks, timed apart;
 *   without it the bench sets respin.compose store, so the stack in the store is measured (the default is auto);
 * --pipeline runs the full rebuilds and the respins as `pipeline` (one run of the same images, each scanned by
 *   the built-in scanner against a one-record OSV database before its push) instead of `build`; the cold build
 *   stays `build`;
 * --kolla DIR (a Kolla checkout) also has kolla-build rebuild the same tree at B right after ci-builder's full
 *   rebuild, as operators run it: through the authenticating proxy, on its own dockerd, pushing to the same registry
 *   (respin/kolla-peer.ts); checked to have built the same Dockerfiles and packages as that rebuild, and the full
 *   rebuild and the respin are given as ratios of its time;
 * --debian-index serves each snapshot with an index as large as Debian's bookworm main (respin/debian-sized-index.ts:
 *   Debian's own stanzas added, renamed and without relations, so nothing resolves otherwise), as an operator's Pulp
 *   snapshot has: every `apt-get update` then costs what it costs there;
 * regexes select images instead of the sets overcloud and seed (a quick try: ^memcached$).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ENGINE_NAMES } from '../src/config/schema.js';
import { createEngine } from '../src/engine/index.js';
import { PATCH_STEPS } from '../src/report/events.js';
import type { RunSummary } from '../src/report/summary.js';
import type { SmokeResult } from '../src/smoke/smoke-test.js';
import { startFakePulp } from '../test/helpers/fake-pulp.js';
import { folderBytes, writeTree } from '../test/helpers/files.js';
import { osvRecord } from '../test/helpers/osv-fixture.js';
import { installedPackages } from '../test/helpers/installed-packages.js';
import { startRegistry } from '../test/helpers/registry.js';
import { writeRegistryAuth } from '../src/run/registry-auth.js';
import { readPackagesIndex } from '../test/helpers/snapshot-repos/packages-index.js';
import { pulpContent, SNAPSHOT_VERSIONS, snapshotRepos } from '../test/helpers/snapshot-repos.js';
import { LIBRARY_PACKAGES, readPackageList } from './respin/package-list.js';
import {
  compareRuns,
  describeDifferences,
  notFromSnapshot,
  type Comparison,
  type PackageSets,
} from './respin/package-sets.js';
import {
  countsOf,
  patchVerdict,
  SCENARIO_IDS,
  SCENARIOS,
  type Scenario,
  type ScenarioResult,
} from './respin/scenarios.js';
import { pinSnapshot, respinWorkspace, runCli, saveCache, type RespinWorkspace } from './respin/workspace.js';
import { settleDisk } from './respin/settle-disk.js';
import { excludedByDpkg, parsePathFilters, verifiedFiles } from './respin/verified-files.js';
import { measureKollaBuild, type KollaPeerResult } from './respin/kolla-peer.js';
import { debianSizedSnapshots } from './respin/debian-sized-index.js';
import { setRegexes } from './versus-kolla/workspace.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    engine: { type: 'string', default: 'buildah' },
    'skip-patch': { type: 'boolean', default: false },
    scenarios: { type: 'string', default: SCENARIO_IDS.join(',') },
    keep: { type: 'boolean', default: false },
    compose: { type: 'boolean', default: false },
    pipeline: { type: 'boolean', default: false },
    kolla: { type: 'string' },
    'debian-index': { type: 'boolean', default: false },
    threads: { type: 'string' },
    out: { type: 'string', default: join(root, 'bench/results/respin.json') },
  },
});
const engineName = ENGINE_NAMES.find((name) => name === values.engine);
if (engineName === undefined) {
  console.error(`bench/respin: --engine: expected one of ${ENGINE_NAMES.join(', ')}, got ${values.engine}`);
  process.exit(2);
}
const threads = values.threads === undefined ? [] : ['--threads', values.threads];
if (values.threads !== undefined && !/^[1-9][0-9]*$/.test(values.threads)) {
  console.error(`bench/respin: --threads: expected a whole number above 0, got ${values.threads}`);
  process.exit(2);
}
const chosen = values.scenarios.split(',').map((id) => id.trim());
const unknown = chosen.filter((id) => !SCENARIO_IDS.some((known) => known === id));
if (unknown.length > 0) {
  console.error(
    `bench/respin: --scenarios: unknown ${unknown.join(', ')}; expected some of ${SCENARIO_IDS.join(', ')}`,
  );
  process.exit(2);
}
if (values.kolla !== undefined && !chosen.includes('b-full')) {
  console.error(
    'bench/respin: --kolla: kolla-build is measured against the A→B full rebuild; add b-full to --scenarios',
  );
  process.exit(2);
}
if (values.kolla !== undefined && !existsSync(join(values.kolla, 'kolla/cmd/build.py'))) {
  console.error(`bench/respin: --kolla: ${values.kolla} is not a Kolla checkout (no kolla/cmd/build.py)`);
  process.exit(2);
}
const runs = (scenario: Scenario) =>
  scenario.mode === 'cold' || (chosen.includes(scenario.id) && !(values['skip-patch'] && scenario.mode === 'patch'));
/** The library's two sets, or regexes given to try the bench on a few images. */
const SELECTION = positionals.length > 0 ? positionals : ['--set', 'overcloud,seed'];
// Ctrl-C reaches the running ci-builder too (one process group): it stops, then the bench cleans up and ends.
const interrupt = new AbortController();
process.once('SIGINT', () => interrupt.abort());

const repos = await snapshotRepos({
  packages: readPackageList(LIBRARY_PACKAGES),
  log: (line) => console.error(line),
});
console.error(
  `snapshots: ${repos.cached ? 'cached' : 'made'} in ${repos.seconds.toFixed(1)} s (first made in ${repos.made.seconds.toFixed(0)} s, ` +
    `${(repos.made.downloadedBytes / 1e6).toFixed(0)} MB downloaded); A ${repos.counts.A} packages, ` +
    `B moves ${repos.movedInB.length}, C moves ${repos.bumped.name} ${repos.bumped.from} → ${repos.bumped.to}`,
);
const snapshotIndexes = {
  A: versionsOf(repos.folders.A),
  B: versionsOf(repos.folders.B),
  C: versionsOf(repos.folders.C),
};
function versionsOf(folder: string): Map<string, string> {
  const index = readPackagesIndex(folder, repos.suite, repos.architecture);
  return new Map([...index].map(([name, entry]) => [name, entry.version]));
}

const credential = { username: 'bench-reader', password: `pulp-${Math.random().toString(36).slice(2)}` };
// With --debian-index, the stand-in Pulp serves padded copies; the checks read the snapshots' own indexes.
const paddedDir = values['debian-index'] ? mkdtempSync(join(tmpdir(), 'ci-builder-bench-index-')) : undefined;
const served =
  paddedDir === undefined
    ? repos.folders
    : await debianSizedSnapshots(repos.folders, paddedDir, (line) => console.error(line));
const pulp = await startFakePulp({ ...credential, localContent: pulpContent({ folders: served }) });
const registry = await startRegistry();
const engine = createEngine(engineName);
const work = mkdtempSync(join(tmpdir(), 'ci-builder-bench-respin-'));
const stamp = Date.now();
const results: ScenarioResult[] = [];
const packageSets = new Map<string, PackageSets>();
/** path → `dpkg --verify`'s word on it, per image, per scenario (compared as package sets are). */
const verifySets = new Map<string, PackageSets>();
/** What the bundled tree's base tells dpkg to leave out. */
const DPKG_FILTERS = parsePathFilters(readFileSync(join(root, 'images/base/dpkg-excludes'), 'utf8'));
const coldImages: string[] = [];
/** kolla-build's full rebuild at B (--kolla), measured right after ci-builder's. */
let kollaPeer: KollaPeerResult | undefined;
/** The registry's login as an engine auth file: the engine's pulls of composed images use it. */
const registryAuth = await writeRegistryAuth(registry.address, registry.username, registry.password);
try {
  const workspace = respinWorkspace(work, {
    engine: engineName,
    registry,
    pulp: { origin: pulp.origin, ...credential },
    compose: values.compose ? 'registry' : 'store',
  });
  const buildHelp = spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), 'build', '--help'], {
    encoding: 'utf8',
  });
  const knowsFull = /^\s+--full\b/m.test(buildHelp.stdout);
  let restoreCache: (() => void) | undefined;
  // With --keep its images stay beside the cold build's, to be looked at.
  const lastRun = SCENARIOS.filter(runs).at(-1);
  for (const scenario of SCENARIOS) {
    if (!runs(scenario)) continue;
    if (interrupt.signal.aborted) throw new Error('interrupted');
    restoreCache?.();
    await settleDisk((line) => console.error(line), interrupt.signal);
    const flags = [...(scenario.mode === 'full' && knowsFull ? ['--full'] : []), ...threads];
    const made: string[] = scenario.mode === 'cold' ? coldImages : [];
    try {
      const { result, sets, verified, runDir } = await runScenario(workspace, scenario, flags, made);
      results.push(result);
      packageSets.set(scenario.id, sets);
      verifySets.set(scenario.id, verified);
      if (scenario.id === 'b-full' && values.kolla !== undefined)
        kollaPeer = await measureKollaPeer(workspace, values.kolla, { runDir, tag: result.tag });
    } finally {
      // Gone from the engine, so the next respin starts from the cold build's images again (the registry keeps them).
      const kept = values.keep && scenario === lastRun;
      if (!kept) await removeImages(made.filter((reference) => !coldImages.includes(reference)));
    }
    if (scenario.mode === 'cold') restoreCache = saveCache(workspace);
  }
  report(knowsFull);
} finally {
  if (!values.keep) await removeImages(coldImages);
  await registryAuth.dispose();
  await pulp.stop();
  await registry.stop();
  if (paddedDir !== undefined) rmSync(paddedDir, { recursive: true, force: true });
  if (values.keep) console.log(`workspace kept: ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

/** Removes the images from the engine; one that cannot be is said, not fatal (the bench is over for it anyway). */
async function removeImages(references: readonly string[]): Promise<void> {
  for (const reference of references) {
    const removed = await engine.remove(reference);
    if (!removed.ok) console.error(`bench/respin: could not remove ${reference}: ${removed.failure.message}`);
  }
}

/** Runs one build and measures it; `made` gets the references of the images it made as soon as they are known. */
async function runScenario(
  workspace: RespinWorkspace,
  scenario: Scenario,
  flags: string[],
  made: string[],
): Promise<{ result: ScenarioResult; sets: PackageSets; verified: PackageSets; runDir: string }> {
  pinSnapshot(workspace, SNAPSHOT_VERSIONS[scenario.snapshot]);
  const command =
    values.pipeline && scenario.mode !== 'cold' ? pipelineRun(workspace, scenario) : buildRun(workspace, scenario);
  console.error(
    `\n== ${scenario.title}: ci-builder ${[...command.args, ...flags].join(' ')} (snapshot ${scenario.snapshot})`,
  );
  const storedBefore = folderBytes(registry.storageDir);
  const build = await runCli(workspace, ['-q', ...command.args, ...flags]);
  const pushedMB = (folderBytes(registry.storageDir) - storedBefore) / 1e6;
  const summary = JSON.parse(readFileSync(command.summaryFile, 'utf8')) as RunSummary;
  const { tag } = summary;
  const present = Object.entries(summary.images).filter(
    ([, record]) => record.status !== 'failed' && record.status !== 'skipped',
  );
  made.push(
    ...present.map(([, record]) => record.reference),
    ...(summary.base_image ? [summary.base_image.reference] : []),
  );
  // Composed images are in the registry only: pulled for the checks, timed apart from the run.
  const pullStarted = performance.now();
  for (const [name, record] of present) {
    if (!record.composed_at_registry) continue;
    const pulled = await engine.pull({
      reference: record.reference,
      authFile: registryAuth.file,
      insecure: true,
      onLine: () => {},
      signal: interrupt.signal,
    });
    if (!pulled.ok) console.error(`bench/respin: ${name}: cannot pull ${record.reference}: ${pulled.failure.message}`);
  }
  const composedPullSeconds = (performance.now() - pullStarted) / 1000;
  const counts = countsOf(summary);
  const sets: PackageSets = {};
  const verified: PackageSets = {};
  for (const [name, record] of present) {
    sets[name] = await installedPackages(engine, record.reference);
    // Files the tree tells dpkg to leave out (docs, man pages, locales) are missing wherever a package was
    // unpacked after base set that up, and present where the bootstrap unpacked it: a patch and a full build
    // differ there by design, so the comparison is of every other file.
    const files = await verifiedFiles(engine, record.reference);
    verified[name] = new Map([...files].filter(([path]) => !excludedByDpkg(path, DPKG_FILTERS)));
  }
  const test = await runCli(workspace, ['--json', 'images', 'test', ...SELECTION, '--tag', tag]);
  const tested = JSON.parse(test.stdout || '[]') as SmokeResult[];
  const respin = Object.fromEntries(
    Object.entries(summary.images).flatMap(([name, record]) =>
      record.respin === undefined ? [] : [[name, record.respin]],
    ),
  );
  const result: ScenarioResult = {
    ...scenario,
    tag,
    flags,
    exitCode: build.code,
    wallSeconds: build.seconds,
    beforeRunSeconds: summary.started_at ? (Date.parse(summary.started_at) - build.startedAt) / 1000 : null,
    ...counts,
    composed: { ...counts.composed, pullSeconds: composedPullSeconds },
    pushedMB,
    imagesTest: {
      exitCode: test.code,
      tested: tested.length,
      failedChecks: tested.flatMap((image) => image.checks.filter((check) => check.status === 'fail')).length,
      failed: tested.flatMap((image) =>
        image.checks
          .filter((check) => check.status === 'fail')
          .map((check) => `${image.image} ${check.check}: ${check.detail}`),
      ),
    },
    notFromSnapshot: notFromSnapshot(sets, snapshotIndexes[scenario.snapshot]),
    respin,
  };
  return { result, sets, verified, runDir: dirname(command.summaryFile) };
}

/**
 * kolla-build rebuilding the same tree at B (bench/respin/kolla-peer.ts), on a settled disk as every run; its
 * package sets are kept as `b-kolla` for the checks.
 */
async function measureKollaPeer(
  workspace: RespinWorkspace,
  checkout: string,
  full: { runDir: string; tag: string },
): Promise<KollaPeerResult> {
  await settleDisk((line) => console.error(line), interrupt.signal);
  const config = join(workspace.configDir, 'config.yml');
  const configuredThreads = /^threads: (\d+)$/m.exec(readFileSync(config, 'utf8'))?.[1] ?? '2';
  console.error(`\n== A→B kolla-build: ${checkout}, docker (classic builder), snapshot B`);
  const peer = await measureKollaBuild({
    dir: join(workspace.dir, 'kolla-peer'),
    checkout,
    imagesDir: workspace.imagesDir,
    configDir: workspace.configDir,
    cacheDir: workspace.cacheDir,
    registry,
    namespace: 'bench-respin',
    full,
    tag: `respin-b-kolla-${stamp}`,
    regexes: positionals.length > 0 ? positionals : setRegexes(config, ['overcloud', 'seed']),
    threads: Number(values.threads ?? configuredThreads),
    storedBytes: () => folderBytes(registry.storageDir),
    log: (line) => console.error(line),
  });
  packageSets.set('b-kolla', peer.sets);
  console.error(`A→B kolla-build: ${peer.seconds.toFixed(1)} s, built ${peer.built.length}, exit ${peer.exitCode}`);
  return peer;
}

/** `build` of the selection under the scenario's own tag, its summary where every build's goes. */
function buildRun(workspace: RespinWorkspace, scenario: Scenario): { args: string[]; summaryFile: string } {
  const tag = `respin-${scenario.id}-${stamp}`;
  return {
    args: ['build', ...SELECTION, '--push', '--auth-proxy', '--tag', tag],
    summaryFile: join(workspace.dir, '.ci-builder/runs', tag, 'summary.json'),
  };
}

/**
 * `pipeline` of the same images as one run (the overcloud set, its regexes replaced by the selection's images),
 * each scanned before its push against a database of one record that matches nothing here.
 */
function pipelineRun(workspace: RespinWorkspace, scenario: Scenario): { args: string[]; summaryFile: string } {
  const record = osvRecord({ id: 'PYSEC-0000-0', ecosystem: 'PyPI', name: 'no-such-distribution', fixed: '1.0' });
  writeTree(join(workspace.dir, 'osv'), { 'PyPI/PYSEC-0000-0.json': JSON.stringify(record) });
  const artifacts = join(workspace.dir, `artifacts-${scenario.id}`);
  const names = spawnSync(
    process.execPath,
    [join(root, 'dist/cli/main.js'), '--config', workspace.configDir, 'images', 'list', ...SELECTION],
    { encoding: 'utf8', cwd: workspace.dir },
  )
    .stdout.split('\n')
    .filter(Boolean);
  const regexes = names.map((name) => `^${name}$`);
  const scan = ['--osv-db', join(workspace.dir, 'osv'), '--artifacts', artifacts];
  return {
    args: ['pipeline', '--set', 'overcloud', '--push', '--auth-proxy', ...scan, ...regexes],
    summaryFile: join(artifacts, 'debian', 'overcloud', 'summary.json'),
  };
}

interface Check {
  check: string;
  passed: boolean | null;
  detail: string;
}

function checks(): Check[] {
  const unpairedNote = (comparison: Comparison) =>
    comparison.unpaired.length > 0 ? ` (not compared, failed on one side: ${comparison.unpaired.join(', ')})` : '';
  const samePackages = (full: string, patch: string, what: string, of = packageSets): Check => {
    const [left, right] = [of.get(full), of.get(patch)];
    if (left === undefined || right === undefined) return { check: what, passed: null, detail: 'not run' };
    const comparison = compareRuns(left, right);
    const found = comparison.differences;
    // An image made on one side only was not compared: nothing says it would be equal.
    return {
      check: what,
      passed: found.length === 0 && comparison.unpaired.length === 0 && comparison.compared.length > 0,
      detail: `${found.length === 0 ? `${comparison.compared.length} images equal` : describeDifferences(found)}${unpairedNote(comparison)}`,
    };
  };
  const onlyBumped = (): Check => {
    const what = `C full differs from A by ${repos.bumped.name} alone`;
    const [a, c] = [packageSets.get('cold'), packageSets.get('c-full')];
    if (a === undefined || c === undefined) return { check: what, passed: null, detail: 'not run' };
    const comparison = compareRuns(a, c);
    const found = comparison.differences;
    const bumpedOnly = found.every(
      (entry) =>
        entry.name === repos.bumped.name && entry.left === repos.bumped.from && entry.right === repos.bumped.to,
    );
    const images = found.map((entry) => entry.image);
    const passed = found.length > 0 && bumpedOnly && comparison.unpaired.length === 0;
    return {
      check: what,
      passed,
      detail: `${passed ? `${repos.bumped.to} in ${images.join(', ')}; every other package equal` : describeDifferences(found)}${unpairedNote(comparison)}`,
    };
  };
  return [
    samePackages('b-full', 'b-patch', 'A→B: patch ≡ full (name=version per image)'),
    samePackages('c-full', 'c-patch', 'A→C: patch ≡ full (name=version per image)'),
    samePackages(
      'b-full',
      'b-patch',
      'A→B: patch ≡ full (dpkg --verify per image, paths dpkg excludes left out)',
      verifySets,
    ),
    samePackages(
      'c-full',
      'c-patch',
      'A→C: patch ≡ full (dpkg --verify per image, paths dpkg excludes left out)',
      verifySets,
    ),
    onlyBumped(),
    ...kollaChecks(samePackages),
    ...results.map((result) => ({
      check: `${result.title}: images test`,
      passed: result.imagesTest.exitCode === 0,
      detail: `${result.imagesTest.tested} images, ${result.imagesTest.failedChecks} failed checks${result.imagesTest.failed.map((line) => `; ${line}`).join('')}`,
    })),
    ...results.map((result) => ({
      check: `${result.title}: every package from snapshot ${result.snapshot}`,
      passed: result.notFromSnapshot.length === 0,
      detail: result.notFromSnapshot.length === 0 ? 'yes' : describeDifferences(result.notFromSnapshot),
    })),
  ];
}

/** That kolla-build, the peer, built what ci-builder's full rebuild at B built: else its time says nothing. */
function kollaChecks(samePackages: (full: string, other: string, what: string) => Check): Check[] {
  if (kollaPeer === undefined) return [];
  const { dockerfileProblems, exitCode, built, sets } = kollaPeer;
  const notFromB = notFromSnapshot(sets, snapshotIndexes.B);
  return [
    { check: 'A→B kolla-build: exit 0', passed: exitCode === 0, detail: `exit ${exitCode}, built ${built.length}` },
    {
      check: "A→B kolla-build: the same Dockerfiles as ci-builder's full rebuild (package steps set aside)",
      passed: dockerfileProblems.length === 0,
      detail: dockerfileProblems.length === 0 ? `${built.length} images` : dockerfileProblems.join('; '),
    },
    samePackages('b-full', 'b-kolla', 'A→B: kolla-build ≡ ci-builder full (name=version per image)'),
    {
      check: 'A→B kolla-build: every package from snapshot B',
      passed: notFromB.length === 0,
      detail: notFromB.length === 0 ? 'yes' : describeDifferences(notFromB),
    },
  ];
}

/** How the full rebuild and the respin at B compare with kolla-build's rebuild of the same tree. */
function kollaRatios(): string[] {
  if (kollaPeer === undefined) return [];
  const seconds = kollaPeer.seconds;
  return (['b-full', 'b-patch'] as const).flatMap((id) => {
    const run = results.find((result) => result.id === id);
    return run === undefined
      ? []
      : [
          `${run.title} ÷ kolla-build's rebuild at B: ${run.wallSeconds.toFixed(1)} / ${seconds.toFixed(1)} s = ${(run.wallSeconds / seconds).toFixed(2)}×`,
        ];
  });
}

function report(knowsFull: boolean): void {
  const cold = results.find((result) => result.mode === 'cold');
  console.log(
    `\nrespin benchmark: bundled library, ${SELECTION.join(' ')} (${cold?.images ?? 0} images), engine ${engineName}; snapshots from Debian with aptly: ` +
      `A ${repos.counts.A} packages, B moves ${repos.movedInB.length}, C moves ${repos.bumped.name} ${repos.bumped.from} → ${repos.bumped.to}`,
  );
  console.log(
    `| run | snapshot | ci-builder ${values.pipeline ? 'build (cold) or pipeline' : 'build'} flags | wall s | before the run s | built | reused | patched (stacked) | failed | MB pushed | exit |`,
  );
  console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const result of results)
    console.log(
      `| ${result.title} | ${result.snapshot} (${SNAPSHOT_VERSIONS[result.snapshot]}) | ${['--push', ...result.flags].join(' ')} | ` +
        `${result.wallSeconds.toFixed(0)} | ${result.beforeRunSeconds?.toFixed(1) ?? '?'} | ${result.built} | ${result.reused} | ${result.patched} (${result.stacked}) | ${result.failed.length} | ` +
        `${result.pushedMB.toFixed(0)} | ${result.exitCode} |`,
    );
  if (kollaPeer !== undefined)
    console.log(
      `| A→B kolla-build (docker, classic builder) | B (${SNAPSHOT_VERSIONS.B}) | --push | ${kollaPeer.seconds.toFixed(0)} | | ` +
        `${kollaPeer.built.length} | | | ${kollaPeer.failed.length} | ${kollaPeer.pushedMB.toFixed(0)} | ${kollaPeer.exitCode} |`,
    );
  const stacking = results.filter((result) => Object.keys(result.stackSteps).length > 0);
  if (stacking.length > 0) {
    // Where the stacks' time went, step by step, in image-seconds (two images stack at once on two slots).
    // In the order the steps run; a step this ci-builder does not know of (a newer summary's) after them.
    const seen = new Set(stacking.flatMap((result) => Object.keys(result.stackSteps)));
    const known: readonly string[] = PATCH_STEPS;
    const steps = [...known.filter((step) => seen.has(step)), ...[...seen].filter((step) => !known.includes(step))];
    console.log(`\n| stacks' image-seconds | ${steps.join(' | ')} | all |`);
    console.log(`| --- |${' ---: |'.repeat(steps.length + 1)}`);
    for (const result of stacking) {
      const all = Object.values(result.stackSteps).reduce((sum, seconds) => sum + seconds, 0);
      const cells = steps.map((step) => (result.stackSteps[step] ?? 0).toFixed(1));
      console.log(`| ${result.title} (${result.stacked} stacked) | ${cells.join(' | ')} | ${all.toFixed(1)} |`);
    }
  }
  for (const result of results.filter((run) => run.composed.images > 0)) {
    const { images, pullSeconds } = result.composed;
    console.log(
      `\n${result.title}: ${images} of the stacked composed at the registry (respin.compose registry); ` +
        `pulled into the engine for the checks in ${pullSeconds.toFixed(1)} s, after the run and not in its wall seconds`,
    );
  }
  const found = checks();
  console.log('\n| check | result | detail |');
  console.log('| --- | --- | --- |');
  for (const check of found)
    console.log(
      `| ${check.check} | ${check.passed === null ? 'not run' : check.passed ? 'pass' : 'FAIL'} | ${check.detail} |`,
    );
  const notes: string[] = [];
  if (!knowsFull)
    notes.push(
      'this ci-builder has no `build --full`: the full rebuilds ran without it (with no respin, every build is full)',
    );
  for (const [full, patch] of [
    ['b-full', 'b-patch'],
    ['c-full', 'c-patch'],
  ] as const) {
    const [f, p] = [results.find((result) => result.id === full), results.find((result) => result.id === patch)];
    if (f && p) notes.push(patchVerdict(f, p));
  }
  notes.push(...kollaRatios());
  for (const note of notes) console.log(`- ${note}`);
  mkdirSync(dirname(values.out), { recursive: true });
  const fixture = { counts: repos.counts, movedInB: repos.movedInB, bumped: repos.bumped, made: repos.made };
  // Each run's installed packages (image → name=version lines), so the checks can be gone over again later.
  const packages = Object.fromEntries(
    [...packageSets].map(([id, sets]) => [
      id,
      Object.fromEntries(Object.entries(sets).map(([image, set]) => [image, [...set].map(([n, v]) => `${n}=${v}`)])),
    ]),
  );
  const kollaBuild = kollaPeer === undefined ? undefined : { ...kollaPeer, sets: undefined };
  const report = {
    benchmark: 'respin',
    engine: engineName,
    at: new Date().toISOString(),
    fixture,
    results,
    kollaBuild,
  };
  writeFileSync(values.out, `${JSON.stringify({ ...report, checks: found, notes, packages }, null, 2)}\n`);
  console.log(`written to ${values.out}`);
  if (results.some((result) => result.exitCode !== 0) || found.some((check) => check.passed === false))
    process.exitCode = 1;
}
