import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SummaryCollector } from '../../src/report/summary.js';
import { registryHoldsImage, splitReference } from '../../src/run/already-pushed.js';
import { writeRegistryAuth, type RegistryAuth } from '../../src/run/registry-auth.js';
import { freePort } from '../helpers/ports.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Pushes a one-layer image (or an index, with `index`) the way engines do: blobs first, then the manifest. */
async function putImage(
  registry: TestRegistry,
  repository: string,
  tag: string,
  marker: string,
  index = false,
): Promise<string> {
  const authorization = `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}`;
  const base = `http://${registry.address}/v2/${repository}`;
  const putBlob = async (bytes: Buffer): Promise<string> => {
    const digest = digestOf(bytes);
    const started = await fetch(`${base}/blobs/uploads/`, { method: 'POST', headers: { authorization } });
    assert.equal(started.status, 202);
    const location = new URL(started.headers.get('location') ?? '', base);
    location.searchParams.set('digest', digest);
    const headers = { authorization, 'content-type': 'application/octet-stream' };
    const finished = await fetch(location, { method: 'PUT', headers, body: bytes });
    assert.equal(finished.status, 201, await finished.text());
    return digest;
  };
  const layer = Buffer.from(`layer ${marker}`);
  const rootfs = { type: 'layers', diff_ids: [digestOf(layer)] };
  const labels = { Labels: { marker } };
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs, config: labels }));
  const configDigest = await putBlob(config);
  const layerDigest = await putBlob(layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
  });
  const putManifest = async (reference: string, mediaType: string, body: string) => {
    const headers = { authorization, 'content-type': mediaType };
    const response = await fetch(`${base}/manifests/${reference}`, { method: 'PUT', headers, body });
    assert.equal(response.status, 201, await response.text());
  };
  const manifestType = 'application/vnd.oci.image.manifest.v1+json';
  if (!index) {
    await putManifest(tag, manifestType, manifest);
    return configDigest;
  }
  const manifestDigest = digestOf(Buffer.from(manifest));
  await putManifest(manifestDigest, manifestType, manifest);
  const indexType = 'application/vnd.oci.image.index.v1+json';
  const platform = { architecture: 'amd64', os: 'linux' };
  const manifests = [{ mediaType: manifestType, digest: manifestDigest, size: manifest.length, platform }];
  await putManifest(tag, indexType, JSON.stringify({ schemaVersion: 2, mediaType: indexType, manifests }));
  return configDigest;
}

describe("whether the registry already holds an image, against Debian's docker-registry", () => {
  let registry: TestRegistry;
  let auth: RegistryAuth;
  let configDigest: string;

  before(async () => {
    registry = await startRegistry();
    auth = await writeRegistryAuth(registry.address, registry.username, registry.password);
    configDigest = await putImage(registry, 'ns/keystone', 'run-1', 'first');
  });
  after(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await auth?.dispose();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await registry?.stop();
  });

  it('says yes when the manifest at the reference names the local image id as its config', async () => {
    const access = { insecure: true, login: auth.login };
    const reference = `${registry.address}/ns/keystone:run-1`;
    assert.equal(await registryHoldsImage(reference, configDigest, access), true, 'docker form, sha256:…');
    const bareHex = configDigest.slice('sha256:'.length);
    assert.equal(await registryHoldsImage(reference, bareHex, access), true, 'buildah form, bare hex');
  });

  it('says no for another image at the tag, a missing tag or repository, and an index', async () => {
    const access = { insecure: true, login: auth.login };
    const other = await putImage(registry, 'ns/keystone', 'run-2', 'second');
    assert.notEqual(other, configDigest);
    assert.equal(await registryHoldsImage(`${registry.address}/ns/keystone:run-2`, configDigest, access), false);
    assert.equal(await registryHoldsImage(`${registry.address}/ns/keystone:no-such-tag`, configDigest, access), false);
    assert.equal(await registryHoldsImage(`${registry.address}/ns/nothing:run-1`, configDigest, access), false);
    const indexed = await putImage(registry, 'ns/multi', 'run-1', 'indexed', true);
    const multi = `${registry.address}/ns/multi:run-1`;
    assert.equal(await registryHoldsImage(multi, indexed, access), false, 'an index has no config to compare');
  });

  it('says no when the registry cannot be asked: nothing listening, no login, a wrong login', async () => {
    const nobody = `127.0.0.1:${await freePort()}/ns/keystone:run-1`;
    assert.equal(await registryHoldsImage(nobody, configDigest, { insecure: true }), false);
    const reference = `${registry.address}/ns/keystone:run-1`;
    assert.equal(await registryHoldsImage(reference, configDigest, { insecure: true }), false);
    const wrong = await writeRegistryAuth(registry.address, registry.username, 'not-the-password');
    try {
      assert.equal(await registryHoldsImage(reference, configDigest, { insecure: true, login: wrong.login }), false);
    } finally {
      await wrong.dispose();
    }
  });
});

describe('splitting an image reference', () => {
  it('takes the registry up to the first slash and the tag after the last colon', () => {
    assert.deepEqual(splitReference('127.0.0.1:5000/ci-builder-dev/keystone:zed-1'), {
      registry: '127.0.0.1:5000',
      repository: 'ci-builder-dev/keystone',
      tag: 'zed-1',
    });
    const deep = splitReference('registry.example.com/a/b/c:t');
    assert.deepEqual(deep, { registry: 'registry.example.com', repository: 'a/b/c', tag: 't' });
  });

  it('leaves out references it cannot ask about: no registry, no tag, a digest', () => {
    assert.equal(splitReference('keystone:zed'), undefined);
    assert.equal(splitReference('127.0.0.1:5000/ns/keystone'), undefined);
    assert.equal(splitReference('127.0.0.1:5000/ns/keystone@sha256:00'), undefined);
  });
});

describe('an image already in the registry, in the summary', () => {
  it('is listed under pushed with already: true, and so is its push record', () => {
    const collector = new SummaryCollector();
    const at = new Date().toISOString();
    const reference = '127.0.0.1:5000/ns/keystone:run-2';
    const queued = { at, type: 'image', reason: 'queued', parent: null } as const;
    const pushed = { at, type: 'push', reason: 'pushed', seconds: 0.1 } as const;
    collector.handle({ ...queued, name: 'keystone', reference, inputDigest: 'sha256:1' });
    collector.handle({ ...pushed, name: 'keystone', reference, attempts: 0, already: true });
    collector.handle({ ...queued, name: 'cron', reference: 'r', inputDigest: 'sha256:2' });
    collector.handle({ ...pushed, name: 'cron', reference: 'r', attempts: 1 });
    const { summary } = collector;
    assert.deepEqual(summary.pushed, [
      { name: 'keystone', reference, already: true },
      { name: 'cron', reference: 'r' },
    ]);
    assert.equal(summary.images.keystone?.push?.already, true);
    assert.equal(summary.images.cron?.push?.already, undefined);
  });
});
