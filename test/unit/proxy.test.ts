import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContentCache } from '../../src/proxy/content-cache.js';
import { listenFailure, parseListenAddress } from '../../src/proxy/listen.js';
import { AuthProxy, formatAccessLog, type AccessLogEntry } from '../../src/proxy/server.js';
import { UsageError } from '../../src/util/errors.js';
import { startFakePulp, type FakePulp } from '../helpers/fake-pulp.js';
import { temporaryDir, waitFor, writeTree } from '../helpers/index.js';

const username = 'ci-reader';
const password = 'p4ss-w0rd-not-for-logs';
const secretForms = [password, Buffer.from(`${username}:${password}`).toString('base64')];
const pinned = 'debian/bookworm/20261101T000000/';

/** Sends one raw HTTP/1.1 request, for targets an HTTP client library would normalise away. */
function rawRequest(origin: string, requestLine: string, headers = 'Host: x\r\n'): Promise<string> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () =>
      socket.write(`${requestLine}\r\n${headers}Connection: close\r\n\r\n`),
    );
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('the authenticating proxy', () => {
  let pulp: FakePulp;
  let other: FakePulp;
  let proxy: AuthProxy;
  let origin: string;
  const accessLog: AccessLogEntry[] = [];
  const contentDir = temporaryDir();
  const bigFile = randomBytes(24 * 1024 * 1024);

  before(async () => {
    writeTree(contentDir, {
      'dists/bookworm/Release': 'Origin: Debian\nSuite: bookworm\n',
      'pool/main/h/hello/hello_2.10-3_amd64.deb': 'not really a deb\n',
    });
    writeFileSync(join(contentDir, 'big.bin'), bigFile);
    other = await startFakePulp({ username: 'x', password: 'y' });
    pulp = await startFakePulp({
      username,
      password,
      localContent: { [pinned]: contentDir, 'debian/bookworm/current/': contentDir },
      routes: {
        '/pulp/content/redirect/same/': (_request, response) => (
          response.writeHead(302, {
            location: `${pulpOriginPlaceholder()}/pulp/content/${pinned}dists/bookworm/Release`,
          }),
          response.end()
        ),
        '/pulp/content/redirect/other/': (_request, response) => (
          response.writeHead(302, { location: `${other.origin}/elsewhere` }),
          response.end()
        ),
        '/pulp/content/cookie/': (_request, response) => (
          response.writeHead(200, { 'set-cookie': 'session=abc', 'x-kept': 'yes' }),
          response.end('ok')
        ),
      },
    });
    const cache = new ContentCache(temporaryDir(), [`/pulp/content/${pinned}`]);
    proxy = new AuthProxy({
      upstream: pulp.origin,
      credentials: { username, password },
      listen: { host: '127.0.0.1', port: 0 },
      cache,
      onAccess: (entry) => accessLog.push(entry),
    });
    origin = await proxy.start();
  });
  const pulpOriginPlaceholder = () => pulp.origin;
  after(async () => {
    await proxy.stop();
    await pulp.stop();
    await other.stop();
  });

  it('the stand-in Pulp refuses missing or wrong credentials with 403 and no challenge', async () => {
    const anonymous = await fetch(`${pulp.origin}/pulp/content/${pinned}dists/bookworm/Release`);
    assert.equal(anonymous.status, 403);
    assert.equal(anonymous.headers.get('www-authenticate'), null);
    const wrong = await fetch(`${pulp.origin}/pulp/content/${pinned}dists/bookworm/Release`, {
      headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
    });
    assert.equal(wrong.status, 403);
  });

  it("adds the credential, replacing the client's own, and sends the upstream Host", async () => {
    const response = await fetch(`${origin}/pulp/content/${pinned}dists/bookworm/Release`, {
      headers: { authorization: 'Basic bWFsbG9yeTpzdG9sZW4=', cookie: 'a=b' },
    });
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'Origin: Debian\nSuite: bookworm\n');
    const seen = pulp.requests.at(-1);
    assert.equal(seen?.headers.authorization, `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`);
    assert.equal(seen.headers.host, new URL(pulp.origin).host);
    assert.equal(seen.headers.cookie, undefined);
  });

  it('drops hop-by-hop headers and the headers Connection names', async () => {
    // A moving path: only what is not cached carries the client's own headers upstream.
    await rawRequest(
      origin,
      'GET /pulp/content/debian/bookworm/current/dists/bookworm/Release HTTP/1.1',
      'Host: x\r\nX-Secret-Hop: 1\r\nConnection: X-Secret-Hop\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nTE: trailers\r\nX-Kept-Header: 1\r\n',
    );
    const seen = pulp.requests.at(-1)?.headers ?? {};
    assert.equal(seen['x-secret-hop'], undefined);
    assert.equal(seen['proxy-authorization'], undefined);
    assert.equal(seen.te, undefined);
    assert.equal(seen['x-kept-header'], '1');
  });

  it('passes the status endpoint through without a credential', async () => {
    const response = await fetch(`${origin}/pulp/api/v3/status/`);
    assert.equal(response.status, 200);
    assert.ok(((await response.json()) as { versions: unknown[] }).versions.length > 0);
    assert.equal(pulp.requests.at(-1)?.headers.authorization, undefined);
    await proxy.waitForUpstream(5_000);
  });

  it('refuses absolute-form targets and CONNECT', async () => {
    const before = pulp.requests.length;
    assert.match(await rawRequest(origin, `GET ${other.origin}/pulp/content/${pinned}x HTTP/1.1`), /^HTTP\/1\.1 400/);
    assert.match(
      await rawRequest(origin, 'CONNECT example.org:443 HTTP/1.1', 'Host: example.org:443\r\n'),
      /^HTTP\/1\.1 405/,
    );
    assert.equal(pulp.requests.length, before, 'nothing reached the upstream');
    assert.equal(other.requests.length, 0);
  });

  it('refuses paths that escape, however encoded, and paths outside Pulp content', async () => {
    const before = pulp.requests.length;
    for (const path of [
      '/pulp/content/../api/v3/users/',
      '/pulp/content/%2e%2e/api/v3/users/',
      '/pulp/content/%252e%252e/x',
      '/pulp/content/a%2f..%2f..%2fb',
      '/pulp/content/a\\..\\b',
      '/pulp/content/./x',
    ]) {
      assert.match(await rawRequest(origin, `GET ${path} HTTP/1.1`), /^HTTP\/1\.1 400/, path);
    }
    assert.match(await rawRequest(origin, 'GET /pulp/api/v3/users/ HTTP/1.1'), /^HTTP\/1\.1 404/);
    assert.match(
      await rawRequest(origin, `POST /pulp/content/${pinned}x HTTP/1.1`, 'Host: x\r\nContent-Length: 0\r\n'),
      /^HTTP\/1\.1 405/,
    );
    assert.equal(pulp.requests.length, before, 'nothing reached the upstream');
  });

  it('does not follow redirects: same-origin ones come back through the proxy, others pass bare', async () => {
    const same = await fetch(`${origin}/pulp/content/redirect/same/`, { redirect: 'manual' });
    assert.equal(same.status, 302);
    assert.equal(same.headers.get('location'), `/pulp/content/${pinned}dists/bookworm/Release`);
    const away = await fetch(`${origin}/pulp/content/redirect/other/`, { redirect: 'manual' });
    assert.equal(away.headers.get('location'), `${other.origin}/elsewhere`);
    assert.equal(other.requests.length, 0, 'the proxy never went to the other host itself');
  });

  it('drops Set-Cookie and keeps other response headers', async () => {
    const response = await fetch(`${origin}/pulp/content/cookie/`);
    assert.equal(response.headers.get('set-cookie'), null);
    assert.equal(response.headers.get('x-kept'), 'yes');
  });

  it('answers HEAD with the length and no body, Range with 206, If-None-Match with 304', async () => {
    const path = `${origin}/pulp/content/debian/bookworm/current/big.bin`;
    const head = await fetch(path, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(bigFile.length));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    const range = await fetch(path, { headers: { range: 'bytes=10-19' } });
    assert.equal(range.status, 206);
    assert.equal(range.headers.get('content-range'), `bytes 10-19/${bigFile.length}`);
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), bigFile.subarray(10, 20));
    const etag = head.headers.get('etag') ?? '';
    assert.equal((await fetch(path, { headers: { 'if-none-match': etag } })).status, 304);
  });

  it('streams a large body intact', async () => {
    const response = await fetch(`${origin}/pulp/content/debian/bookworm/current/big.bin`);
    const digest = createHash('sha256')
      .update(Buffer.from(await response.arrayBuffer()))
      .digest('hex');
    assert.equal(digest, createHash('sha256').update(bigFile).digest('hex'));
  });

  it('serves pinned snapshot content from its cache the second time, and never caches moving paths', async () => {
    const count = (path: string) => pulp.requests.filter((request) => request.path === path).length;
    const pinnedPath = `/pulp/content/${pinned}pool/main/h/hello/hello_2.10-3_amd64.deb`;
    const movingPath = '/pulp/content/debian/bookworm/current/pool/main/h/hello/hello_2.10-3_amd64.deb';
    for (let round = 1; round <= 2; round++) {
      assert.equal(await (await fetch(`${origin}${pinnedPath}`)).text(), 'not really a deb\n');
      assert.equal(await (await fetch(`${origin}${movingPath}`)).text(), 'not really a deb\n');
      // A client holds the whole body before the proxy has finished storing it: wait for the log line.
      await waitFor('the access log', () => accessLog.filter((entry) => entry.path === pinnedPath).length === round);
    }
    assert.equal(count(pinnedPath), 1);
    assert.equal(count(movingPath), 2);
    assert.equal(
      accessLog
        .filter((entry) => entry.path === pinnedPath)
        .map((entry) => entry.cache)
        .join(','),
      'stored,hit',
    );
  });

  it('logs method, path, status, bytes and duration, and never the credential', () => {
    const lines = accessLog.map(formatAccessLog);
    assert.ok(
      lines.some((line) => new RegExp(`GET /pulp/content/${pinned}dists/bookworm/Release 200 31 \\d+ms`).test(line)),
      lines.join('\n'),
    );
    for (const form of secretForms) assert.ok(!lines.join('\n').includes(form));
  });

  it('answers 502 with a plain reason when the upstream is down', async () => {
    const down = new AuthProxy({
      upstream: 'http://127.0.0.1:1',
      credentials: { username, password },
      listen: { host: '127.0.0.1', port: 0 },
    });
    const downOrigin = await down.start();
    try {
      const response = await fetch(`${downOrigin}/pulp/content/${pinned}dists/bookworm/Release`);
      assert.equal(response.status, 502);
      const body = await response.text();
      assert.match(body, /upstream unreachable: ECONNREFUSED/);
      for (const form of secretForms) assert.ok(!body.includes(form));
      await assert.rejects(down.waitForUpstream(1500), /did not answer \/pulp\/api\/v3\/status\/ .*ECONNREFUSED/);
    } finally {
      await down.stop();
    }
  });

  it('refuses an upstream URL that carries credentials', () => {
    assert.throws(
      () => new AuthProxy({ upstream: 'http://u:p@127.0.0.1:1', listen: { host: '127.0.0.1', port: 0 } }),
      /must not carry credentials/,
    );
  });
});

