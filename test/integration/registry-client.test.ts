import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { RegistryClient, RegistryError, sha256Digest } from '../../src/registry/client.js';
import { parseChallenge } from '../../src/registry/challenge.js';
import { copyImage, MAX_INDEX_DEPTH } from '../../src/registry/copy.js';
import {
  RegistryAuthError,
  RegistryConnectionError,
  RegistryNotFoundError,
  RegistryProtocolError,
} from '../../src/registry/errors.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/registry/media-types.js';
import { pushTwoLayerImage, startRegistry, type TestRegistry } from '../helpers/registry.js';

const clientFor = (registry: TestRegistry, password = registry.password) =>
  new RegistryClient(registry.address, { username: registry.username, password }, { insecure: true });

type ErrorClass = abstract new (...args: never[]) => RegistryError;

const isError = (type: ErrorClass, status: number, code: string) => (error: unknown) =>
  error instanceof type && error.status === status && error.code === code;

describe("the registry client against Debian's docker-registry with htpasswd", () => {
  let registry: TestRegistry;
  before(async () => (registry = await startRegistry()));
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
  after(async () => registry?.stop());

  it('answers the Basic challenge with the credentials', async () => {
    await clientFor(registry).ping();
  });

  it('refuses without or with wrong credentials, saying so', async () => {
    const anonymous = new RegistryClient(registry.address, undefined, { insecure: true });
    await assert.rejects(anonymous.ping(), /wants credentials and none are configured/);
    await assert.rejects(clientFor(registry, 'wrong').ping(), isError(RegistryAuthError, 401, 'REGISTRY_AUTH'));
  });

  it('reports a missing manifest as undefined and a missing repository as 404', async () => {
    const client = clientFor(registry);
    assert.equal(await client.headManifest('ns/nothing', 'tag'), undefined);
    await assert.rejects(client.listTags('ns/nothing'), isError(RegistryNotFoundError, 404, 'REGISTRY_NOT_FOUND'));
  });

  it('pushes a two-layer image and reads back its exact bytes and digest', async () => {
    const client = clientFor(registry);
    const pushed = await pushTwoLayerImage(client, 'dev/exact', 'one', 'exact');
    const head = await client.headManifest('dev/exact', 'one');
    assert.equal(head?.digest, pushed.digest);
    assert.equal(head.digest, sha256Digest(pushed.manifest));
    const raw = await client.getRawManifest('dev/exact', 'one');
    assert.ok(raw.bytes.equals(pushed.manifest));
    assert.equal(raw.mediaType, OCI_MANIFEST);
    assert.deepEqual(
      (await client.getManifest('dev/exact', 'one')).layers.map((layer) => layer.digest),
      pushed.layers,
    );
  });

  it('follows tag pages until the registry gives no next link', async () => {
    const client = clientFor(registry);
    const pushed = await pushTwoLayerImage(client, 'dev/paged', 't0', 'paged');
    for (const tag of ['t1', 't2', 't3', 't4']) {
      await client.putManifest('dev/paged', tag, pushed.manifest, OCI_MANIFEST);
    }
    assert.deepEqual((await client.listTags('dev/paged', 2)).sort(), ['t0', 't1', 't2', 't3', 't4']);
  });

  it('promotes by blob mount and manifest put, with the same digest, and a second time copies nothing', async () => {
    const client = clientFor(registry);
    const pushed = await pushTwoLayerImage(client, 'dev/keystone', 'v1', 'keystone');
    const first = await copyImage(client, 'dev/keystone', 'rel/keystone', 'v1');
    assert.deepEqual(first, { outcome: 'copied', digest: pushed.digest });
    assert.equal((await client.headManifest('rel/keystone', 'v1'))?.digest, pushed.digest);
    for (const layer of pushed.layers) assert.ok(await client.hasBlob('rel/keystone', layer));
    const second = await copyImage(client, 'dev/keystone', 'rel/keystone', 'v1');
    assert.deepEqual(second, { outcome: 'already-present', digest: pushed.digest });
  });

  it('copies an index after its child manifests, each by digest', async () => {
    const client = clientFor(registry);
    const amd = await pushTwoLayerImage(client, 'dev/multi', 'amd64', 'multi-amd64');
    const arm = await pushTwoLayerImage(client, 'dev/multi', 'arm64', 'multi-arm64');
    const child = (image: typeof amd, architecture: string) => ({
      mediaType: OCI_MANIFEST,
      digest: image.digest,
      size: image.manifest.length,
      platform: { architecture, os: 'linux' },
    });
    const manifests = [child(amd, 'amd64'), child(arm, 'arm64')];
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
    const indexDigest = await client.putManifest('dev/multi', 'both', index, OCI_INDEX);
    const copied = await copyImage(client, 'dev/multi', 'rel/multi', 'both');
    assert.deepEqual(copied, { outcome: 'copied', digest: indexDigest });
    assert.equal((await client.headManifest('rel/multi', 'both'))?.digest, indexDigest);
    assert.equal((await client.headManifest('rel/multi', amd.digest))?.digest, amd.digest);
    assert.equal((await client.headManifest('rel/multi', arm.digest))?.digest, arm.digest);
    assert.ok((await client.getRawManifest('rel/multi', 'both')).bytes.equals(index));
  });

  it('refuses indexes nested deeper than images nest, before putting anything, and copies a chain it allows', async () => {
    const client = clientFor(registry);
    const leaf = await pushTwoLayerImage(client, 'dev/deep', 'leaf', 'deep');
    // level1 holds the image, level2 holds level1, and so on: the registry takes any chain.
    let child = { mediaType: OCI_MANIFEST, digest: leaf.digest, size: leaf.manifest.length };
    const top = MAX_INDEX_DEPTH + 1;
    for (let level = 1; level <= top; level++) {
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [child] }));
      const digest = await client.putManifest('dev/deep', `level${level}`, index, OCI_INDEX);
      child = { mediaType: OCI_INDEX, digest, size: index.length };
    }
    await assert.rejects(copyImage(client, 'dev/deep', 'rel/deep', `level${top}`), (error: unknown) => {
      assert.ok(error instanceof RegistryProtocolError, String(error));
      const limit = `indexes nest more than ${MAX_INDEX_DEPTH} deep; not followed further`;
      assert.equal(error.message, `dev/deep:level${top}: ${limit}`);
      return true;
    });
    assert.equal(await client.headManifest('rel/deep', leaf.digest), undefined, 'nothing was put');
    for (const layer of leaf.layers) assert.equal(await client.hasBlob('rel/deep', layer), false, 'nothing mounted');
    const allowed = await copyImage(client, 'dev/deep', 'rel/deep', `level${MAX_INDEX_DEPTH}`);
    assert.equal(allowed.outcome, 'copied');
    assert.equal((await client.headManifest('rel/deep', leaf.digest))?.digest, leaf.digest);
  });
});

