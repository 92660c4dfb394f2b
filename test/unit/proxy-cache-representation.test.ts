import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ContentCache } from '../../src/proxy/content-cache.js';
import { AuthProxy, type AccessLogEntry } from '../../src/proxy/server.js';
import { startStandInMirror, type StandInMirror } from '../helpers/stand-in-mirror.js';
import { temporaryDir, waitFor, writeTree } from '../helpers/index.js';

const deb = 'pool/main/h/hello/hello_2.10-3_amd64.deb';
const inRelease = 'dists/bookworm/InRelease';
const debBody = Buffer.from('a package the cache must hand every client unchanged\n'.repeat(400));
const inReleaseBody = Buffer.from('Origin: Debian\nSuite: bookworm\n'.repeat(50));

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  cache: AccessLogEntry['cache'] | undefined;
}

describe('the package cache hands every client the same, plain representation', () => {
  let mirror: StandInMirror;
  let proxy: AuthProxy;
  let origin: string;
  let log: AccessLogEntry[];

  before(async () => {
    const root = temporaryDir();
    writeTree(root, { [`debian/${deb}`]: '', [`debian/${inRelease}`]: '' });
    writeFileSync(join(root, 'debian', deb), debBody);
    writeFileSync(join(root, 'debian', inRelease), inReleaseBody);
    // A web server with `gzip on`: what a client that accepts gzip gets is not the file's bytes.
    mirror = await startStandInMirror(root, { gzip: true });
  });
  after(() => mirror.stop());
  beforeEach(async () => {
    log = [];
    proxy = new AuthProxy({
      mirrors: [{ distro: 'debian', name: 'debian', url: `${mirror.origin}/debian/` }],
      listen: { host: '127.0.0.1', port: 0 },
      cache: new ContentCache(join(temporaryDir(), 'packages'), []),
      onAccess: (entry) => log.push(entry),
    });
    origin = await proxy.start();
  });
  afterEach(() => proxy.stop());

  /** A GET with exactly these headers, the body as it came over the wire (node:http decodes nothing). */
  function get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
    const logged = log.length;
    return new Promise<Answer>((resolve, reject) => {
      const request = http.get(`${origin}/mirrors/debian/debian/${path}`, { headers, agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const body = Buffer.concat(chunks);
          const done = { status: response.statusCode ?? 0, headers: response.headers, body };
          waitFor('the access log line', () => log.length > logged).then(
            () => resolve({ ...done, cache: log[logged]?.cache }),
            reject,
          );
        });
        response.on('error', reject);
      });
      request.on('error', reject);
    });
  }
  const askedUpstream = (path: string) => mirror.requests.filter((request) => request.path === `/debian/${path}`);

  it('stores the plain bytes when the first client accepts gzip, so a client that does not gets the file', async () => {
    const first = await get(deb, { 'accept-encoding': 'gzip' });
    const second = await get(deb);
    assert.deepEqual([first.status, first.cache, second.cache], [200, 'stored', 'hit']);
    assert.equal(second.headers['content-encoding'], undefined);
    assert.deepEqual(second.body, debBody, 'the second client gets the package, not gzip bytes');
    assert.equal(first.headers['content-encoding'], undefined, 'the proxy asked for the plain file');
    assert.deepEqual(first.body, debBody);
  });

  it("never forwards a client's Accept-Encoding, Accept or other headers on a cacheable request", async () => {
    const before = askedUpstream(inRelease).length;
    const clientHeaders = {
      'accept-encoding': 'gzip, deflate, br',
      accept: 'application/x-gzip',
      'accept-language': 'fr',
      'cache-control': 'no-transform',
      'x-variant': 'evil',
      'user-agent': 'Debian APT-HTTP/1.3 (2.6.1)',
    };
    await get(inRelease, clientHeaders);
    await get(inRelease, clientHeaders);
    const asked = askedUpstream(inRelease).slice(before);
    assert.equal(asked.length, 2, 'stored, then revalidated');
    for (const request of asked) {
      assert.equal(request.headers['accept-encoding'], 'identity');
      for (const name of ['accept', 'accept-language', 'cache-control', 'x-variant'])
        assert.equal(request.headers[name], undefined, `${name} is the client's own business`);
      assert.equal(request.headers['user-agent'], clientHeaders['user-agent'], 'the user agent still passes');
    }
  });

  it('serves a revalidated index as the plain copy whatever the client accepts', async () => {
    await get(inRelease);
    const revalidated = await get(inRelease, { 'accept-encoding': 'gzip' });
    assert.equal(revalidated.cache, 'revalidated');
    assert.equal(revalidated.headers['content-encoding'], undefined);
    assert.deepEqual(revalidated.body, inReleaseBody);
  });

  it('does not store an encoded answer an upstream sends unasked, and relays it with its encoding', async () => {
    const stubborn = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' });
      response.end(Buffer.from('1f8b', 'hex'));
    });
    await new Promise<void>((resolve) => stubborn.listen(0, '127.0.0.1', resolve));
    const address = stubborn.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const encoding = new AuthProxy({
      mirrors: [{ distro: 'debian', name: 'debian', url: `http://127.0.0.1:${port}/debian/` }],
      listen: { host: '127.0.0.1', port: 0 },
      cache: new ContentCache(join(temporaryDir(), 'packages'), []),
      onAccess: (entry) => log.push(entry),
    });
    const saved = origin;
    origin = await encoding.start();
    try {
      const first = await get(deb);
      assert.equal(first.headers['content-encoding'], 'gzip', 'the client learns what it got');
      assert.equal(first.cache, 'miss');
      assert.equal((await get(deb)).cache, 'miss', 'nothing was stored');
    } finally {
      origin = saved;
      await encoding.stop();
      await new Promise((resolve) => stubborn.close(resolve));
    }
  });

  it('still passes Range and the encoding a client asks for on what it does not cache', async () => {
    const before = askedUpstream(deb).length;
    const ranged = await get(deb, { range: 'bytes=0-9', 'accept-encoding': 'gzip' });
    const [asked] = askedUpstream(deb).slice(before);
    assert.ok(asked);
    assert.equal(asked.headers.range, 'bytes=0-9');
    assert.equal(asked.headers['accept-encoding'], 'gzip');
    assert.equal(ranged.cache, '-');
    // The stand-in ignores Range; what matters is that the answer was not kept for others.
    assert.deepEqual(gunzipSync(ranged.body), debBody);
    assert.equal((await get(deb)).cache, 'stored');
  });
});
