import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { mirrorPathPolicy, pulpPathPolicy } from '../../src/proxy/cache-policy.js';
import { ContentCache } from '../../src/proxy/content-cache.js';
import { zeroCounters } from '../../src/proxy/counters.js';
import type { MirrorRoute } from '../../src/repos/mirror-routes.js';
import { resolveRoute, routeTable } from '../../src/proxy/routes.js';
import { AuthProxy, type AccessLogEntry } from '../../src/proxy/server.js';
import { exchange, startRecordingUpstream, statusesOf, type RecordingUpstream } from '../helpers/recording-upstream.js';
import { startStandInMirror, type StandInMirror } from '../helpers/stand-in-mirror.js';
import { temporaryDir, waitFor, writeTree } from '../helpers/index.js';

const credential = `Basic ${Buffer.from('pulp-reader:pulp-secret').toString('base64')}`;
const pinned = '/pulp/content/debian/bookworm/20261101T000000/';
const deb = 'pool/main/h/hello/hello_2.10-3_amd64.deb';
const byHash = `dists/bookworm/main/binary-amd64/by-hash/SHA256/${'ab'.repeat(32)}`;
const inRelease = 'dists/bookworm/InRelease';
const packagesXz = 'dists/bookworm/main/binary-amd64/Packages.xz';
const rpm = 'Packages/h/hello-2.10-1.el9.x86_64.rpm';
const primary = `repodata/${'cd'.repeat(32)}-primary.xml.gz`;
const repomd = 'repodata/repomd.xml';

describe('package cache policy and routes (pure)', () => {
  it('serves apt pool and by-hash files and dnf packages and hash-named metadata without asking', () => {
    for (const path of [deb, byHash, rpm, primary]) assert.equal(mirrorPathPolicy(path), 'immutable', path);
  });

  it('revalidates indexes: InRelease, Release, Release.gpg, Packages and Sources indexes, repomd.xml', () => {
    const mutable = [inRelease, 'dists/bookworm/Release', 'dists/bookworm/Release.gpg', packagesXz, repomd];
    for (const path of [...mutable, 'dists/bookworm/main/source/Sources.gz', 'repodata/primary.xml.gz'])
      assert.equal(mirrorPathPolicy(path), 'revalidate', path);
  });

  it('keeps nothing with a query or for a folder listing', () => {
    for (const path of [`${deb}?x=1`, 'pool/main/', '']) assert.equal(mirrorPathPolicy(path), 'none', path);
  });

  it('serves pinned Pulp snapshots from the cache and never other Pulp paths', () => {
    assert.equal(pulpPathPolicy(`${pinned}${inRelease}`, [pinned]), 'immutable');
    assert.equal(pulpPathPolicy(`/pulp/content/debian/bookworm/${inRelease}`, [pinned]), 'none');
    assert.equal(pulpPathPolicy(pinned, [pinned]), 'none');
  });

  const mirrors: MirrorRoute[] = [{ distro: 'debian', name: 'main', url: 'http://deb.example/debian/' }];
  it('routes a mirror path to its mirror, relative to the mirror URL, and Pulp paths only with Pulp', () => {
    const withPulp = routeTable(true, mirrors);
    assert.deepEqual(resolveRoute(`/mirrors/debian/main/${deb}`, withPulp), {
      ok: true,
      kind: 'mirror',
      mirror: mirrors[0],
      upstreamPath: deb,
    });
    assert.equal(resolveRoute(`${pinned}${deb}`, withPulp).ok && 'pulp-content', 'pulp-content');
    const mirrorsOnly = routeTable(false, mirrors);
    assert.equal(resolveRoute(`${pinned}${deb}`, mirrorsOnly).ok, false);
    assert.equal(resolveRoute('/pulp/api/v3/status/', mirrorsOnly).ok, false);
  });

  it('refuses unknown mirrors, empty mirror paths and every escape out of a route', () => {
    const table = routeTable(true, mirrors);
    const refused = {
      '/mirrors/debian/other/pool/x.deb': 404,
      '/mirrors/rocky/main/pool/x.deb': 404,
      '/mirrors/debian/main/': 404,
      '/mirrors/debian/main/../../../pulp/content/x': 400,
      '/mirrors/debian/main/pool/%2e%2e/%2e%2e/x': 400,
      '/mirrors/debian/main/pool/%252e%252e/x': 400,
      '/mirrors/debian/main/pool%2fx': 400,
      '/mirrors/debian/main/pool\\..\\x': 400,
      'http://deb.example/debian/pool/x.deb': 400,
      '//deb.example/debian/pool/x.deb': 400,
    };
    for (const [target, status] of Object.entries(refused)) {
      const verdict = resolveRoute(target, table);
      assert.equal(verdict.ok ? 200 : verdict.status, status, target);
    }
  });
});

