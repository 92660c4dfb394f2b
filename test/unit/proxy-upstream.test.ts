import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Upstream } from '../../src/proxy/upstream.js';
import { UsageError } from '../../src/util/errors.js';
import { temporaryDir } from '../helpers/files.js';

describe('an upstream', () => {
  let server: http.Server;
  let port = 0;
  const seen: Array<{ url: string; host: string | undefined }> = [];

  before(async () => {
    server = http.createServer((request, response) => {
      seen.push({ url: request.url ?? '', host: request.headers.host });
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function fetchThrough(pool: Upstream, target: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const request = pool.request('GET', target, ['host', pool.host], 5000);
      request.on('response', (response) => {
        response.resume();
        response.on('end', () => resolve(seen.at(-1)?.url ?? ''));
      });
      request.on('error', reject);
      request.end();
    });
  }

  // The path upstream sees is the one URL parsing of prefix + target gives, whether or not the parsing is skipped.
  const targets = [
    '/pulp/content/debian/bookworm/20261101T000000/dists/bookworm/Release',
    '/pulp/content/a/b%20c/d?x=1&y=%2F',
    "/pulp/content/a/(b)!$&'*+,;=:@~/c",
    '/pulp/content/a/b"c{d}e|f^g`h',
    '/pulp/content/a/b<c>d',
    '/pulp/content/a/é',
  ];
  for (const prefix of ['', '/pulp-behind/', '/pulp-behind']) {
    it(`sends the path URL parsing gives, with the upstream prefix "${prefix}"`, async () => {
      const upstream = new URL(`http://127.0.0.1:${port}${prefix}`);
      const pool = new Upstream(upstream.href, { sockets: 4, what: 'upstream' });
      try {
        for (const target of targets) {
          const expected = new URL(`${upstream.pathname.replace(/\/+$/, '')}${target}`, upstream.origin);
          assert.equal(await fetchThrough(pool, target), `${expected.pathname}${expected.search}`, target);
          assert.equal(pool.href(target), expected.href, target);
          // A mirror route hands over its path without the leading slash: the same request goes out.
          assert.equal(await fetchThrough(pool, target.slice(1)), `${expected.pathname}${expected.search}`, target);
        }
        assert.equal(seen.at(-1)?.host, `127.0.0.1:${port}`);
      } finally {
        pool.destroy();
      }
    });
  }

  it('keeps its connections open between requests', async () => {
    const pool = new Upstream(`http://127.0.0.1:${port}`, { sockets: 4, what: 'upstream' });
    const sockets = new Set<unknown>();
    const onConnection = (socket: unknown) => sockets.add(socket);
    server.on('connection', onConnection);
    try {
      for (let round = 0; round < 5; round++) await fetchThrough(pool, '/pulp/content/x');
      assert.equal(sockets.size, 1);
    } finally {
      server.off('connection', onConnection);
      pool.destroy();
    }
  });

  it('refuses a base URL that carries credentials, naming what it is', () => {
    assert.throws(
      () => new Upstream(`http://user:secret@127.0.0.1:${port}/debian/`, { sockets: 1, what: 'mirror debian/main' }),
      /^Error: the mirror debian\/main URL must not carry credentials/,
    );
  });

  it('refuses a CA file that is missing or a FIFO in one line, without waiting for a writer', () => {
    const dir = temporaryDir();
    const fifo = `${dir}/ca.pem`;
    execFileSync('mkfifo', [fifo]);
    for (const [caFile, why] of [
      [`${dir}/missing.pem`, `${dir}/missing.pem: cannot read the CA file (pulp.ca_file) (ENOENT)`],
      [fifo, `${fifo}: CA file (pulp.ca_file) is a FIFO, not a regular file`],
    ] as const) {
      assert.throws(
        () => new Upstream('https://127.0.0.1:1', { sockets: 1, what: 'upstream', caFile }),
        (error) => {
          assert.ok(error instanceof UsageError);
          assert.equal(error.message, why);
          return true;
        },
      );
    }
  });
});
