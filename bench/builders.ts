/**
 * Benchmark of one run spread over several builders. Prints two tables and writes JSON.
 *
 *   node --import tsx bench/builders.ts [--kolla-dir /tmp/kolla-2025.1] [--slots 2] [--pull-seconds 15]
 *                                       [--reuse-real bench/results/builders.json] [--out bench/results/builders.json]
 *
 * (a) Real: the bundled subset (^cron$ ^memcached$ ^keystone$) built cold on 1, then on 2 dockerd builders
 *     on loopback TCP, each case on freshly started daemons (an empty BuildKit cache) pushing to one local
 *     registry. On a 2-core host both daemons share the same cores: the ratio shows the contention, not the
 *     speed-up of two real hosts.
 * (b) Simulated: the Kolla release's image graph (`images deps --kolla-dir`) placed on 1/2/4/8/16 builders by
 *     the real placement function (src/shard/placement.ts), ready images taken longest chain first as the
 *     scheduler does. Per-image durations come from the real 1-builder run where names match (base,
 *     openstack-base, keystone, cron, memcached); the rest are estimated by the image's place in the tree:
 *     a service base below openstack-base (`*-base`) costs as keystone, an image below a service base or
 *     below base costs as the mean of cron and memcached, any other `*-base` as memcached. A child placed on
 *     a builder that does not hold its parent pays --pull-seconds first. Compared with the critical-path
 *     bound (the longest chain of durations) and the total-work bound (all durations over all slots).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { RunSummary } from '../src/report/summary.js';
import { placeImage, type BuilderLoad } from '../src/shard/placement.js';
import { buildWorkspace } from '../test/helpers/build-workspace.js';
import { startDockerd, type TestDockerd } from '../test/helpers/dockerd.js';
import { startRegistry } from '../test/helpers/registry.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    'kolla-dir': { type: 'string', default: '/tmp/kolla-2025.1' },
    slots: { type: 'string', default: '2' },
    'pull-seconds': { type: 'string', default: '15' },
    'reuse-real': { type: 'string' },
    /** The real cases in the order they run (the second may profit from what the first left, e.g. mirror caches). */
    cases: { type: 'string', default: '1,2' },
    out: { type: 'string', default: join(root, 'bench/results/builders.json') },
  },
});
const SUBSET = ['^cron$', '^memcached$', '^keystone$'];
const SLOTS = Number(values.slots);
const PULL_SECONDS = Number(values['pull-seconds']);
const BUILDER_COUNTS = [1, 2, 4, 8, 16];

interface RealCase {
  builders: number;
  seconds: number;
  exitCode: number | null;
  /** Where each image was built and how long its build took. */
  images: Record<string, { builder: string; build_seconds: number }>;
}

async function realCase(count: number): Promise<RealCase> {
  const registry = await startRegistry();
  const daemons: TestDockerd[] = await Promise.all(Array.from({ length: count }, () => startDockerd({ tcp: true })));
  try {
    const workspace = buildWorkspace(registry, { engine: 'docker' });
    const tag = `bench-builders-${count}`;
    const args = ['--config', workspace.configDir, '-q', 'build', '--push', '--tag', tag];
    args.push('--builders', daemons.map((daemon) => daemon.host).join(','), ...SUBSET);
    const started = process.hrtime.bigint();
    const result = spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), ...args], {
      cwd: workspace.dir,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const summary = JSON.parse(readFileSync(join(workspace.runsDir, tag, 'summary.json'), 'utf8')) as RunSummary;
    const images = Object.fromEntries(
      Object.entries(summary.images).map(([name, record]) => [
        name,
        { builder: record.builder ?? daemons[0]?.host ?? '', build_seconds: record.build_seconds ?? 0 },
      ]),
    );
    return { builders: count, seconds, exitCode: result.status, images };
  } finally {
    await Promise.all([registry.stop(), ...daemons.map((daemon) => daemon.stop())]);
  }
}

/** `images deps --format json`: nested `{parent: [child | {child: [...]}]}` lists. */
type DepsTree = Array<string | Record<string, DepsTree>>;