describe('the package cache proxy in front of a mirror and Pulp', () => {
  let mirror: StandInMirror;
  let pulp: RecordingUpstream;
  let cacheDir: string;
  let proxy: AuthProxy;
  let origin: string;
  let log: AccessLogEntry[];
  const bodies: Record<string, Buffer> = {
    [`debian/${deb}`]: Buffer.alloc(40_000, 1),
    [`debian/${byHash}`]: Buffer.alloc(3000, 2),
    [`debian/${inRelease}`]: Buffer.from('Origin: Debian\nSuite: bookworm\n'),
    [`debian/${packagesXz}`]: Buffer.alloc(5000, 3),
    [`rocky/${rpm}`]: Buffer.alloc(20_000, 4),
    [`rocky/${primary}`]: Buffer.alloc(2000, 5),
    [`rocky/${repomd}`]: Buffer.from('<repomd/>\n'),
  };

  before(async () => {
    const root = temporaryDir();
    for (const [path, body] of Object.entries(bodies)) {
      writeTree(root, { [path]: '' });
      writeFileSync(join(root, path), body);
    }
    mirror = await startStandInMirror(root);
    pulp = await startRecordingUpstream();
  });
  after(async () => {
    await mirror.stop();
    await pulp.stop();
  });
  beforeEach(async () => {
    cacheDir = join(temporaryDir(), 'packages');
    log = [];
    proxy = new AuthProxy({
      upstream: pulp.origin,
      credentials: { username: 'pulp-reader', password: 'pulp-secret' },
      mirrors: [
        { distro: 'debian', name: 'debian', url: `${mirror.origin}/debian` },
        { distro: 'rocky', name: 'baseos', url: `${mirror.origin}/rocky/` },
      ],
      listen: { host: '127.0.0.1', port: 0 },
      cache: new ContentCache(cacheDir, [pinned]),
      onAccess: (entry) => log.push(entry),
    });
    origin = await proxy.start();
  });
  afterEach(() => proxy.stop());

  async function get(path: string, headers: Record<string, string> = {}) {
    const logged = log.length;
    const response = await fetch(`${origin}${path}`, { headers, signal: AbortSignal.timeout(5000) });
    const body = Buffer.from(await response.arrayBuffer());
    await waitFor('the access log line', () => log.length > logged);
    return { status: response.status, body, cache: log[logged]?.cache, etag: response.headers.get('etag') };
  }
  const seenByMirror = (path: string) => mirror.requests.filter((request) => request.path === path);

  it('forwards mirror routes with no credential, even one the client sent, and Pulp content with its own', async () => {
    const before = mirror.requests.length;
    const answer = await get(`/mirrors/debian/debian/${inRelease}`, { authorization: 'Basic Y2xpZW50OnNlY3JldA==' });
    assert.equal(answer.status, 200);
    const forwarded = mirror.requests.slice(before);
    assert.deepEqual(
      forwarded.map((request) => request.path),
      [`/debian/${inRelease}`],
    );
    assert.equal(forwarded[0]?.headers.authorization, undefined);
    assert.equal((await get(`${pinned}${deb}`)).status, 200);
    assert.equal(pulp.requests.at(-1)?.headers.authorization, credential);
    assert.equal(pulp.requests.at(-1)?.url, `${pinned}${deb}`);
    assert.equal((await get('/pulp/api/v3/status/')).status, 200);
    assert.equal(pulp.requests.at(-1)?.headers.authorization, undefined, 'the status endpoint gets no credential');
  });

  it('sends a request to no upstream when its route is unknown or it escapes its route', async () => {
    const mirrorBefore = mirror.requests.length;
    const pulpBefore = pulp.requests.length;
    for (const path of [
      '/mirrors/debian/debian/../../../pulp/content/x',
      '/mirrors/debian/debian/pool/%2e%2e/%2e%2e/rocky/x',
      '/mirrors/debian/nope/pool/x.deb',
      '/debian/pool/x.deb',
    ]) {
      // Raw bytes: a client library would tidy the dots away before sending.
      const { answer } = await exchange(origin, `GET ${path} HTTP/1.1\r\nHost: proxy\r\n\r\n`);
      assert.ok([400, 404].includes(statusesOf(answer)[0] ?? 0), `${path}: ${answer.split('\r\n')[0]}`);
    }
    assert.equal(mirror.requests.length, mirrorBefore);
    assert.equal(pulp.requests.length, pulpBefore);
  });

  it('serves an immutable file from the cache: the mirror sees it once, the client gets the same bytes', async () => {
    for (const path of [`/mirrors/debian/debian/${deb}`, `/mirrors/rocky/baseos/${rpm}`]) {
      const upstreamPath = path
        .replace('/mirrors/debian/debian/', '/debian/')
        .replace('/mirrors/rocky/baseos/', '/rocky/');
      const first = await get(path);
      const second = await get(path);
      assert.deepEqual([first.cache, second.cache], ['stored', 'hit']);
      assert.deepEqual(second.body, first.body);
      assert.deepEqual(second.body, bodies[upstreamPath.slice(1)]);
      assert.equal(seenByMirror(upstreamPath).length, 1, `${upstreamPath}: one request upstream`);
    }
  });

  it('revalidates an index: 304 serves the stored copy, a changed one replaces it', async () => {
    const path = `/mirrors/debian/debian/${inRelease}`;
    const upstreamPath = `/debian/${inRelease}`;
    const before = seenByMirror(upstreamPath).length;
    const first = await get(path);
    const second = await get(path);
    assert.deepEqual([first.cache, second.cache], ['stored', 'revalidated']);
    assert.deepEqual(second.body, first.body);
    const asked = seenByMirror(upstreamPath).slice(before);
    assert.deepEqual(
      asked.map((request) => request.status),
      [200, 304],
    );
    const [, revalidation] = asked;
    assert.ok(revalidation);
    assert.equal(revalidation.headers['if-none-match'], first.etag, 'asked with the stored ETag');
    assert.ok(revalidation.headers['if-modified-since'], 'and the stored Last-Modified');

    const changed = Buffer.from('Origin: Debian\nSuite: bookworm\nDate: later\n');
    const file = join(mirror.root, 'debian', inRelease);
    writeFileSync(file, changed);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    try {
      const third = await get(path);
      assert.equal(third.cache, 'stored');
      assert.deepEqual(third.body, changed);
      const fourth = await get(path);
      assert.equal(fourth.cache, 'revalidated');
      assert.deepEqual(fourth.body, changed, 'the new copy replaced the old one');
    } finally {
      writeFileSync(file, bodies[`debian/${inRelease}`] ?? '');
    }
  });

  it('answers 304 itself to a client that already holds the current copy', async () => {
    const path = `/mirrors/debian/debian/${packagesXz}`;
    const first = await get(path);
    const again = await get(path, { 'if-none-match': first.etag ?? '' });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  });

  it('treats a damaged entry as a miss and stores the file again', async () => {
    const path = `/mirrors/debian/debian/${byHash}`;
    await get(path);
    for (const name of readdirSync(cacheDir).filter((file) => file.endsWith('.body')))
      writeFileSync(join(cacheDir, name), 'short');
    const again = await get(path);
    assert.equal(again.cache, 'stored');
    assert.deepEqual(again.body, bodies[`debian/${byHash}`]);
    assert.equal((await get(path)).cache, 'hit');
  });

  it('counts requests, hits, revalidations, misses and bytes from each side', async () => {
    assert.deepEqual(proxy.counters(), zeroCounters());
    await get(`/mirrors/debian/debian/${deb}`); // miss, stored
    await get(`/mirrors/debian/debian/${deb}`); // hit
    await get(`/mirrors/rocky/baseos/${repomd}`); // miss, stored
    await get(`/mirrors/rocky/baseos/${repomd}`); // revalidated
    await get(`/mirrors/rocky/baseos/${primary}`); // miss, stored
    await exchange(origin, 'GET /mirrors/debian/debian/../x HTTP/1.1\r\nHost: proxy\r\n\r\n'); // refused
    const debSize = bodies[`debian/${deb}`]?.length ?? 0;
    const repomdSize = bodies[`rocky/${repomd}`]?.length ?? 0;
    const primarySize = bodies[`rocky/${primary}`]?.length ?? 0;
    assert.deepEqual(proxy.counters(), {
      requests: 6,
      hits: 1,
      revalidated: 1,
      misses: 3,
      bytes_from_upstream: debSize + repomdSize + primarySize,
      bytes_from_cache: debSize + repomdSize,
    });
  });
});

