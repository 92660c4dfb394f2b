import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { AuthProxy } from '../../src/proxy/server.js';

// Left alone, an uncaught exception ends the process; here it is recorded so that the test can say so.
const uncaught: unknown[] = [];
process.on('uncaughtException', (error) => uncaught.push(error));

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
