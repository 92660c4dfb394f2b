import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { startCli, type CliResult } from '../helpers/cli.js';
import { projectRoot, temporaryDir, writeTree } from '../helpers/files.js';
import { osvRecord } from '../helpers/osv-fixture.js';
import { startStalledSource } from '../helpers/stalled-source.js';
import { rawZip } from '../helpers/zip-builder.js';

/** What the command-line contract promises after SIGINT or SIGTERM: exit 130, within 2 s. */
const STOP_WITHIN_MS = 2000;

/** CPU seconds a process has used (user + system), from /proc: how far into its work it is. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function until(what: string, check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Starts the CLI, waits until `ready` says it is in the middle of its work, sends SIGTERM, and
 * asserts it exits 130 within 2 s. A command that finished first fails the test: its fixture is
 * too small to say anything.
 */
async function interrupted(
  args: readonly string[],
  ready: (pid: number, stderr: () => string) => Promise<void>,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  let stderr = '';
  const { child, done } = startCli(args, { ...options, onStderr: (text) => (stderr += text) });
  let finished = false;
  done.then(
    () => (finished = true),
    () => (finished = true),
  );
  const pid = child.pid ?? 0;
  await Promise.race([
    ready(pid, () => stderr),
    done.then((result) => {
      throw new Error(`finished before it was interrupted (exit ${result.code}): ${result.stderr.slice(-1500)}`);
    }),
  ]);
  assert.ok(!finished);
  const sentAt = performance.now();
  child.kill('SIGTERM');
  const result = await done;
  const tookMs = performance.now() - sentAt;
  assert.equal(result.code, 130, result.stderr.slice(-1500));
  assert.ok(tookMs < STOP_WITHIN_MS, `exited ${Math.round(tookMs)} ms after SIGTERM`);
  return result;
}

