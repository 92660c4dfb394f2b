import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { RunSummary } from '../../src/report/summary.js';
import { startCli, type CliResult } from '../helpers/cli.js';
import { startFakePulp } from '../helpers/fake-pulp.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { projectRoot, temporaryDir, writeTree } from '../helpers/files.js';
import { waitFor } from '../helpers/ports.js';
import { startRegistry } from '../helpers/registry.js';
import { startStalledSource } from '../helpers/stalled-source.js';
import {
  type BuildContainer,
  listeningPorts,
  newSince,
  processesMarked,
  takeTraces,
  tryConnect,
} from '../helpers/run-traces.js';

/** The bundled configuration, reading the bundled image tree from anywhere. */
const bundledConfig = readFileSync(join(projectRoot, 'etc/ci-builder/config.yml'), 'utf8').replace(
  /^ {2}- \.\.\/\.\.\/images$/m,
  `  - ${join(projectRoot, 'images')}`,
);

const markerFor = (name: string) => `ci-builder-${name}-${Date.now()}`;

interface InterruptCase {
  /** Tag and run folder name; also in the marker. */
  name: string;
  marker: string;
  config: string;
  secrets?: string;
  args: string[];
  env?: Record<string, string>;
  /** Images besides the run's own tag that its build containers start from. */
  fromImages?: string[];
  /** Resolves when the run is where it is to be interrupted. */
  ready: () => Promise<void>;
}

interface Interrupted {
  result: CliResult;
  summary: RunSummary;
  /** Loopback ports the CLI listened on just before the interrupt. */
  ports: number[];
  cwd: string;
}

/**
 * Runs `ci-builder build` with a marker in its environment (every engine process inherits it,
 * RUN steps get it from an ENV line), interrupts it with SIGINT when `ready` resolves, and
 * checks that it left nothing behind: no marked process, build container, mount, entry in its
 * temporary folder or listening port; exit 130 and a summary that says it was interrupted.
 */
async function interruptBuild(run: InterruptCase): Promise<Interrupted> {
  const cwd = temporaryDir();
  // The bundled config names secrets.yml: a run without credentials gets an empty one.
  const secrets: Record<string, string> = { 'secrets.yml': run.secrets ?? '{}\n' };
  const configDir = writeTree(temporaryDir(), { 'config.yml': run.config, ...secrets });
  // The run's own temporary folder (TMPDIR), so what it leaves there is told apart from other work on the host.
  const tempDir = temporaryDir('ci-builder-interrupt-tmp-');
  const before = takeTraces(tempDir);
  const { child, done } = startCli(['--config', configDir, '-v', 'build', '--tag', run.name, ...run.args], {
    cwd,
    env: { TMPDIR: tempDir, INTERRUPT_TEST_MARK: run.marker, ...run.env },
  });
  const endedEarly = done.then((result) => {
    throw new Error(`the run ended before it was interrupted (exit ${result.code}): ${result.stderr.slice(-2000)}`);
  });
  await Promise.race([run.ready(), endedEarly]);
  const ports = listeningPorts(child.pid ?? 0);
  const interruptedAt = Date.now();
  child.kill('SIGINT');
  const result = await done;
  assert.equal(result.code, 130, result.stderr.slice(-3000));
  assert.ok(Date.now() - interruptedAt < 60_000, 'stops within a minute');
  const summaryFile = join(cwd, '.ci-builder/runs', run.name, 'summary.json');
  const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary;
  assert.equal(summary.interrupted, true);
  assert.deepEqual(processesMarked(run.marker), [], 'no engine or RUN step process left');
  const ours = (container: BuildContainer) =>
    container.image.endsWith(`:${run.name}`) || (run.fromImages ?? []).includes(container.image);
  // A mount another build on the host made in the meantime goes away again; one the run left does not.
  const noNewMount = () => newSince(before, tempDir, ours).mounts.length === 0;
  await waitFor('no new mount', noNewMount, 30_000).catch(() => undefined);
  const left = newSince(before, tempDir, ours);
  // Never let the temporary folder's removal reach into a mount left there (a host /dev or /sys).
  for (const line of [...left.mounts].reverse()) {
    const point = line.split(' ')[4] ?? '';
    if (point.startsWith(`${tempDir}/`)) execFileSync('umount', ['--lazy', point]);
  }
  assert.deepEqual(left.containers, [], 'no build container left');
  assert.deepEqual(left.mounts, [], 'no mount left');
  assert.deepEqual(left.tempEntries, [], 'nothing left in the temporary folder');
  for (const port of ports) assert.equal(await tryConnect(port), 'ECONNREFUSED', `port ${port} is closed`);
  return { result, summary, ports, cwd };
}