function kollaGraph(kollaDir: string): Map<string, string | null> {
  const output = spawnSync(
    process.execPath,
    [
      join(root, 'dist/cli/main.js'),
      'images',
      'deps',
      '--kolla-dir',
      kollaDir,
      '--distro',
      'debian',
      '--format',
      'json',
    ],
    // A checkout without git metadata needs its version given, as kolla-build itself does.
    { encoding: 'utf8', env: { ...process.env, PBR_VERSION: process.env.PBR_VERSION ?? '20.0.0' } },
  );
  if (output.status !== 0) throw new Error(`images deps failed: ${output.stderr}`);
  const parents = new Map<string, string | null>();
  const walk = (tree: DepsTree, parent: string | null) => {
    for (const entry of tree) {
      if (typeof entry === 'string') parents.set(entry, parent);
      else
        for (const [name, children] of Object.entries(entry)) {
          parents.set(name, parent);
          walk(children, name);
        }
    }
  };
  walk(JSON.parse(output.stdout) as DepsTree, null);
  return parents;
}

/** Measured durations where names match; the documented estimate by the image's place otherwise. */
function durations(parents: Map<string, string | null>, measured: Record<string, number>) {
  const known = (name: string) => measured[name];
  const small = ((known('cron') ?? 30) + (known('memcached') ?? 30)) / 2;
  const serviceBase = known('keystone') ?? 120;
  const result = new Map<string, { seconds: number; source: string }>();
  for (const [name, parent] of parents) {
    const recorded = known(name);
    if (recorded !== undefined) result.set(name, { seconds: recorded, source: 'measured' });
    else if (name.endsWith('-base') && parent === 'openstack-base')
      result.set(name, { seconds: serviceBase, source: 'as keystone' });
    else if (name.endsWith('-base')) result.set(name, { seconds: known('memcached') ?? 30, source: 'as memcached' });
    else result.set(name, { seconds: small, source: 'as cron/memcached' });
  }
  return result;
}

/** The longest chain below each image, in images: the scheduler's priority. */
function chainLengths(parents: Map<string, string | null>): Map<string, number> {
  const children = new Map<string, string[]>();
  for (const [name, parent] of parents) if (parent) children.set(parent, [...(children.get(parent) ?? []), name]);
  const lengths = new Map<string, number>();
  const length = (name: string): number =>
    lengths.get(name) ??
    (lengths.set(name, 1 + Math.max(0, ...(children.get(name) ?? []).map(length))), lengths.get(name) ?? 1);
  for (const name of parents.keys()) length(name);
  return lengths;
}

interface Simulated {
  builders: number;
  slots: number;
  makespan: number;
  pulls: number;
  busiest_share: number;
}

function simulate(
  parents: Map<string, string | null>,
  cost: Map<string, { seconds: number }>,
  builderCount: number,
): Simulated {
  const priority = chainLengths(parents);
  const loads: Array<BuilderLoad & { holds: Set<string>; work: number }> = Array.from(
    { length: builderCount },
    (_, index) => ({ name: `b${index}`, slots: SLOTS, running: 0, lost: false, holds: new Set<string>(), work: 0 }),
  );
  const children = new Map<string, string[]>();
  for (const [name, parent] of parents) if (parent) children.set(parent, [...(children.get(parent) ?? []), name]);
  const ready = [...parents].filter(([, parent]) => parent === null).map(([name]) => name);
  const running: Array<{ name: string; builder: (typeof loads)[number]; ends: number }> = [];
  let now = 0;
  let pulls = 0;
  while (ready.length > 0 || running.length > 0) {
    ready.sort((a, b) => (priority.get(b) ?? 0) - (priority.get(a) ?? 0) || a.localeCompare(b));
    for (let index = 0; index < ready.length;) {
      const name = ready[index] ?? '';
      const needs = parents.get(name) ?? null;
      const chosen = loads.find((load) => load.name === placeImage({ needs }, loads));
      if (chosen === undefined) break;
      ready.splice(index, 1);
      const pull = needs !== null && !chosen.holds.has(needs) ? PULL_SECONDS : 0;
      if (pull > 0) pulls++;
      if (needs !== null) chosen.holds.add(needs);
      const seconds = (cost.get(name)?.seconds ?? 0) + pull;
      chosen.running++;
      chosen.work += seconds;
      running.push({ name, builder: chosen, ends: now + seconds });
    }
    running.sort((a, b) => a.ends - b.ends);
    const done = running.shift();
    if (done === undefined) break;
    now = done.ends;
    done.builder.running--;
    done.builder.holds.add(done.name);
    ready.push(...(children.get(done.name) ?? []));
  }
  const busiest = Math.max(...loads.map((load) => load.work));
  const total = loads.reduce((sum, load) => sum + load.work, 0);
  return { builders: builderCount, slots: SLOTS, makespan: now, pulls, busiest_share: busiest / total };
}

