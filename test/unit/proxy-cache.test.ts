import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { ContentCache } from '../../src/proxy/content-cache.js';
import { AuthProxy, type AccessLogEntry } from '../../src/proxy/server.js';
import { UsageError } from '../../src/util/errors.js';
import { sha256Hex } from '../../src/util/hash.js';
import { startCli } from '../helpers/cli.js';
import { startFakePulp, type FakePulp } from '../helpers/fake-pulp.js';
import { temporaryDir, waitFor, writeTree } from '../helpers/index.js';

const username = 'ci-reader';
const password = 'cache-test-password';
const pinned = 'debian/bookworm/20261101T000000/';
const releasePath = `/pulp/content/${pinned}dists/bookworm/Release`;
const release = 'Origin: Debian\nSuite: bookworm\n';

// Left unhandled, a rejection ends the process; here it is recorded so that a test can say so.
const unhandled: unknown[] = [];
const scratch = temporaryDir();
let folders = 0;
const newFolder = (name: string) => join(scratch, `${name}-${++folders}`);
process.on('unhandledRejection', (reason) => unhandled.push(reason));

describe('the proxy cache when its files are damaged or cannot be written', () => {
  let pulp: FakePulp;
  let cacheDir: string;
  let proxy: AuthProxy;
  let origin: string;
  let accessLog: AccessLogEntry[];
  let warnings: string[];

  before(async () => {
    const contentDir = writeTree(temporaryDir(), { 'dists/bookworm/Release': release });
    pulp = await startFakePulp({ username, password, localContent: { [pinned]: contentDir } });
  });
  after(() => pulp.stop());
  beforeEach(async () => {
    cacheDir = join(newFolder('case'), 'cache');
    accessLog = [];
    warnings = [];
    unhandled.length = 0;
    const cache = new ContentCache(cacheDir, [`/pulp/content/${pinned}`], (line) => warnings.push(line));
    proxy = new AuthProxy({
      upstream: pulp.origin,
      credentials: { username, password },
      listen: { host: '127.0.0.1', port: 0 },
      cache,
      onAccess: (entry) => accessLog.push(entry),
      onWarning: (line) => warnings.push(line),
    });
    origin = await proxy.start();
  });
  afterEach(() => proxy.stop());

  const entry = (path: string) => {
    const key = sha256Hex(path);
    return { meta: join(cacheDir, `${key}.json`), body: join(cacheDir, `${key}.body`) };
  };
  const fromUpstream = () => pulp.requests.filter((request) => request.path === releasePath).length;

  /** One GET through the proxy; resolves once its access log line is written (the cache is settled then). */
  async function get(path = releasePath): Promise<{ status: number; text: string; cache: AccessLogEntry['cache'] }> {
    const logged = accessLog.length;
    const response = await fetch(`${origin}${path}`, { signal: AbortSignal.timeout(5000) });
    const text = await response.text();
    await waitFor('the access log line', () => accessLog.length > logged);
    return { status: response.status, text, cache: accessLog[logged]?.cache ?? '-' };
  }

  const damages: Record<string, (files: { meta: string; body: string }) => void> = {
    'garbage metadata': (files) => writeFileSync(files.meta, 'not json at all {'),
    'truncated metadata': (files) => writeFileSync(files.meta, readFileSync(files.meta, 'utf8').slice(0, 20)),
    'metadata of the wrong shape': (files) => {
      writeFileSync(files.meta, JSON.stringify({ path: 7, headers: [], size: 'big' }));
    },
    'a header that would break the response': (files) => {
      const headers = { 'content-type': 'text/plain\r\nX-Evil: 1' };
      const meta = { path: releasePath, headers, size: release.length, representation: 'identity' };
      writeFileSync(files.meta, JSON.stringify(meta));
    },
    'an entry from before only plain bodies were stored (it may hold gzip bytes)': (files) => {
      const older = JSON.parse(readFileSync(files.meta, 'utf8')) as Record<string, unknown>;
      delete older.representation;
      writeFileSync(files.meta, JSON.stringify(older));
    },
    'a missing body file': (files) => rmSync(files.body),
    'a truncated body file': (files) => truncateSync(files.body, 5),
  };
  for (const [name, damage] of Object.entries(damages)) {
    it(`treats ${name} as a miss, fetches again and replaces the entry`, async () => {
      assert.equal((await get()).cache, 'stored');
      damage(entry(releasePath));
      const again = await get();
      assert.deepEqual([again.status, again.text, again.cache], [200, release, 'stored']);
      assert.equal(fromUpstream() >= 2, true);
      const upstreamBefore = fromUpstream();
      const hit = await get();
      assert.deepEqual([hit.status, hit.text, hit.cache], [200, release, 'hit']);
      assert.equal(fromUpstream(), upstreamBefore, 'the replaced entry serves the next request');
      assert.deepEqual(unhandled, []);
      assert.deepEqual(warnings, []);
    });
  }

  it('reads a hit whole even when its files are removed as it starts', async () => {
    assert.equal((await get()).cache, 'stored');
    const cache = new ContentCache(cacheDir, [`/pulp/content/${pinned}`]);
    const hit = await cache.lookup(releasePath);
    assert.ok(hit);
    rmSync(entry(releasePath).body);
    rmSync(entry(releasePath).meta);
    const chunks: Buffer[] = [];
    for await (const chunk of hit.open()) chunks.push(chunk as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), release);
  });

  it('lets concurrent misses of one path all commit, with no warning', async () => {
    const cache = new ContentCache(newFolder('race'), ['/p/'], (line) => warnings.push(line));
    await cache.prepare();
    const stored = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const writer = await cache.writer('/p/x', { 'content-length': '5' });
        writer?.stream.write('hello');
        return writer?.finish(true, 5);
      }),
    );
    assert.deepEqual(
      stored,
      Array.from({ length: 20 }, () => true),
    );
    assert.deepEqual(warnings, []);
    assert.equal((await cache.lookup('/p/x'))?.size, 5);
  });

  it('serves uncached with one warning when the cache folder stops being writable', async () => {
    rmSync(cacheDir, { recursive: true, force: true });
    mkdirSync(dirname(cacheDir), { recursive: true });
    writeFileSync(cacheDir, 'a file where the cache folder was\n');
    for (let round = 0; round < 3; round++) {
      const answer = await get();
      assert.deepEqual([answer.status, answer.text, answer.cache], [200, release, 'miss']);
    }
    assert.equal(warnings.length, 1, warnings.join('\n'));
    const expected = /^auth proxy: cannot write to the cache folder .*cache \((EEXIST|ENOTDIR)\); serving without/;
    assert.match(warnings[0] ?? '', expected);
    assert.deepEqual(unhandled, []);
  });

  it('answers 500 to a request whose handling fails unexpectedly, and keeps serving', async () => {
    class FaultyCache extends ContentCache {
      override lookup(): never {
        throw new Error('disk controller fault');
      }
    }
    const faulty = new AuthProxy({
      upstream: pulp.origin,
      credentials: { username, password },
      listen: { host: '127.0.0.1', port: 0 },
      cache: new FaultyCache(newFolder('faulty'), [`/pulp/content/${pinned}`]),
      onWarning: (line) => warnings.push(line),
    });
    const faultyOrigin = await faulty.start();
    try {
      const response = await fetch(`${faultyOrigin}${releasePath}`, { signal: AbortSignal.timeout(3000) });
      assert.equal(response.status, 500);
      assert.match(await response.text(), /the proxy failed to serve this request/);
      assert.match(warnings.join('\n'), /fault while serving a request: disk controller fault/);
      assert.equal((await fetch(`${faultyOrigin}/pulp/api/v3/status/`)).status, 200, 'the proxy still serves');
      assert.deepEqual(unhandled, []);
    } finally {
      await faulty.stop();
    }
  });
});

