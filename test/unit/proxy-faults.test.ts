import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { AuthProxy } from '../../src/proxy/server.js';

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