const until = (what: string, check: () => boolean, timeoutMs = 20 * 60_000) => waitFor(what, check, timeoutMs);
/** A RUN step that sleeps, its processes marked through the environment. */
const sleepingStep = (marker: string) => `ENV INTERRUPT_TEST_MARK=${marker}\nRUN sleep 300\n`;
const sleeping = (marker: string) => () => processesMarked(marker).some((line) => line.endsWith('sleep 300'));

/** Like `until`, polling as fast as the host lets it, to catch a moment that lasts milliseconds. */
async function soon(what: string, check: () => boolean, timeoutMs = 20 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** A marked mmdebstrap process that sees its chroot's mounts (in whatever mount namespace it runs). */
function hasChrootMounts(process: string): boolean {
  const [pid = '', ...args] = process.split(' ');
  if (!args.join(' ').includes('mmdebstrap')) return false;
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, 'utf8').includes('/mmdebstrap.');
  } catch {
    return false;
  }
}

/** The bootstrapped base image in the engine, as `{image, tag}` for a config's base_image. */
function bootstrappedBase(): { image: string; tag: string } {
  const format = ['--format', '{{.Name}}:{{.Tag}}'];
  const listed = execFileSync('buildah', ['--storage-driver', 'overlay', 'images', ...format], { encoding: 'utf8' });
  const found = listed.split('\n').find((line) => line.startsWith('localhost/ci-builder/bootstrap-debian:'));
  assert.ok(found, 'a bootstrapped debian base image (the first case builds one)');
  const colon = found.lastIndexOf(':');
  return { image: found.slice(0, colon), tag: found.slice(colon + 1) };
}

