import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { upstreamHeaderList, upstreamHeaderTemplate } from '../../src/proxy/headers.js';
import { checkRequestFraming } from '../../src/proxy/request-framing.js';
import { AuthProxy, type AccessLogEntry } from '../../src/proxy/server.js';
import { exchange, startRecordingUpstream, statusesOf, type RecordingUpstream } from '../helpers/recording-upstream.js';

const credential = `Basic ${Buffer.from('reader:s3cret').toString('base64')}`;
const content = '/pulp/content/debian/20261101T000000';

describe('the proxy against request smuggling', () => {
  let upstream: RecordingUpstream;
  let proxy: AuthProxy;
  let origin: string;
  let accessLog: AccessLogEntry[];

  beforeEach(async () => {
    upstream = await startRecordingUpstream();
    accessLog = [];
    proxy = new AuthProxy({
      upstream: upstream.origin,
      credentials: { username: 'reader', password: 's3cret' },
      listen: { host: '127.0.0.1', port: 0 },
      onAccess: (entry) => accessLog.push(entry),
    });
    origin = await proxy.start();
  });
  afterEach(async () => {
    await proxy.stop();
    await upstream.stop();
  });

  /**
   * What Pulp received must be exactly what the proxy's access log says it forwarded (the
   * recording upstream answers 200 to all, the proxy's own refusals are 4xx): bodiless
   * GET/HEAD with the credential, nothing more.
   */
  function assertUpstreamMatchesLog(): void {
    const forwarded = accessLog.filter((entry) => entry.status === 200).map((entry) => `${entry.method} ${entry.path}`);
    const received = upstream.requests.map((request) => `${request.method} ${request.url.split('?')[0]}`);
    assert.deepEqual(received.sort(), forwarded.sort(), 'the upstream received exactly what the access log shows');
    for (const request of upstream.requests) {
      assert.ok(request.method === 'GET' || request.method === 'HEAD', `${request.method} reached the upstream`);
      assert.equal(request.body.length, 0, `${request.method} ${request.url} reached the upstream with a body`);
      assert.equal(request.headers['content-length'], undefined);
      assert.equal(request.headers['transfer-encoding'], undefined);
      assert.equal(request.headers.authorization, credential);
    }
  }

  it('refuses a GET announcing a body: no header value becomes a request Pulp runs with the credential', async () => {
    // The second request's forwarded head, up to the header value meant to become a request line.
    const victimPath = `${content}/b`;
    const lengthToSwallow = Buffer.byteLength(`GET ${victimPath} HTTP/1.1\r\nx-pad: `);
    const swallowing = `GET ${content}/a HTTP/1.1\r\nHost: x\r\nContent-Length: ${lengthToSwallow}\r\n\r\n`;
    const first = await exchange(origin, `${swallowing}${'z'.repeat(lengthToSwallow)}`);
    const smuggling = 'X-Pad: DELETE /pulp/api/v3/repositories/deb/apt/1/ HTTP/1.1\r\n';
    const second = await exchange(origin, `GET ${victimPath} HTTP/1.1\r\nHost: x\r\n${smuggling}\r\n`);
    const received = upstream.requests.map((request) => {
      const carried = request.headers.authorization === credential ? 'with' : 'without';
      return `${request.method} ${request.url} ${carried} the credential`;
    });
    const deleted = upstream.requests.some((request) => request.method === 'DELETE');
    assert.ok(!deleted, `no DELETE reached the upstream: ${received.join(', ')}`);
    assertUpstreamMatchesLog();
    assert.deepEqual(statusesOf(first.answer), [400]);
    assert.ok(first.closedByServer, 'the connection of a refused request is closed');
    assert.deepEqual(statusesOf(second.answer), [200]);
    assert.deepEqual(
      upstream.requests.map((request) => request.url),
      [victimPath],
    );
  });

  it('refuses every other way to announce a body or blur the framing, and forwards none of them', async () => {
    const smuggled = 'DELETE /pulp/api/v3/users/1/ HTTP/1.1\r\nHost: x\r\n\r\n';
    const chunk = `${Buffer.byteLength(smuggled).toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
    const bothFramings = 'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n';
    const get = (name: string) => `GET ${content}/${name} HTTP/1.1\r\nHost: x\r\n`;
    const attempts: Record<string, string> = {
      'chunked body': `${get('te')}Transfer-Encoding: chunked\r\n\r\n${chunk}`,
      'Content-Length and Transfer-Encoding': `${get('clte')}${bothFramings}\r\n${chunk}`,
      'two Content-Length': `${get('clcl')}Content-Length: 0\r\nContent-Length: 40\r\n\r\n${smuggled}`,
      'a list as Content-Length': `${get('list')}Content-Length: 0, 40\r\n\r\n${smuggled}`,
      'Content-Length folded onto another header': `${get('fold')}X-A: a\r\n Content-Length: 40\r\n\r\n${smuggled}`,
      'space before the colon': `${get('space')}Content-Length : 40\r\n\r\n${smuggled}`,
      'Expect with a body': `${get('expect')}Expect: 100-continue\r\nContent-Length: 40\r\n\r\n${smuggled}`,
      'Expect alone': `${get('expect-alone')}Expect: 100-continue\r\n\r\n`,
      'Transfer-Encoding identity': `${get('identity')}Transfer-Encoding: identity\r\n\r\n${smuggled}`,
      'bare LF line ends with a body': `GET ${content}/lf HTTP/1.1\nHost: x\nContent-Length: 40\n\n${smuggled}`,
      'POST with a body': `POST ${content}/post HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n${smuggled}`,
    };
    for (const [name, bytes] of Object.entries(attempts)) {
      const { answer, closedByServer } = await exchange(origin, bytes);
      const statuses = statusesOf(answer);
      const refused = statuses.length >= 1 && statuses.every((status) => status >= 400 && status < 500);
      assert.ok(refused, `${name}: ${JSON.stringify(answer.slice(0, 80))}`);
      assert.ok(closedByServer, `${name}: the connection is closed`);
    }
    const reached = upstream.requests.map((request) => `${request.method} ${request.url}`);
    assert.deepEqual(reached, [], 'nothing reached the upstream');
    // The upstream connections are still in step: each later request arrives as itself.
    for (const name of ['after-1', 'after-2', 'after-3']) {
      assert.deepEqual(statusesOf((await exchange(origin, `${get(name)}\r\n`)).answer), [200]);
    }
    assertUpstreamMatchesLog();
  });

  it('answers pipelined requests on one connection in order, each forwarded alone with the credential', async () => {
    const paths = ['p1', 'p2', 'p3', 'p4'].map((name) => `${content}/${name}`);
    const pipeline = paths.map((path) => `GET ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`).join('');
    const { answer } = await exchange(origin, pipeline);
    assert.deepEqual(statusesOf(answer), [200, 200, 200, 200]);
    assert.deepEqual(
      [...answer.matchAll(/seen GET (\S+)/g)].map((match) => match[1]),
      paths,
    );
    assertUpstreamMatchesLog();
  });

  it('stops at a pipelined request that announces a body: it and what follows it are not forwarded', async () => {
    const smuggled = `GET ${content}/hidden HTTP/1.1\r\nHost: x\r\n\r\n`;
    const pipeline = [
      `GET ${content}/q1 HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET ${content}/q2 HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(smuggled)}\r\n\r\n${smuggled}`,
      `GET ${content}/q3 HTTP/1.1\r\nHost: x\r\n\r\n`,
    ].join('');
    const { answer, closedByServer } = await exchange(origin, pipeline);
    assert.deepEqual(statusesOf(answer), [200, 400]);
    assert.ok(closedByServer);
    assert.deepEqual(
      upstream.requests.map((request) => request.url),
      [`${content}/q1`],
    );
    assertUpstreamMatchesLog();
  });
});

describe('the framing verdict and the forwarded headers', () => {
  it('gives a reason for every refusal and passes bodiless GET and HEAD', () => {
    const head = (method: string, headers: Record<string, string> = {}, headerLines = 1) =>
      checkRequestFraming({ method, headers, headerLines }, 64);
    assert.deepEqual(head('GET'), { ok: true });
    assert.deepEqual(head('HEAD', { 'content-length': '0' }), { ok: true });
    for (const [verdict, status] of [
      [head('DELETE'), 405],
      [head('GET', {}, 65), 431],
      [head('GET', { 'transfer-encoding': 'chunked' }), 400],
      [head('GET', { 'content-length': '1' }), 400],
      [head('GET', { expect: '100-continue' }), 417],
      [head('GET', { upgrade: 'websocket' }), 400],
    ] as const) {
      assert.equal(verdict.ok, false);
      assert.equal(verdict.status, status);
      assert.ok(verdict.reason.length > 0);
    }
  });

  it('never forwards a framing header, whatever the client sent', () => {
    const client = {
      'content-length': '5',
      'transfer-encoding': 'chunked',
      expect: '100-continue',
      te: 'trailers',
      trailer: 'x',
      upgrade: 'h2c',
      connection: 'keep-alive',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      'x-kept': '1',
    };
    const template = upstreamHeaderTemplate({
      upstreamHost: 'pulp:443',
      authorization: 'Basic x',
      forwardedHost: '127.0.0.1:8080',
    });
    const forwarded = upstreamHeaderList(client, '127.0.0.1', template).filter((_, index) => index % 2 === 0);
    const expected = ['authorization', 'host', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-kept'];
    assert.deepEqual(forwarded.sort(), expected);
  });
});
