import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ContentCache } from '../../src/proxy/content-cache.js';
import { AuthProxy } from '../../src/proxy/server.js';
import { temporaryDir, waitFor } from '../helpers/index.js';

// Left alone, an uncaught exception ends the process; here it is recorded so that the test can say so.
const uncaught: unknown[] = [];
process.on('uncaughtException', (error) => uncaught.push(error));

describe('the proxy and clients that leave early', () => {
  it('survives CONNECT requests whose connection is reset before the refusal is written', async () => {
    const proxy = new AuthProxy({ upstream: 'http://127.0.0.1:1', listen: { host: '127.0.0.1', port: 0 } });
    try {
      const origin = new URL(await proxy.start());
      for (let round = 0; round < 20; round++) {
        await new Promise<void>((resolve) => {
          const socket = connect(Number(origin.port), origin.hostname, () => {
            socket.write('CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n');
            setImmediate(() => (socket.resetAndDestroy(), resolve()));
          });
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(uncaught, []);
      assert.equal((await fetch(`${origin.origin}/pulp/api/v3/status/`)).status, 502, 'the proxy still answers');
    } finally {
      await proxy.stop();
    }
  });
});

describe('the proxy and clients that stop reading mid-body', () => {
  it('releases upstream connections, cache files and partial entries', async () => {
    const large = randomBytes(8 * 1024 * 1024);
    const upstream = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-length': large.length });
      response.end(large);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()));
    const cacheDir = join(temporaryDir(), 'cache');
    const pinned = '/pulp/content/debian/20261101T000000/';
    const proxy = new AuthProxy({
      upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      listen: { host: '127.0.0.1', port: 0 },
      cache: new ContentCache(cacheDir, [pinned]),
      limits: { upstreamSockets: 4, upstreamQueue: 4 },
    });
    const openFds = () => readdirSync('/proc/self/fd').length;
    try {
      const origin = await proxy.start();
      // One whole download, so that the pinned file is a cache hit from then on.
      assert.equal((await (await fetch(`${origin}${pinned}kept.bin`)).arrayBuffer()).byteLength, large.length);
      const baseline = openFds();
      for (let round = 0; round < 5; round++) {
        const paths = [`${pinned}kept.bin`, `${pinned}never-${round}.bin`, `/pulp/content/moving/${round}.bin`];
        await Promise.all(
          paths.flatMap((path) =>
            [1, 2, 3].map(async () => {
              const controller = new AbortController();
              const response = await fetch(`${origin}${path}`, { signal: controller.signal });
              await response.body?.getReader().read();
              controller.abort();
            }),
          ),
        );
      }
      await waitFor('descriptors back to where they were', () => openFds() <= baseline + 4);
      assert.deepEqual(
        readdirSync(cacheDir).filter((name) => name.endsWith('.partial')),
        [],
        'no partial entry left',
      );
      // Were upstream requests still counted as waiting, these would be answered 503.
      for (let round = 0; round < 10; round++) {
        assert.equal((await fetch(`${origin}/pulp/content/moving/x`)).status, 200);
      }
      assert.deepEqual(uncaught, []);
    } finally {
      await proxy.stop();
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});

describe('the proxy in front of a misbehaving upstream', () => {
  it('answers 502 to a response it cannot repeat, such as status 000, and keeps serving', async () => {
    let answers = 0;
    const upstream = createServer((socket) => {
      socket.once('data', () => {
        answers++;
        const status = answers === 1 ? '000 Zero' : '200 OK';
        socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok`);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()));
    const warnings: string[] = [];
    const proxy = new AuthProxy({
      upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      listen: { host: '127.0.0.1', port: 0 },
      onWarning: (line) => warnings.push(line),
    });
    try {
      const origin = await proxy.start();
      const odd = await fetch(`${origin}/pulp/content/x/odd`, { signal: AbortSignal.timeout(3000) });
      assert.equal(odd.status, 502);
      assert.match(await odd.text(), /the upstream answered with an invalid response/);
      assert.match(warnings.join('\n'), /unusable answer from upstream/);
      const next = await fetch(`${origin}/pulp/content/x/next`, { signal: AbortSignal.timeout(3000) });
      assert.deepEqual([next.status, await next.text()], [200, 'ok']);
      assert.deepEqual(uncaught, []);
    } finally {
      await proxy.stop();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});