describe('pruning the package cache to its size limit', () => {
  let mirror: StandInMirror;
  const names = ['a', 'b', 'c', 'd'];
  before(async () => {
    const root = temporaryDir();
    for (const name of names) writeTree(root, { [`debian/pool/main/${name}.deb`]: name.repeat(10_000) });
    mirror = await startStandInMirror(root);
  });
  after(() => mirror.stop());

  async function proxyWith(
    cacheDir: string,
    maxBytes: number,
  ): Promise<{ proxy: AuthProxy; cache: ContentCache; origin: string; log: AccessLogEntry[] }> {
    const cache = new ContentCache(cacheDir, [], undefined, { maxBytes });
    const log: AccessLogEntry[] = [];
    const proxy = new AuthProxy({
      mirrors: [{ distro: 'debian', name: 'debian', url: `${mirror.origin}/debian/` }],
      listen: { host: '127.0.0.1', port: 0 },
      cache,
      onAccess: (entry) => log.push(entry),
    });
    return { proxy, cache, origin: await proxy.start(), log };
  }
  /** One GET; resolves once its access log line is written, so its entry is committed and any prune started. */
  const fetchDeb = async (served: { origin: string; log: AccessLogEntry[]; cache: ContentCache }, name: string) => {
    const logged = served.log.length;
    const response = await fetch(`${served.origin}/mirrors/debian/debian/pool/main/${name}.deb`);
    assert.equal((await response.text()).length, 10_000);
    await waitFor('the access log line', () => served.log.length > logged);
    await served.cache.settled();
  };
  /** What the entries take on disk, bodies and metadata: what the size limit is about. */
  const bytesOnDisk = (dir: string) =>
    readdirSync(dir)
      .filter((file) => /\.(body|json)$/.test(file))
      .reduce((total, file) => total + statSync(join(dir, file)).size, 0);
  const upstreamCount = (name: string) => mirror.fullAnswers(`/debian/pool/main/${name}.deb`);

  it('removes the least recently used entries once a write passes the limit, and keeps the rest', async () => {
    const cacheDir = join(temporaryDir(), 'packages');
    // Room for three entries (10,000 bytes of body and a few hundred of metadata each), not four.
    const served = await proxyWith(cacheDir, 35_000);
    const { proxy } = served;
    try {
      for (const name of ['a', 'b', 'c']) await fetchDeb(served, name);
      await fetchDeb(served, 'a'); // a is now more recent than b
      await fetchDeb(served, 'd'); // passes the limit: b, the least recently used, goes
      assert.ok(bytesOnDisk(cacheDir) <= 35_000);
      assert.equal(readdirSync(cacheDir).filter((file) => file.endsWith('.body')).length, 3);
      const before = Object.fromEntries(names.map((name) => [name, upstreamCount(name)]));
      for (const name of ['a', 'c', 'd']) await fetchDeb(served, name);
      await fetchDeb(served, 'b');
      const after = Object.fromEntries(names.map((name) => [name, upstreamCount(name) - (before[name] ?? 0)]));
      assert.deepEqual(after, { a: 0, b: 1, c: 0, d: 0 }, 'only b was fetched again');
    } finally {
      await proxy.stop();
    }
  });

  it('prunes an existing folder to a smaller limit when the proxy starts, oldest first', async () => {
    const cacheDir = join(temporaryDir(), 'packages');
    const first = await proxyWith(cacheDir, 1024 ** 3);
    for (const name of names) await fetchDeb(first, name);
    await first.proxy.stop();
    assert.equal(readdirSync(cacheDir).filter((file) => file.endsWith('.body')).length, 4);
    // Last used: a long ago, then b, c, d.
    const bodies = readdirSync(cacheDir).filter((file) => file.endsWith('.body'));
    const ages: Record<string, number> = {};
    for (const file of bodies) {
      const text = readFileSync(join(cacheDir, file), 'utf8');
      const name = text[0] ?? '';
      ages[name] = { a: 4, b: 3, c: 2, d: 1 }[name] ?? 0;
      const when = new Date(Date.now() - (ages[name] ?? 0) * 3600_000);
      utimesSync(join(cacheDir, file), when, when);
    }
    const second = await proxyWith(cacheDir, 25_000);
    try {
      assert.ok(bytesOnDisk(cacheDir) <= 25_000);
      const left = readdirSync(cacheDir).filter((file) => file.endsWith('.body'));
      assert.equal(left.length, 2);
      const before = Object.fromEntries(names.map((name) => [name, upstreamCount(name)]));
      for (const name of ['c', 'd']) await fetchDeb(second, name);
      assert.deepEqual(
        names.map((name) => upstreamCount(name) - (before[name] ?? 0)),
        [0, 0, 0, 0],
        'the two most recently used entries stayed',
      );
      assert.ok(existsSync(cacheDir));
    } finally {
      await second.proxy.stop();
    }
  });
});
