/**
 * Benchmark of pushing through a faulty network: the bundled subset (base chain, keystone, cron,
 * memcached) is built with buildah and pushed to Debian's docker-registry through a loopback
 * proxy that answers 503 to every 3rd blob upload and cuts every 5th blob connection mid-body.
 * The same command then runs again (same --tag and --run-dir) to push what is left.
 *
 *   node --import tsx bench/push-faults.ts [--rerun-faults on|off] [--push-attempts N]
 *                                          [--out bench/results/push-faults.json]
 *
 * Checks: the first run ends with exit 0 and every image in the registry with its own manifest
 * (an engine's push that the faults break goes on blob by blob through ci-builder's registry
 * client); after the second every image is still there; each reference's manifest PUT succeeded
 * exactly once over both runs (counted at the proxy). Exits 1 otherwise.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { BuildahEngine } from '../src/engine/buildah.js';
import { RegistryClient } from '../src/registry/client.js';
import type { RunSummary } from '../src/report/summary.js';
import { splitReference } from '../src/run/already-pushed.js';
import { buildWorkspace } from '../test/helpers/build-workspace.js';
import { startFaultProxy } from '../test/helpers/fault-proxy.js';
import { startRegistry } from '../test/helpers/registry.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    'rerun-faults': { type: 'string', default: 'on' },
    'push-attempts': { type: 'string', default: '2' },
    out: { type: 'string', default: join(root, 'bench/results/push-faults.json') },
  },
});
const regexes = ['^cron$', '^memcached$', '^keystone$'];
const tag = `faults-${Date.now()}`;

interface RunOutcome {
  seconds: number;
  exitCode: number | null;
  summary: RunSummary;
  pushFailed: string[];
}

const registry = await startRegistry();
const proxy = await startFaultProxy(registry.address, { refuseEveryNthUpload: 3, cutEveryNthBlobConnection: 5 });
const problems: string[] = [];
try {
  const workspace = buildWorkspace({ ...registry, address: proxy.address });
  const configFile = join(workspace.configDir, 'config.yml');
  const attempts = `push_attempts: ${values['push-attempts']}`;
  writeFileSync(configFile, readFileSync(configFile, 'utf8').replace(/^push_attempts: .*$/m, attempts));
  const runDir = join(workspace.dir, 'run');
  const build = ['build', '--push', '--tag', tag, '--run-dir', runDir, ...regexes];
  const args = [join(root, 'dist/cli/main.js'), '--config', workspace.configDir, '-q', ...build];

  // Not spawnSync: the registry proxy lives in this process and must keep serving.
  const run = async (): Promise<RunOutcome> => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: workspace.dir, stdio: ['ignore', 'inherit', 'inherit'] });
    const exitCode = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as RunSummary;
    const failedFile = join(runDir, 'push-failed.txt');
    const listed = existsSync(failedFile) ? readFileSync(failedFile, 'utf8') : '';
    const pushFailed = listed.split('\n').filter((line) => line !== '');
    return { seconds, exitCode, summary, pushFailed };
  };

  const engine = new BuildahEngine();
  const login = { username: registry.username, password: registry.password };
  const client = new RegistryClient(registry.address, login, { insecure: true });
  /** In the registry (asked directly, not through the proxy) with the manifest of the local image. */
  const inRegistry = async (reference: string): Promise<boolean> => {
    const parsed = splitReference(reference);
    const inspected = await engine.inspect(reference);
    const local = inspected.ok ? inspected.value : undefined;
    if (parsed === undefined || local === undefined) return false;
    const manifest = await client.getManifest(parsed.repository, parsed.tag).catch(() => undefined);
    return manifest?.config.digest.replace(/^sha256:/, '') === local.id.replace(/^sha256:/, '');
  };
  const references = (summary: RunSummary) => Object.values(summary.images).map((image) => image.reference);

  const first = await run();
  const firstLogs = logCounts(runDir, Object.keys(first.summary.images));
  const firstPushed = first.summary.pushed.filter((entry) => !entry.already).length;
  if (first.exitCode !== 0) problems.push(`first run: exit ${first.exitCode}`);
  for (const reference of references(first.summary)) {
    if (!(await inRegistry(reference)) && !first.pushFailed.includes(reference)) {
      problems.push(`first run: ${reference} neither pushed nor in push-failed.txt`);
    }
  }
  for (const reference of first.pushFailed) {
    if (await inRegistry(reference)) problems.push(`first run: ${reference} listed as failed but in the registry`);
  }

  if (values['rerun-faults'] === 'off') {
    Object.assign(proxy.faults, { refuseEveryNthUpload: 0, cutEveryNthBlobConnection: 0 });
  }
  const second = await run();
  const secondPushed = second.summary.pushed.filter((entry) => !entry.already).length;
  const secondAlready = second.summary.pushed.filter((entry) => entry.already).length;
  for (const reference of references(second.summary)) {
    if (!(await inRegistry(reference))) problems.push(`second run: ${reference} is not in the registry`);
  }
  if (second.pushFailed.length > 0) problems.push(`second run: push-failed.txt lists ${second.pushFailed.join(' ')}`);

  const successfulPuts = new Map<string, number>();
  for (const put of proxy.manifestPuts) {
    const succeeded = put.status >= 200 && put.status < 300;
    if (succeeded) successfulPuts.set(put.reference, (successfulPuts.get(put.reference) ?? 0) + 1);
  }
  const pushedTwice = [...successfulPuts].filter(([, count]) => count > 1).map(([reference]) => reference);
  for (const reference of references(second.summary)) {
    const parsed = splitReference(reference);
    const count = parsed ? (successfulPuts.get(`${parsed.repository}:${parsed.tag}`) ?? 0) : 0;
    if (count !== 1) problems.push(`${reference}: ${count} successful manifest PUTs over both runs`);
  }
  const ciBuilderRetries = [first, second]
    .flatMap((outcome) => Object.values(outcome.summary.images))
    .reduce((sum, image) => sum + Math.max(0, (image.push?.attempts ?? 1) - 1), 0);
  // The image logs hold both runs (appended): the second run's counts are the difference.
  const bothLogs = logCounts(runDir, Object.keys(second.summary.images));

  const rows: Array<[string, string | number]> = [
    ['images', references(first.summary).length],
    ['blob uploads started (at the proxy)', proxy.counts.uploadStarts],
    ['uploads refused (503)', proxy.counts.uploadsRefused],
    ['blob connections', proxy.counts.blobConnections],
    ['connections cut mid-blob', proxy.counts.connectionsCut],
    ['push retries by ci-builder (whole image)', ciBuilderRetries],
    ['retries inside buildah push', bothLogs.engineRetries],
    ['engine pushes that failed, first run (went on blob by blob)', firstLogs.fellBack],
    ['blob tries again by the client, first run', firstLogs.blobRetries],
    ['of them resumed where the registry stood / started again', `${firstLogs.resumed} / ${firstLogs.restarted}`],
    ['engine pushes that failed, second run', bothLogs.fellBack - firstLogs.fellBack],
    ['pushed, first run', firstPushed],
    ['push failed, first run', first.pushFailed.length],
    ['pushed, second run', secondPushed],
    ['already in the registry, second run', secondAlready],
    ['pushed twice', pushedTwice.length],
    ['first run wall s', first.seconds.toFixed(1)],
    ['second run wall s', second.seconds.toFixed(1)],
    ['exit codes', `${first.exitCode} then ${second.exitCode}`],
  ];
  const faults = '503 every 3rd upload, cut every 5th blob connection';
  console.log(`\nci-builder push through faults (${faults}), re-run faults ${values['rerun-faults']}`);
  console.log('| measure | value |');
  console.log('| --- | ---: |');
  for (const [measure, value] of rows) console.log(`| ${measure} | ${value} |`);
  for (const problem of problems) console.log(`PROBLEM: ${problem}`);
  mkdirSync(dirname(values.out), { recursive: true });
  const record = {
    benchmark: 'push-faults',
    regexes,
    rerunFaults: values['rerun-faults'],
    pushAttempts: Number(values['push-attempts']),
    at: new Date().toISOString(),
    counts: proxy.counts,
    rows: Object.fromEntries(rows),
    pushedTwice,
    logs: { first: firstLogs, both: bothLogs },
    problems,
  };
  writeFileSync(values.out, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`\nwritten to ${values.out}`);
  if (problems.length > 0 || second.exitCode !== 0) process.exitCode = 1;
} finally {
  await proxy.stop();
  await registry.stop();
}

/** What the image logs say about pushes: the engine's own retries, and the registry client's work. */
function logCounts(runDir: string, names: readonly string[]) {
  const text = names
    .map((name) => join(runDir, 'logs', `${name}.log`))
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n');
  const count = (pattern: RegExp) => (text.match(pattern) ?? []).length;
  return {
    engineRetries: count(/Failed, retrying in/g),
    fellBack: count(/^the engine's push failed/gm),
    blobRetries: count(/^blob [0-9a-f]{12}: try \d+ of \d+ after/gm),
    resumed: count(/going on from there$/gm),
    restarted: count(/starting it again$/gm),
  };
}