describe('the registry client against docker-registry with token auth (token field)', () => {
  let registry: TestRegistry;
  before(async () => (registry = await startRegistry({ kind: 'token', field: 'token' })));
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
  after(async () => registry?.stop());

  it('gets a signed token the registry accepts, and reuses it for the same scope', async () => {
    const client = clientFor(registry);
    await client.ping();
    assert.equal(await client.headManifest('dev/none', 'x'), undefined);
    const before = registry.tokenRequests.length;
    assert.equal(await client.headManifest('dev/none', 'y'), undefined);
    assert.equal(registry.tokenRequests.length, before, 'a cached token answers the second request');
    const proper = (request: (typeof registry.tokenRequests)[number]) =>
      request.service === 'ci-builder-test-registry' && request.authenticated;
    assert.ok(registry.tokenRequests.every(proper));
  });

  it('refuses wrong credentials with an auth error that carries no secret', async () => {
    await assert.rejects(clientFor(registry, 'wrong-secret-value').ping(), (error: unknown) => {
      assert.ok(error instanceof RegistryAuthError);
      assert.ok(!error.message.includes('wrong-secret-value'));
      return true;
    });
  });

  it('mounts across repositories with one token holding both scopes', async () => {
    const client = clientFor(registry);
    const pushed = await pushTwoLayerImage(client, 'dev/nova-api', 'v1', 'nova-api');
    assert.equal((await copyImage(client, 'dev/nova-api', 'rel/nova-api', 'v1')).outcome, 'copied');
    assert.equal((await client.headManifest('rel/nova-api', 'v1'))?.digest, pushed.digest);
    const mountScopes = registry.tokenRequests.find((request) => request.scopes.length === 2)?.scopes;
    assert.deepEqual(mountScopes?.sort(), ['repository:dev/nova-api:pull', 'repository:rel/nova-api:pull,push']);
  });
});

