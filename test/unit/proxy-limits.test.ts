import assert from 'node:assert/strict';
import http, { type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { ProxyLimits } from '../../src/proxy/limits.js';
import { AuthProxy, type AccessLogEntry } from '../../src/proxy/server.js';
import { exchange, startRecordingUpstream, statusesOf, type RecordingUpstream } from '../helpers/recording-upstream.js';

const content = '/pulp/content/debian/20261101T000000';

type ProxyCase = (origin: string, upstream: RecordingUpstream, warnings: string[]) => Promise<void>;

async function withProxy(limits: Partial<ProxyLimits>, body: ProxyCase, upstreamOrigin?: string): Promise<void> {
  const upstream = await startRecordingUpstream();
  const warnings: string[] = [];
  const proxy = new AuthProxy({
    upstream: upstreamOrigin ?? upstream.origin,
    credentials: { username: 'reader', password: 's3cret' },
    listen: { host: '127.0.0.1', port: 0 },
    limits,
    onWarning: (line) => warnings.push(line),
  });
  try {
    await body(await proxy.start(), upstream, warnings);
  } finally {
    await proxy.stop();
    await upstream.stop();
  }
}

const getRequest = (path: string, headers = '') => `GET ${content}/${path} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`;

function openIdle(origin: string): Promise<Socket> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.on('error', reject);
  });
}