describe('the proxy over HTTPS', () => {
  it('verifies the upstream certificate, trusting a given CA file', async () => {
    const dir = temporaryDir();
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const content = writeTree(temporaryDir(), { Release: 'tls ok\n' });
    const pulp = await startFakePulp({
      username,
      password,
      localContent: { [pinned]: content },
      tls: { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') },
    });
    const untrusting = new AuthProxy({
      upstream: pulp.origin,
      credentials: { username, password },
      listen: { host: '127.0.0.1', port: 0 },
    });
    const trusting = new AuthProxy({
      upstream: pulp.origin,
      credentials: { username, password },
      listen: { host: '127.0.0.1', port: 0 },
      caFile: join(dir, 'cert.pem'),
    });
    try {
      assert.equal((await fetch(`${await untrusting.start()}/pulp/content/${pinned}Release`)).status, 502);
      const response = await fetch(`${await trusting.start()}/pulp/content/${pinned}Release`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'tls ok\n');
    } finally {
      await Promise.all([untrusting.stop(), trusting.stop(), pulp.stop()]);
    }
  });
});

describe('the proxy listen address', () => {
  it('defaults to loopback with a free port and refuses other hosts unless told', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:', false), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListenAddress('[::1]:8080', false), { host: '::1', port: 8080 });
    assert.throws(() => parseListenAddress('0.0.0.0:80', false), /refusing to listen on 0\.0\.0\.0.*--listen-unsafe/);
    assert.throws(() => parseListenAddress('10.0.0.5:80', false), /refusing/);
    assert.deepEqual(parseListenAddress('0.0.0.0:80', true), { host: '0.0.0.0', port: 80 });
    assert.throws(() => parseListenAddress('nohost', false), /expected HOST:PORT/);
    assert.throws(() => parseListenAddress('example.org:80', false), /expected an IP address or localhost/);
  });

  it('turns an address it cannot listen on into one line naming it, and leaves other faults alone', () => {
    const failed = (code: string) => Object.assign(new Error(`listen ${code}`), { code });
    const cases = [
      ['EADDRINUSE', { host: '127.0.0.1', port: 8080 }, '127.0.0.1:8080: the address is in use'],
      ['EADDRNOTAVAIL', { host: '192.0.2.1', port: 0 }, '192.0.2.1: no interface of this host has that address'],
      [
        'EACCES',
        { host: '::1', port: 80 },
        '[::1]:80: the port is privileged (below 1024) and this process may not bind it',
      ],
    ] as const;
    for (const [code, address, why] of cases) {
      const error = listenFailure(failed(code), address);
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, `cannot listen on ${why} (${code}); choose another --listen`);
    }
    const other = failed('EMFILE');
    assert.equal(listenFailure(other, { host: '127.0.0.1', port: 1 }), other);
  });
});