/** Ready once the process has loaded and then used no CPU for half a second: it waits on something. */
async function waitingIdle(pid: number): Promise<void> {
  await until('the process to load', () => cpuSeconds(pid) >= 0.1);
  for (let last = -1, now = cpuSeconds(pid); now !== last; now = cpuSeconds(pid)) {
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Ready once the process has worked past its start (loading modules and config takes well under this). */
const busyFor = (seconds: number) => (pid: number) => until(`${seconds} s of CPU`, () => cpuSeconds(pid) >= seconds);

const goodConfig = `release: zed
namespace: ns
images_dirs: [images]
distros:
  debian: { version: bookworm, package_type: deb, base_image: { image: debian, tag: bookworm } }
`;

/** A config folder with an image tree of `count` leaves under one base. */
function workspace(count: number, extraConfig = ''): string {
  const leaves = Object.fromEntries(
    Array.from({ length: count }, (_, index) => [
      `etc/images/service-${index}/Dockerfile.j2`,
      'FROM {{ namespace }}/base:{{ tag }}\nRUN echo {{ maintainer }} > /service\n',
    ]),
  );
  return writeTree(temporaryDir(), {
    'etc/config.yml': `${goodConfig}${extraConfig}`,
    'etc/images/macros.j2': '',
    'etc/images/base/Dockerfile.j2': 'FROM {{ base_image }}:{{ base_distro_tag }}\n',
    ...leaves,
  });
}

/** A finished run's summary of `count` images, as a shard or a build leaves it. */
function runSummary(count: number, shard?: string): string {
  const names = Array.from({ length: count }, (_, index) => `service-${index}`);
  const images = Object.fromEntries(
    names.map((name) => [
      name,
      { reference: `r/ns/${name}:t`, parent: 'base', input_digest: `sha256:${'a'.repeat(64)}`, status: 'built' },
    ]),
  );
  return JSON.stringify({
    tag: 'zed-debian-bookworm-20261125T100000',
    distro: 'debian',
    engine: 'buildah',
    base_image: null,
    started_at: '2026-11-25T10:00:00Z',
    finished_at: '2026-11-25T11:00:00Z',
    interrupted: false,
    built: names.map((name) => ({ name })),
    reused: [],
    failed: [],
    skipped: [],
    not_matched: [],
    unbuildable: [],
    pushed: names.map((name) => ({ name, reference: `r/ns/${name}:t` })),
    push_failed: [],
    images,
    ...(shard ? { shard } : {}),
  });
}

/** A TCP server that accepts and never answers: an await on it never settles. */
async function silentServer(): Promise<{ port: number; connected: Promise<void>; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let connection: () => void = () => undefined;
  const connected = new Promise<void>((resolve) => (connection = resolve));
  const server = createServer((socket) => {
    sockets.add(socket);
    connection();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return { port, connected, stop };
}

describe('every command ends within 2 s of SIGTERM, mid-work, with exit 130', { timeout: 30 * 60_000 }, () => {
  const stops: Array<() => Promise<void>> = [];
  after(async () => {
    for (const stop of stops) await stop();
  });

  describe('scan', () => {
    const image = `localhost/ci-builder-interrupt-scan:${Date.now()}`;
    before(() => {
      const storage = ['--storage-driver', 'overlay'];
      const container = execFileSync('buildah', [...storage, 'from', 'scratch'], { encoding: 'utf8' }).trim();
      execFileSync('buildah', [...storage, 'commit', '--quiet', container, image]);
      execFileSync('buildah', [...storage, 'rm', container]);
      stops.push(() => Promise.resolve(void execFileSync('buildah', [...storage, 'rmi', image])));
    });

    it('while loading a large OSV archive', async () => {
      // Under the 65,535 members of a zip without zip64 records, each with a page of details as real ones have.
      const details = 'A flaw was found in the handling of crafted input. '.repeat(40);
      const members = Array.from({ length: 60_000 }, (_, index) => {
        const versions = Array.from({ length: 40 }, (_, version) => `1.${version}-1`);
        const record = osvRecord({ id: `DSA-${index}-1`, ecosystem: 'Debian:12', name: `p${index}`, versions });
        const data = Buffer.from(JSON.stringify({ ...record, details }));
        return { name: `DSA-${index}-1.json`, data, method: 0 as const, declaredSize: data.length };
      });
      const archive = join(temporaryDir(), 'all.zip');
      writeFileSync(archive, rawZip(members));
      const dir = workspace(1);
      const args = ['--config', join(dir, 'etc'), 'scan', '--osv-db', archive, '--out', join(dir, 'out'), image];
      await interrupted(args, busyFor(1.2), { cwd: dir });
      assert.ok(!existsSync(join(dir, 'out', 'scan')), 'no report written');
    });
  });

  describe('tags', () => {
    const tagsFile = 'kolla_image_tags:\n  openstack:\n    debian-bookworm: zed-debian-bookworm-20261120T100000\n';

    it('update, while reading a folder of many large run summaries; the tags file is left as it was', async () => {
      const dir = workspace(1);
      const runs = join(dir, 'runs');
      for (let index = 0; index < 12; index++) {
        mkdirSync(join(runs, `run-${index}`), { recursive: true });
        writeFileSync(join(runs, `run-${index}`, 'summary.json'), runSummary(40_000));
      }
      writeFileSync(join(dir, 'tags.yml'), tagsFile);
      const args = ['--config', join(dir, 'etc'), 'tags', 'update', '--run', runs, '--file', join(dir, 'tags.yml')];
      await interrupted(args, busyFor(2), { cwd: dir });
      assert.equal(readFileSync(join(dir, 'tags.yml'), 'utf8'), tagsFile);
    });

    for (const command of ['check', 'promote']) {
      it(`${command}, while the registry never answers`, async () => {
        const registry = await silentServer();
        stops.push(registry.stop);
        const dir = workspace(3, `registry: 127.0.0.1:${registry.port}\n`);
        writeFileSync(join(dir, 'tags.yml'), tagsFile);
        const promote = command === 'promote' ? ['--from', 'dev', '--to', 'prod'] : [];
        const args = ['--config', join(dir, 'etc'), 'tags', command, '--file', join(dir, 'tags.yml'), ...promote];
        await interrupted(args, () => registry.connected, { cwd: dir });
      });
    }
  });

  it('summary merge, while reading large shard summaries', async () => {
    const dir = temporaryDir();
    const shards = ['a', 'b', 'c', 'd'].map((shard) => {
      const folder = join(dir, shard);
      mkdirSync(join(folder, 'logs'), { recursive: true });
      writeFileSync(join(folder, 'summary.json'), runSummary(60_000, `${shard}/4`));
      return folder;
    });
    await interrupted(['summary', 'merge', ...shards, '--out', join(dir, 'merged')], busyFor(2), { cwd: dir });
    assert.ok(!existsSync(join(dir, 'merged', 'summary.json')), 'no merged summary written');
  });

  it('images render, while rendering a large image tree', async () => {
    const dir = workspace(800);
    const out = join(dir, 'rendered');
    await interrupted(['--config', join(dir, 'etc'), 'images', 'render', '--out', out], busyFor(1.2), { cwd: dir });
  });

  it('vault encrypt -, while stdin is open and nothing is written to it', async () => {
    let stderr = '';
    const child = spawn(process.execPath, [join(projectRoot, 'dist/cli/main.js'), 'vault', 'encrypt', '-'], {
      env: { ...process.env, CI_BUILDER_VAULT_PASSWORD: 'a password' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    await waitingIdle(child.pid ?? 0);
    const sentAt = performance.now();
    child.kill('SIGTERM');
    const code = await closed;
    child.stdin.destroy();
    assert.equal(code, 130, stderr);
    assert.ok(performance.now() - sentAt < STOP_WITHIN_MS);
  });

  for (const workers of ['1', '2']) {
    it(`proxy serve --workers ${workers}, while serving`, async () => {
      const dir = writeTree(workspace(1, 'pulp: { url: "http://127.0.0.1:9" }\nsecrets: secrets.yml\n'), {
        'etc/secrets.yml': 'pulp_username: reader\npulp_password: not-a-real-one\n',
      });
      const args = ['--config', join(dir, 'etc'), 'proxy', 'serve', '--no-cache', '--workers', workers];
      const { child, done } = startCli(args, { cwd: dir });
      const firstLine = await Promise.race([
        new Promise<string>((resolve) =>
          createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve),
        ),
        done.then((result) => {
          throw new Error(`proxy serve ended (exit ${result.code}): ${result.stderr}`);
        }),
      ]);
      assert.match(firstLine, /^listening on http:\/\/127\.0\.0\.1:\d+/);
      const sentAt = performance.now();
      child.kill('SIGTERM');
      const result = await done;
      assert.equal(result.code, 130, result.stderr);
      assert.ok(performance.now() - sentAt < STOP_WITHIN_MS, `took ${Math.round(performance.now() - sentAt)} ms`);
    });
  }

  it('build, before the engines start: while a url source stalls mid-body', async () => {
    const source = await startStalledSource();
    stops.push(source.stop);
    const dir = writeTree(workspace(1, `sources:\n  stalled: { type: url, location: '${source.url}' }\n`), {
      'etc/images/stalled/Dockerfile.j2': 'FROM {{ namespace }}/base:{{ tag }}\nADD stalled-archive /src\n',
    });
    const env = { CI_BUILDER_CACHE_DIR: temporaryDir('ci-builder-interrupt-cache-') };
    const tag = 'interrupt-before-engines';
    await interrupted(['--config', join(dir, 'etc'), 'build', '--tag', tag, '^stalled$'], () => source.asked, {
      cwd: dir,
      env,
    });
    const summary = JSON.parse(readFileSync(join(dir, '.ci-builder/runs', tag, 'summary.json'), 'utf8')) as {
      interrupted: boolean;
    };
    assert.equal(summary.interrupted, true, 'the partial summary is written');
  });
});
