import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OCI_INDEX } from '../../src/registry/media-types.js';
import { startCli } from '../helpers/cli.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

const TAG = 'zed-debian-bookworm-20250101T010101';

/** A config whose registry is `address`, an image tree of two deployable images, a tags file naming them. */
function workspace(address: string): string {
  const dir = temporaryDir('ci-builder-promote-');
  const from = (parent: string) => `FROM {{ namespace }}/{{ image_prefix }}${parent}:{{ tag }}\n`;
  const bundled = readFileSync(new URL('../../etc/ci-builder/config.yml', import.meta.url), 'utf8');
  writeTree(dir, {
    'images/macros.j2': '',
    'images/base/Dockerfile.j2': 'FROM debian:bookworm\n',
    'images/keystone/Dockerfile.j2': from('base'),
    'images/glance/glance-api/Dockerfile.j2': from('base'),
    'etc/config.yml': bundled
      .replace(/^registry: .*$/m, `registry: ${address}`)
      .replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${join(dir, 'images')}`),
    'etc/secrets.yml': 'registry_username: builder\nregistry_password: promote-secret-value\n',
    'tags.yml': `kolla_image_tags:\n  openstack:\n    debian-bookworm: ${TAG}\n`,
  });
  return dir;
}

/** A loopback registry that answers as `handle` says and records what was asked. */
async function standInRegistry(handle: (request: IncomingMessage, response: ServerResponse) => void) {
  const asked: string[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((request, response) => {
    asked.push(`${request.method ?? ''} ${request.url ?? ''}`);
    if (request.url === '/v2/') return void response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    handle(request, response);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    asked,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const promote = (dir: string) => [
  '--config',
  join(dir, 'etc'),
  'tags',
  'promote',
  '--file',
  join(dir, 'tags.yml'),
  '--from',
  'dev',
  '--to',
  'release',
];

describe('tags promote against a registry that hangs or lies', () => {
  let hanging: Awaited<ReturnType<typeof standInRegistry>>;
  let lying: Awaited<ReturnType<typeof standInRegistry>>;
  before(async () => {
    // Takes every manifest request and never answers it.
    hanging = await standInRegistry(() => undefined);
    // Serves an index whose manifests is a string, and takes any PUT.
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: 'x'.repeat(29) }));
    lying = await standInRegistry((request, response) => {
      if (request.method === 'PUT') return void response.writeHead(201).end();
      if (request.url?.startsWith('/v2/dev/') && request.method === 'GET') {
        return void response.writeHead(200, { 'content-type': OCI_INDEX }).end(index);
      }
      response.writeHead(404).end();
    });
  });
  after(async () => {
    await hanging.stop();
    await lying.stop();
  });

  it('stops within 2 s of SIGTERM, lists what it did not copy, and exits 130', async () => {
    const dir = workspace(hanging.address);
    const { child, done } = startCli([...promote(dir), '--concurrency', '1'], { cwd: dir });
    const limit = setTimeout(() => child.kill('SIGKILL'), 60_000);
    while (!hanging.asked.some((request) => request.includes('/manifests/'))) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGTERM');
    const signalled = Date.now();
    const result = await done.finally(() => clearTimeout(limit));
    assert.ok(Date.now() - signalled < 2000, `stopped after ${Date.now() - signalled} ms`);
    assert.equal(result.code, 130, result.stderr);
    assert.deepEqual(result.stdout.split('\n').sort(), [
      '',
      `interrupted release/glance-api:${TAG}`,
      `interrupted release/keystone:${TAG}`,
    ]);
    assert.equal(
      result.stderr.trim().split('\n').at(-1),
      'dev -> release: 0 copied, 0 already present, 0 failed, 2 interrupted',
    );
    assert.equal(hanging.asked.filter((request) => request.includes('/manifests/')).length, 1, 'nothing asked after');
  });

  it('fails an image whose index is malformed in one line naming it, and puts nothing', async () => {
    const dir = workspace(lying.address);
    const { done } = startCli(promote(dir), { cwd: dir });
    const result = await done;
    assert.equal(result.code, 1, result.stderr);
    assert.equal(
      result.stdout.split('\n').sort().join('\n'),
      [
        '',
        `failed release/glance-api:${TAG}: dev/glance-api:${TAG}: manifests: not a list`,
        `failed release/keystone:${TAG}: dev/keystone:${TAG}: manifests: not a list`,
      ].join('\n'),
    );
    assert.deepEqual(
      lying.asked.filter((request) => request.startsWith('PUT')),
      [],
    );
  });
});