function criticalPath(parents: Map<string, string | null>, cost: Map<string, { seconds: number }>): number {
  const pathTo = new Map<string, number>();
  const upTo = (name: string): number => {
    const known = pathTo.get(name);
    if (known !== undefined) return known;
    const parent = parents.get(name) ?? null;
    const value = (cost.get(name)?.seconds ?? 0) + (parent === null ? 0 : upTo(parent));
    pathTo.set(name, value);
    return value;
  };
  return Math.max(...[...parents.keys()].map(upTo));
}

const real: RealCase[] = values['reuse-real']
  ? (JSON.parse(readFileSync(values['reuse-real'], 'utf8')) as { real: RealCase[] }).real
  : await runCases(values.cases.split(',').map(Number));

async function runCases(counts: number[]): Promise<RealCase[]> {
  const cases: RealCase[] = [];
  for (const count of counts) cases.push(await realCase(count));
  return cases.sort((a, b) => a.builders - b.builders);
}
console.log(
  `\n(a) bundled subset, cold, dockerd builders on loopback TCP, same 2-core host; run order ${values.cases}`,
);
console.log('| builders | wall s | × 1 builder | images per builder | exit |');
console.log('| ---: | ---: | ---: | --- | ---: |');
const single = real[0]?.seconds ?? 1;
for (const entry of real) {
  const perBuilder = new Map<string, number>();
  for (const record of Object.values(entry.images))
    perBuilder.set(record.builder, (perBuilder.get(record.builder) ?? 0) + 1);
  const spread = [...perBuilder.values()].join(' + ');
  const ratio = (entry.seconds / single).toFixed(2);
  console.log(`| ${entry.builders} | ${entry.seconds.toFixed(1)} | ${ratio} | ${spread} | ${entry.exitCode} |`);
}

const measured = Object.fromEntries(
  Object.entries(real[0]?.images ?? {}).map(([name, record]) => [name, record.build_seconds]),
);
const parents = kollaGraph(values['kolla-dir']);
const cost = durations(parents, measured);
const totalWork = [...cost.values()].reduce((sum, entry) => sum + entry.seconds, 0);
const critical = criticalPath(parents, cost);
const sources = new Map<string, number>();
for (const entry of cost.values()) sources.set(entry.source, (sources.get(entry.source) ?? 0) + 1);
const simulated = BUILDER_COUNTS.map((count) => {
  const result = simulate(parents, cost, count);
  const workBound = totalWork / (count * SLOTS);
  const bound = Math.max(critical, workBound);
  return { ...result, critical_path_bound: critical, total_work_bound: workBound, over_bound: result.makespan / bound };
});
console.log(
  `\n(b) simulated Kolla release graph: ${parents.size} images (debian), ${SLOTS} slots per builder, ` +
    `${PULL_SECONDS} s per parent pull; durations: ${[...sources].map(([source, n]) => `${n} ${source}`).join(', ')}`,
);
console.log(
  '| builders | makespan s | critical-path bound s | total-work bound s | × max(bound) | pulls | busiest share |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const row of simulated)
  console.log(
    `| ${row.builders} | ${row.makespan.toFixed(0)} | ${row.critical_path_bound.toFixed(0)} | ` +
      `${row.total_work_bound.toFixed(0)} | ${row.over_bound.toFixed(2)} | ${row.pulls} | ` +
      `${row.busiest_share.toFixed(2)} |`,
  );
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(
  values.out,
  `${JSON.stringify(
    {
      benchmark: 'builders',
      at: new Date().toISOString(),
      subset: SUBSET,
      order: values.cases,
      real,
      simulation: {
        kolla_dir: values['kolla-dir'],
        images: parents.size,
        slots_per_builder: SLOTS,
        pull_seconds: PULL_SECONDS,
        total_work_seconds: totalWork,
        duration_sources: Object.fromEntries(sources),
        rows: simulated,
      },
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwritten to ${values.out}`);
if (real.some((entry) => entry.exitCode !== 0)) process.exitCode = 1;
