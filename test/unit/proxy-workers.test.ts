import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crashReason } from '../../src/proxy/worker-crash.js';
import { runCli, startCli, type CliResult } from '../helpers/cli.js';
import { startFakePulp, type FakePulp } from '../helpers/fake-pulp.js';
import { freePort, temporaryDir, waitFor, writeTree } from '../helpers/index.js';

const username = 'ci-reader';
const password = 'w0rkers-p4ss-not-for-logs';
const pinned = 'debian/bookworm/20261101T000000/';
const releasePath = `/pulp/content/${pinned}dists/bookworm/Release`;

/** Live processes whose parent is `pid`, from /proc: what `ps --ppid` lists. */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which may hold spaces: state, then the parent's pid.
      const [, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(parent) === pid) found.push(Number(entry));
    } catch {
      // The process ended while being looked at.
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    // A zombie has no command line left: it no longer runs.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== '';
  } catch {
    return false;
  }
}

/** The process among `pids` that holds the accepted end of the client connection from `clientPort`. */
function holderOf(pids: number[], proxyPort: number, clientPort: number): number | undefined {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  const row = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields[1]?.endsWith(`:${hex(proxyPort)}`) && fields[2]?.endsWith(`:${hex(clientPort)}`));
  const inode = row?.[9];
  if (inode === undefined) return undefined;
  return pids.find((pid) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`);
    } catch {
      return false;
    }
  });
}

/** One keep-alive request on a fresh connection; the socket stays open for the caller to close. */
function requestOnNewConnection(origin: string, path: string): Promise<{ socket: Socket; answer: string }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n\r\n') && answer.endsWith('Suite: bookworm\n')) resolve({ socket, answer });
    });
    socket.on('error', reject);
  });
}

describe("a worker's crash in one line", () => {
  it('picks the uncaught error, the failed native assertion or the fatal V8 error out of what Node wrote', () => {
    const uncaught = [
      'file:///tmp/x/fail.mjs:2',
      "if (cluster.isWorker) throw new Error('cannot start');",
      '                            ^',
      '',
      'Error: cannot start',
      '    at file:///tmp/x/fail.mjs:2:29',
      '',
      'Node.js v20.20.2',
    ].join('\n');
    assert.equal(crashReason(uncaught), 'Error: cannot start');
    assert.equal(crashReason('TypeError [ERR_X]: bad\n    at y (z.js:1:1)\n'), 'TypeError [ERR_X]: bad');
    // As a worker the host would give no more threads (RLIMIT_NPROC) writes it.
    const native = [
      '',
      '  #  /usr/bin/node[16268]: std::unique_ptr<long unsigned int> node::WorkerThreadsTaskRunner::DelayedTaskScheduler::Start() at ../src/node_platform.cc:68',
      '  #  Assertion failed: (0) == (uv_thread_create(t.get(), start_thread, this))',
      '',
      '----- Native stack trace -----',
      ' 1: 0xcb5167 node::Assert(node::AssertionInfo const&) [/usr/bin/node]',
    ].join('\n');
    assert.equal(crashReason(native), 'Assertion failed: (0) == (uv_thread_create(t.get(), start_thread, this))');
    const oom =
      '<--- Last few GCs --->\n\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n';
    assert.equal(crashReason(oom), 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory');
    const pthread = 'node[7220]: pthread_create: Resource temporarily unavailable\n';
    assert.equal(crashReason(pthread), 'pthread_create: Resource temporarily unavailable');
    assert.equal(crashReason('(node:1) Warning: something\n'), undefined);
    assert.equal(crashReason(`Error: ${'x'.repeat(1000)}`)?.length, 301, 'one line of a sane length');
  });
});

interface Served {
  child: ChildProcess;
  done: Promise<CliResult>;
  origin: string;
  stderr: () => string;
}

describe('proxy serve --workers', () => {
  let pulp: FakePulp;
  const dir = temporaryDir();
  const started: ChildProcess[] = [];

  before(async () => {
    const contentDir = writeTree(join(dir, 'content'), {
      'dists/bookworm/Release': 'Origin: Debian\nSuite: bookworm\n',
    });
    pulp = await startFakePulp({ username, password, localContent: { [pinned]: contentDir } });
    mkdirSync(join(dir, 'etc'), { recursive: true });
    const config = [
      'release: zed',
      'namespace: test',
      'images_dirs: [.]',
      `pulp: { url: "${pulp.origin}" }`,
      'distros:',
      '  debian:',
      '    version: bookworm',
      '    package_type: deb',
      '    base_image: { image: debian, tag: bookworm }',
      '    repositories: [{ name: main, base_path: debian/bookworm/, version: "20261101T000000", suites: [bookworm] }]',
      'secrets: secrets.yml',
    ];
    writeFileSync(join(dir, 'etc/config.yml'), `${config.join('\n')}\n`);
    writeFileSync(join(dir, 'etc/secrets.yml'), `pulp_username: ${username}\npulp_password: ${password}\n`);
  });

  after(async () => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await pulp.stop();
  });

  const serveArgs = (workers: number) => [
    '--config',
    join(dir, 'etc'),
    'proxy',
    'serve',
    '--no-cache',
    '--workers',
    String(workers),
  ];

  async function serve(workers: number): Promise<Served> {
    let stderr = '';
    const { child, done } = startCli(serveArgs(workers), { cwd: dir, onStderr: (text) => (stderr += text) });
    started.push(child);
    const firstLine = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) resolve(stdout.split('\n')[0] ?? '');
      });
      done.then((result) => reject(new Error(`proxy serve ended early: ${result.stderr}`)), reject);
    });
    assert.match(firstLine, /^listening on http:\/\/127\.0\.0\.1:\d+ -> http:\/\/127\.0\.0\.1:\d+$/);
    const origin = /listening on (\S+)/.exec(firstLine)?.[1] ?? '';
    return { child, done, origin, stderr: () => stderr };
  }

  it('serves one socket through N worker processes and leaves none behind when stopped', async () => {
    const served = await serve(3);
    const primary = served.child.pid ?? 0;
    const workers = childrenOf(primary);
    assert.equal(workers.length, 3, `workers of ${primary}: ${workers.join(' ')}`);
    for (const pid of workers) assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /proxy-worker-main/);

    // Connections are handed round-robin: three of them land on three different workers.
    const proxyPort = Number(new URL(served.origin).port);
    const connections = await Promise.all([1, 2, 3].map(() => requestOnNewConnection(served.origin, releasePath)));
    const holders = connections.map(({ socket }) => holderOf(workers, proxyPort, socket.localPort ?? 0));
    for (const { answer } of connections) assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.deepEqual(new Set(holders).size, 3, `connections held by ${holders.join(' ')}`);
    for (const { socket } of connections) socket.destroy();

    // The primary writes the workers' access log; never the credential.
    await waitFor('the access log', () => served.stderr().split(releasePath).length - 1 >= 3, 10_000);
    assert.match(served.stderr(), new RegExp(`GET ${releasePath} 200 \\d+ \\d+ms cache=-`));
    assert.ok(!served.stderr().includes(password));

    served.child.kill('SIGTERM');
    const result = await served.done;
    assert.equal(result.code, 130, result.stderr);
    for (const pid of workers) assert.ok(!alive(pid), `worker ${pid} outlived the primary`);
    assert.deepEqual(childrenOf(primary), []);
  });

  it('replaces a worker that dies, saying so', async () => {
    const served = await serve(2);
    const primary = served.child.pid ?? 0;
    const [victim, survivor] = childrenOf(primary);
    assert.ok(victim !== undefined && survivor !== undefined);
    process.kill(victim, 'SIGKILL');
    await waitFor('a replacement worker', () => {
      const now = childrenOf(primary);
      return now.length === 2 && !now.includes(victim) && now.includes(survivor);
    });
    assert.match(served.stderr(), new RegExp(`auth proxy: worker ${victim} was killed by SIGKILL; starting another`));
    const replacement = childrenOf(primary).find((pid) => pid !== survivor) ?? 0;
    // Both the survivor and the replacement take connections, once the replacement listens.
    const proxyPort = Number(new URL(served.origin).port);
    const holders = new Set<number | undefined>();
    await waitFor('the replacement to take connections', async () => {
      const connections = await Promise.all([1, 2].map(() => requestOnNewConnection(served.origin, releasePath)));
      for (const { socket, answer } of connections) {
        assert.match(answer, /^HTTP\/1\.1 200 /);
        holders.add(holderOf([survivor, replacement], proxyPort, socket.localPort ?? 0));
        socket.destroy();
      }
      return holders.has(survivor) && holders.has(replacement);
    });
    assert.ok(!holders.has(undefined), 'every connection is held by a worker');

    served.child.kill('SIGINT');
    await served.done;
    assert.ok(!alive(survivor) && !alive(replacement));
  });

  it('keeps its port when every worker dies at once', async () => {
    const served = await serve(2);
    const primary = served.child.pid ?? 0;
    const first = childrenOf(primary);
    for (const pid of first) process.kill(pid, 'SIGKILL');
    await waitFor('two replacements', () => childrenOf(primary).filter((pid) => !first.includes(pid)).length === 2);
    // The same origin answers again once a replacement listens.
    await waitFor('an answer on the same port', async () => {
      const { socket, answer } = await requestOnNewConnection(served.origin, releasePath);
      socket.destroy();
      return answer.startsWith('HTTP/1.1 200 ');
    });
    assert.doesNotMatch(served.stderr(), /listens on/);
    served.child.kill('SIGTERM');
    assert.equal((await served.done).code, 130);
  });

  it('stops with one line and exit 1 when workers keep dying', async () => {
    const served = await serve(2);
    const primary = served.child.pid ?? 0;
    const killed = new Set<number>();
    for (let death = 1; death <= 5; death++) {
      const victim = childrenOf(primary).find((pid) => !killed.has(pid));
      assert.ok(victim !== undefined, `a worker to kill for death ${death}`);
      killed.add(victim);
      process.kill(victim, 'SIGKILL');
      if (death < 5)
        await waitFor('a replacement', () => childrenOf(primary).filter((pid) => !killed.has(pid)).length === 2);
    }
    const result = await served.done;
    assert.equal(result.code, 1, result.stderr);
    assert.equal(
      result.stderr.trim().split('\n').at(-1),
      'ci-builder: error: proxy workers keep dying (5 within 60s); stopping',
    );
    assert.deepEqual(childrenOf(primary), []);
  });

  it('leaves no worker behind when the primary is killed outright', async () => {
    const served = await serve(2);
    const workers = childrenOf(served.child.pid ?? 0);
    assert.equal(workers.length, 2);
    served.child.kill('SIGKILL');
    await served.done;
    // Their channel to the primary closes: they stop by themselves.
    await waitFor('the workers to stop', () => workers.every((pid) => !alive(pid)), 10_000);
  });

  it('serves in one process with --workers 1', async () => {
    const served = await serve(1);
    assert.deepEqual(childrenOf(served.child.pid ?? 0), []);
    const { socket, answer } = await requestOnNewConnection(served.origin, releasePath);
    socket.destroy();
    assert.match(answer, /^HTTP\/1\.1 200 /);
    served.child.kill('SIGTERM');
    assert.equal((await served.done).code, 130);
  });

  it('refuses more workers than the host has room for, in one line, before forking any', async () => {
    const most = 4 * availableParallelism();
    for (const asked of [most + 1, 100_000]) {
      const { child, done } = startCli(serveArgs(asked), { cwd: dir });
      started.push(child);
      const forked = new Set<number>();
      const watch = setInterval(() => childrenOf(child.pid ?? 0).forEach((pid) => forked.add(pid)), 20);
      // A refusal comes at once; a proxy that started would serve until stopped.
      const limit = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const result = await done.finally(() => (clearInterval(watch), clearTimeout(limit)));
      assert.equal(result.code, 2, result.stderr);
      assert.equal(
        result.stderr,
        `ci-builder: error: --workers ${asked}: at most ${most} on this host (4 per core: more processes only compete for the cores)\n`,
      );
      assert.deepEqual([...forked], [], 'no worker was started');
    }
  });

  it('stops the primary and every worker within 2 s of SIGTERM during start-up', async () => {
    const workers = 4 * availableParallelism();
    let stderr = '';
    const { child, done } = startCli(serveArgs(workers), { cwd: dir, onStderr: (text) => (stderr += text) });
    started.push(child);
    const primary = child.pid ?? 0;
    const seen = new Set<number>();
    await waitFor('the first worker', () => childrenOf(primary).length > 0, 20_000);
    child.kill('SIGTERM');
    const signalled = Date.now();
    const watch = setInterval(() => childrenOf(primary).forEach((pid) => seen.add(pid)), 20);
    const result = await done.finally(() => clearInterval(watch));
    const took = Date.now() - signalled;
    assert.ok(took < 2000, `stopped after ${took} ms`);
    assert.equal(result.code, 130, stderr);
    assert.doesNotMatch(result.stdout, /listening on/, 'it never said it was ready');
    for (const pid of seen) assert.ok(!alive(pid), `worker ${pid} outlived the primary`);
  });

  it('says in one line why a worker failed to start, with no stack trace', async () => {
    // Loaded into every process; it fails the workers only, as a worker that cannot start does.
    const preload = join(dir, 'fail-in-workers.mjs');
    writeFileSync(
      preload,
      "import cluster from 'node:cluster';\nif (cluster.isWorker) throw new Error('cannot start a worker here');\n",
    );
    const result = await runCli(serveArgs(2), { cwd: dir, env: { NODE_OPTIONS: `--import ${preload}` } });
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      'ci-builder: error: a proxy worker exited with code 1 before it listened: Error: cannot start a worker here\n',
    );
  });

  for (const workers of [1, 2]) {
    it(`refuses a --listen address in use in one line, exit 2 (--workers ${workers})`, async () => {
      const holder = createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      const address = holder.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      try {
        const result = await runCli([...serveArgs(workers), '--listen', `127.0.0.1:${port}`], { cwd: dir });
        assert.equal(result.code, 2, result.stderr);
        assert.equal(
          result.stderr,
          `ci-builder: error: cannot listen on 127.0.0.1:${port}: the address is in use (EADDRINUSE); choose another --listen\n`,
        );
      } finally {
        await new Promise((resolve) => holder.close(resolve));
      }
    });
  }

  it('stops waiting for a dead Pulp with one line and exit 1, and at once on SIGTERM', async () => {
    const dead = await freePort();
    const etc = writeTree(join(dir, 'etc-dead'), {
      'config.yml': readFileSync(join(dir, 'etc/config.yml'), 'utf8').replace(pulp.origin, `http://127.0.0.1:${dead}`),
      'secrets.yml': readFileSync(join(dir, 'etc/secrets.yml'), 'utf8'),
    });
    const args = ['--config', etc, 'proxy', 'serve', '--no-cache', '--workers', '1', '--wait', '--wait-timeout', '2'];
    const timedOut = await runCli(args, { cwd: dir });
    assert.equal(timedOut.code, 1);
    assert.equal(
      timedOut.stderr,
      `ci-builder: error: upstream http://127.0.0.1:${dead} did not answer /pulp/api/v3/status/ within 2s (ECONNREFUSED)\n`,
    );
    assert.equal(timedOut.stdout, '', 'never said it was ready');

    const waiting = startCli([...args.slice(0, -1), '600'], { cwd: dir });
    started.push(waiting.child);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    waiting.child.kill('SIGTERM');
    const signalled = Date.now();
    const stopped = await waiting.done;
    assert.ok(Date.now() - signalled < 2000, `stopped after ${Date.now() - signalled} ms`);
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.equal(stopped.stdout, '');
  });
});