describe('interrupting a run', { timeout: 60 * 60_000 }, () => {
  const stops: Array<() => Promise<void>> = [];
  after(async () => {
    for (const stop of stops) await stop();
  });

  it('while a RUN step runs: stops the engine, removes its container, writes the summary, exits 130', async () => {
    const marker = markerFor('build');
    const overlay = writeTree(temporaryDir(), {
      'slow/Dockerfile.j2': `FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\n${sleepingStep(marker)}`,
      'slow-child/Dockerfile.j2': 'FROM {{ namespace }}/{{ image_prefix }}slow:{{ tag }}\n',
    });
    const { summary } = await interruptBuild({
      name: 'interrupt-build',
      marker,
      config: bundledConfig,
      args: ['--images-dir', overlay, '^slow'],
      ready: () => until('the RUN step', sleeping(marker)),
    });
    const failed = summary.failed.map((entry) => [entry.name, entry.status]);
    assert.deepEqual(failed, [
      ['slow', 'interrupted'],
      ['slow-child', 'interrupted'],
    ]);
    assert.deepEqual(summary.skipped, []);
  });

  it('while mmdebstrap bootstraps the base image, with a fresh cache and a new base input', async () => {
    const marker = markerFor('bootstrap');
    const cache = temporaryDir('ci-builder-interrupt-cache-');
    // A comment in a sources line the image keeps is a new base input: a root filesystem to bootstrap.
    const firstSource = /^( {8}- )(deb http:\/\/deb\.debian\.org\/debian bookworm main)$/m;
    const config = bundledConfig.replace(firstSource, `$1"$2 # ${marker}"`);
    assert.notEqual(config, bundledConfig);
    const { summary } = await interruptBuild({
      name: 'interrupt-bootstrap',
      marker,
      config,
      args: ['^base$'],
      env: { CI_BUILDER_CACHE_DIR: cache },
      // As soon as its chroot's first mounts appear: mmdebstrap itself forgets mounts made while it is still mounting.
      ready: () => soon('mmdebstrap mounting its chroot', () => processesMarked(marker).some(hasChrootMounts)),
    });
    assert.equal(summary.built.length, 0);
    assert.deepEqual(readdirSync(join(cache, 'bootstrap')), [], 'no partial root filesystem in the cache');
  });

  it('while pushing: a blob upload held by the registry proxy', async () => {
    const marker = markerFor('push');
    const registry = await startRegistry();
    stops.push(() => registry.stop());
    const proxy = await startFaultProxy(registry.address, { holdBlobBodies: true });
    stops.push(() => proxy.stop());
    const overlay = writeTree(temporaryDir(), {
      'pushed/Dockerfile.j2': `FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\nRUN echo ${marker} > /pushed\n`,
    });
    const { summary } = await interruptBuild({
      name: 'interrupt-push',
      marker,
      config: bundledConfig.replace(/^registry: .*$/m, `registry: ${proxy.address}`),
      secrets: `registry_username: ${registry.username}\nregistry_password: ${registry.password}\n`,
      args: ['--push', '--images-dir', overlay, '^pushed$'],
      ready: async () => {
        await proxy.firstHold;
        await until('the push process', () => processesMarked(marker).some((line) => line.includes(' push ')));
      },
    });
    assert.ok(proxy.counts.blobBodiesHeld > 0);
    assert.equal(summary.pushed.length, 0);
    assert.ok(
      summary.push_failed.some((entry) => entry.reason === 'interrupted'),
      JSON.stringify(summary.push_failed),
    );
  });

  it('with the auth proxy running in front of Pulp, during the build', async () => {
    const marker = markerFor('auth-proxy');
    const username = 'reader';
    const password = `pulp-${Math.random().toString(36).slice(2)}-secret`;
    const pulp = await startFakePulp({ username, password });
    stops.push(() => pulp.stop());
    const base = bootstrappedBase();
    const overlay = writeTree(temporaryDir(), {
      'slow/Dockerfile.j2': `FROM {{ base_image }}:{{ base_distro_tag }}\n${sleepingStep(marker)}`,
    });
    const repositories = [
      '    repositories:',
      '      - name: debian',
      '        base_path: debian/bookworm/',
      '        version: "1"',
      '        suites: [bookworm]',
      '',
    ].join('\n');
    const config = `${bundledConfig
      .replace(/^ {4}base_image:\n(?: {6}.*\n)+/m, `    base_image: { image: ${base.image}, tag: ${base.tag} }\n`)
      .replace(/^ {4}repositories:\n(?: {6}.*\n)+/m, repositories)}\npulp:\n  url: ${pulp.origin}\n`;
    const { ports } = await interruptBuild({
      name: 'interrupt-auth-proxy',
      marker,
      config,
      secrets: `pulp_username: ${username}\npulp_password: ${password}\n`,
      args: ['--auth-proxy', '--images-dir', overlay, '^slow$'],
      fromImages: [`${base.image}:${base.tag}`],
      ready: () => until('the RUN step', sleeping(marker)),
    });
    assert.ok(ports.length > 0, 'the auth proxy was listening');
    assert.ok(
      pulp.requests.some((request) => request.path === '/pulp/api/v3/status/'),
      'the proxy reached Pulp',
    );
  });

  it('while planning: a url source whose server stalls mid-body', async () => {
    const marker = markerFor('source');
    const source = await startStalledSource();
    stops.push(source.stop);
    const cache = temporaryDir('ci-builder-interrupt-cache-');
    const overlay = writeTree(temporaryDir(), {
      'stalled/Dockerfile.j2': 'FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\nADD stalled-archive /src\n',
    });
    const { summary } = await interruptBuild({
      name: 'interrupt-source',
      marker,
      config: `${bundledConfig}\nsources:\n  stalled: { type: url, location: '${source.url}' }\n`,
      args: ['--images-dir', overlay, '^stalled$'],
      env: { CI_BUILDER_CACHE_DIR: cache },
      ready: () => source.asked,
    });
    assert.equal(summary.built.length, 0);
    const scratch = join(cache, 'sources', 'tmp');
    assert.deepEqual(readdirSync(scratch), [], 'no half-fetched source left in the cache');
  });
});