describe('the registry client against docker-registry with token auth (access_token field, short-lived)', () => {
  let registry: TestRegistry;
  before(async () => (registry = await startRegistry({ kind: 'token', field: 'access_token', expiresIn: 1 })));
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
  after(async () => registry?.stop());

  it('reads access_token and asks again once expires_in has passed', async () => {
    const client = clientFor(registry);
    const pushed = await pushTwoLayerImage(client, 'dev/glance', 'v1', 'glance');
    assert.equal((await client.headManifest('dev/glance', 'v1'))?.digest, pushed.digest);
    const before = registry.tokenRequests.length;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal((await client.headManifest('dev/glance', 'v1'))?.digest, pushed.digest);
    assert.equal(registry.tokenRequests.length, before + 1);
  });
});

type Handler = (count: number, request: http.IncomingMessage, response: http.ServerResponse) => void;

/** A loopback server that fails on purpose, for what docker-registry cannot be made to do. */
async function startFlakyServer(handle: Handler) {
  let count = 0;
  const server = http.createServer((request, response) => handle(++count, request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    client: new RegistryClient(`127.0.0.1:${(server.address() as AddressInfo).port}`, undefined, {
      insecure: true,
      retry: { attempts: 3, backoffMs: 10 },
    }),
    count: () => count,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the registry client on a failing network', () => {
  it('retries a 503 and a reset connection, then succeeds', async () => {
    const server = await startFlakyServer((count, request, response) => {
      if (count === 1) return void response.writeHead(503).end();
      if (count === 2) return void request.socket.destroy();
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    try {
      await server.client.ping();
      assert.equal(server.count(), 3);
    } finally {
      await server.stop();
    }
  });

  it('gives up after the bounded attempts, with the status and the code', async () => {
    const failing = await startFlakyServer((_count, _request, response) => void response.writeHead(502).end());
    const resetting = await startFlakyServer((_count, request) => void request.socket.destroy());
    try {
      await assert.rejects(failing.client.ping(), isError(RegistryError, 502, 'REGISTRY_HTTP'));
      assert.equal(failing.count(), 3);
      await assert.rejects(resetting.client.ping(), isError(RegistryConnectionError, 0, 'REGISTRY_CONNECTION'));
      assert.equal(resetting.count(), 3);
    } finally {
      await failing.stop();
      await resetting.stop();
    }
  });

  it('keeps only the path and query of an absolute Link, as Pulp sends it', async () => {
    const server = await startFlakyServer((_count, request, response) => {
      const last = new URL(request.url ?? '/', 'http://x').searchParams.get('last');
      const page = last === null ? ['a', 'b'] : last === 'b' ? ['c'] : [];
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (last === null) headers.link = '<https://pulp.example.com/v2/ns/img/tags/list?n=2&last=b>; rel="next"';
      response.writeHead(200, headers).end(JSON.stringify({ name: 'ns/img', tags: page }));
    });
    try {
      assert.deepEqual(await server.client.listTags('ns/img', 2), ['a', 'b', 'c']);
    } finally {
      await server.stop();
    }
  });
});

describe('WWW-Authenticate parsing', () => {
  it('keeps commas inside quoted parameters', () => {
    const realm = 'https://pulp.example.com/token/';
    const header = `Bearer realm="${realm}",service="pulp.example.com",scope="repository:ns/img:pull,push"`;
    assert.deepEqual(parseChallenge(header), {
      scheme: 'bearer',
      params: { realm, service: 'pulp.example.com', scope: 'repository:ns/img:pull,push' },
    });
    const basic = parseChallenge('Basic realm="test-registry"');
    assert.deepEqual(basic, { scheme: 'basic', params: { realm: 'test-registry' } });
  });
});