describe('the proxy limits', () => {
  it('closes client connections beyond the limit at once, and takes new ones when some close', async () => {
    await withProxy({ maxClientConnections: 2 }, async (origin, upstream, warnings) => {
      const held = [await openIdle(origin), await openIdle(origin)];
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      const third = await exchange(origin, getRequest('third'));
      assert.deepEqual(statusesOf(third.answer), [], 'the connection over the limit got no answer');
      assert.ok(third.closedByServer && Date.now() - started < 1000, 'and was closed at once');
      assert.equal(upstream.requests.length, 0);
      assert.equal(warnings.filter((line) => /2 client connections open; refusing more/.test(line)).length, 1);
      held[0]?.destroy();
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(statusesOf((await exchange(origin, getRequest('after'))).answer), [200]);
      held[1]?.destroy();
    });
  });

  it('refuses a request with more header lines than allowed, however they are named', async () => {
    await withProxy({ maxHeaderLines: 10 }, async (origin, upstream) => {
      const lines = (count: number) => Array.from({ length: count - 1 }, (_, index) => `X-H${index}: v\r\n`).join('');
      assert.deepEqual(statusesOf((await exchange(origin, getRequest('ten', lines(10)))).answer), [200]);
      const eleven = await exchange(origin, getRequest('eleven', lines(11)));
      assert.deepEqual(statusesOf(eleven.answer), [431]);
      assert.ok(eleven.closedByServer);
      // A Content-Length beyond the limit is not lost from sight: the request is refused all the same.
      const hidden = await exchange(origin, getRequest('hidden', `${lines(10)}Content-Length: 5\r\n`) + 'abcde');
      assert.deepEqual(statusesOf(hidden.answer), [431]);
      assert.deepEqual(
        upstream.requests.map((request) => request.url),
        [`${content}/ten`],
      );
    });
    await withProxy({}, async (origin) => {
      const many = Array.from({ length: 64 }, (_, index) => `X-H${index}: v\r\n`).join('');
      const answer = (await exchange(origin, getRequest('default-limit', many))).answer;
      assert.deepEqual(statusesOf(answer), [431], 'the default is 64 lines');
    });
  });

  it('refuses a request head larger than allowed', async () => {
    await withProxy({ maxHeaderBytes: 4096 }, async (origin, upstream) => {
      const small = await exchange(origin, getRequest('small', `X-Big: ${'a'.repeat(3000)}\r\n`));
      assert.deepEqual(statusesOf(small.answer), [200]);
      const big = await exchange(origin, getRequest('big', `X-Big: ${'a'.repeat(5000)}\r\n`));
      assert.deepEqual(statusesOf(big.answer), [431]);
      assert.ok(big.closedByServer);
      assert.deepEqual(
        upstream.requests.map((request) => request.url),
        [`${content}/small`],
      );
    });
  });

  it('answers 408 and closes the connection when a request does not arrive in time', async () => {
    await withProxy({ requestTimeoutMs: 500 }, async (origin, upstream) => {
      const started = Date.now();
      const slow = await exchange(origin, `GET ${content}/slow HTTP/1.1\r\nHost: x\r\n`, 400, 4000);
      assert.deepEqual(statusesOf(slow.answer), [408]);
      assert.ok(slow.closedByServer);
      assert.ok(Date.now() - started < 2500, `closed after ${Date.now() - started} ms`);
      assert.equal(upstream.requests.length, 0);
    });
  });

  it('answers 503 with Retry-After at once when the upstream queue is full, and recovers', async () => {
    const held: ServerResponse[] = [];
    let seen = 0;
    const slowUpstream = http.createServer((_request, response) => {
      seen++;
      held.push(response);
    });
    await new Promise<void>((resolve) => slowUpstream.listen(0, '127.0.0.1', () => resolve()));
    const slowOrigin = `http://127.0.0.1:${(slowUpstream.address() as AddressInfo).port}`;
    try {
      await withProxy(
        { upstreamSockets: 2, upstreamQueue: 1 },
        async (origin, _upstream, warnings) => {
          const waiting = ['w1', 'w2', 'w3'].map((name) => fetch(`${origin}${content}/${name}`));
          while (seen < 2) await new Promise((resolve) => setTimeout(resolve, 20));
          await new Promise((resolve) => setTimeout(resolve, 100));
          const started = Date.now();
          const busy = await fetch(`${origin}${content}/w4`, { signal: AbortSignal.timeout(3000) });
          assert.equal(busy.status, 503);
          assert.equal(busy.headers.get('retry-after'), '1');
          assert.ok(Date.now() - started < 1000, 'the refusal came at once');
          assert.equal(warnings.filter((line) => /wait for the upstream; answering 503/.test(line)).length, 1);
          assert.equal(seen, 2, 'only two upstream sockets were used');
          const release = setInterval(() => held.splice(0).forEach((response) => response.end('ok')), 20);
          try {
            assert.deepEqual(await Promise.all(waiting.map(async (answer) => (await answer).status)), [200, 200, 200]);
            // The count of waiting requests went back down: more than queue + sockets pass one by one.
            for (let round = 0; round < 6; round++) {
              assert.equal((await fetch(`${origin}${content}/again${round}`)).status, 200);
            }
          } finally {
            clearInterval(release);
          }
        },
        slowOrigin,
      );
    } finally {
      slowUpstream.closeAllConnections();
      await new Promise((resolve) => slowUpstream.close(resolve));
    }
  });

  it("sends its own listening address as X-Forwarded-Host, never the client's claim", async () => {
    const accessLog: AccessLogEntry[] = [];
    const upstream = await startRecordingUpstream();
    const proxy = new AuthProxy({
      upstream: upstream.origin,
      listen: { host: '127.0.0.1', port: 0 },
      onAccess: (entry) => accessLog.push(entry),
    });
    try {
      const origin = await proxy.start();
      const claims = 'X-Forwarded-Host: attacker.example\r\nForwarded: host=attacker.example\r\n';
      await exchange(origin, getRequest('fwd', claims).replace('Host: x', 'Host: evil.example:444'));
      const seen = upstream.requests.at(-1)?.headers;
      assert.equal(seen?.['x-forwarded-host'], new URL(origin).host);
      assert.equal(seen.forwarded, undefined);
      assert.equal(seen.host, new URL(upstream.origin).host);
    } finally {
      await proxy.stop();
      await upstream.stop();
    }
  });
});