describe('a cache folder that cannot be created', () => {
  const notAFolder = join(scratch, 'plain-file');
  writeFileSync(notAFolder, 'x\n');

  it('stops the proxy before it listens, with one line', async () => {
    const cache = new ContentCache(join(notAFolder, 'cache'), []);
    const proxy = new AuthProxy({ upstream: 'http://127.0.0.1:1', listen: { host: '127.0.0.1', port: 0 }, cache });
    const oneLine = /^the proxy cache folder .*plain-file\/cache is not usable \(ENOTDIR\)[^\n]*$/;
    await assert.rejects(proxy.start(), (error: Error) => error instanceof UsageError && oneLine.test(error.message));
    assert.ok(!existsSync(join(notAFolder, 'cache')));
  });

  it('makes `proxy serve` exit 2', async () => {
    const dir = newFolder('cli');
    mkdirSync(join(dir, 'etc'), { recursive: true });
    const config = [
      'release: zed',
      'namespace: test',
      'images_dirs: [.]',
      'pulp: { url: "http://127.0.0.1:1" }',
      'distros:',
      '  debian:',
      '    version: bookworm',
      '    package_type: deb',
      '    base_image: { image: debian, tag: bookworm }',
      '    repositories: [{ name: main, base_path: debian/, version: "20261101T000000", suites: [bookworm] }]',
      'secrets: secrets.yml',
    ];
    writeFileSync(join(dir, 'etc/config.yml'), `${config.join('\n')}\n`);
    writeFileSync(join(dir, 'etc/secrets.yml'), `pulp_username: ${username}\npulp_password: ${password}\n`);
    const args = ['--config', join(dir, 'etc'), 'proxy', 'serve', '--cache-dir', join(notAFolder, 'cache')];
    const { child, done } = startCli(args, { cwd: dir });
    // A proxy that started anyway would serve until stopped.
    const stop = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const result = await done;
    clearTimeout(stop);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, '');
    // The command's up-front output path check meets it before the proxy's own.
    assert.match(result.stderr.trim(), /^ci-builder: error: --cache-dir [^\n]*plain-file is not a folder$/);
    assert.ok(!result.stderr.includes(password));
  });
});
