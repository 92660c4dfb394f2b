import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BlobUploadInterruptedError,
  pushBlob,
  type BlobPushOptions,
  type LocalBlob,
} from '../../src/registry/blob-upload.js';
import { RegistryClient, sha256Digest } from '../../src/registry/client.js';
import { RegistryAuthError, RegistryConnectionError } from '../../src/registry/errors.js';
import { pushImageFolder } from '../../src/registry/push-folder.js';
import { startFaultProxy, type FaultProxy, type Faults } from '../helpers/fault-proxy.js';
import { temporaryDir } from '../helpers/files.js';
import { ociLayout } from '../helpers/oci-layout.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const KiB = 1024;

/** A file of random bytes, as a blob of a layout. */
function blobOf(size: number): LocalBlob {
  const bytes = randomBytes(size);
  const file = join(temporaryDir('ci-builder-blob-'), 'blob');
  writeFileSync(file, bytes);
  return { digest: sha256Digest(bytes), size, file };
}

/** Every form of the registry password a line could leak: plain, and inside a Basic header. */
function secretForms(registry: TestRegistry): string[] {
  const basic = Buffer.from(`${registry.username}:${registry.password}`).toString('base64');
  return [registry.password, basic, Buffer.from(registry.password).toString('base64').replace(/=+$/, '')];
}

describe("blob upload against Debian's docker-registry through a faulty network", () => {
  let registry: TestRegistry;
  const proxies: FaultProxy[] = [];
  before(async () => (registry = await startRegistry()));
  after(async () => {
    for (const proxy of proxies) await proxy.stop();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await registry?.stop();
  });

  /** A fault proxy of the test's own (its own counts), and a client through it that retries nothing by itself. */
  const through = async (faults: Partial<Faults> = {}) => {
    const proxy = await startFaultProxy(registry.address, faults);
    proxies.push(proxy);
    const login = { username: registry.username, password: registry.password };
    const client = new RegistryClient(proxy.address, login, { insecure: true, retry: { attempts: 1, backoffMs: 0 } });
    return { proxy, client };
  };
  const lines: string[] = [];
  const options = (overrides: Partial<BlobPushOptions> = {}): BlobPushOptions => ({
    mountFrom: [],
    chunkBytes: 256 * KiB,
    attempts: 4,
    backoffMs: 50,
    idleMs: 10_000,
    answerMs: 10_000,
    signal: new AbortController().signal,
    onLine: (line) => lines.push(line),
    ...overrides,
  });

  it("skips a blob the repository has, and mounts one an ancestor's repository has, sending neither", async () => {
    const { proxy, client } = await through();
    const blob = blobOf(100 * KiB);
    assert.deepEqual(await pushBlob(client, 'dev/base', blob, options()), { how: 'uploaded', retries: 0, resumed: 0 });
    const sent = proxy.counts.blobBytesPassed;
    assert.deepEqual(await pushBlob(client, 'dev/base', blob, options()), { how: 'present' });
    const mounted = await pushBlob(client, 'dev/child', blob, options({ mountFrom: ['dev/other', 'dev/base'] }));
    assert.deepEqual(mounted, { how: 'mounted' });
    assert.equal(proxy.counts.blobBytesPassed, sent, 'no byte of the blob sent again');
    assert.ok(await client.hasBlob('dev/child', blob.digest));
  });

  it('tries an upload start refused with 503 again, without sending the blob before it again', async () => {
    const { proxy, client } = await through({ refuseEveryNthUpload: 2 });
    const first = blobOf(40 * KiB);
    const second = blobOf(50 * KiB);
    assert.deepEqual(await pushBlob(client, 'dev/refused', first, options()), {
      how: 'uploaded',
      retries: 0,
      resumed: 0,
    });
    assert.deepEqual(await pushBlob(client, 'dev/refused', second, options()), {
      how: 'uploaded',
      retries: 1,
      resumed: 0,
    });
    assert.equal(proxy.counts.uploadsRefused, 1);
    assert.equal(proxy.counts.blobBytesPassed, first.size + second.size);
    assert.ok(await client.hasBlob('dev/refused', second.digest));
  });

  it('resumes a chunked upload cut before its body reached the registry, from where the registry says it stands', async () => {
    const { proxy, client } = await through({ cutBlobRequests: [2, 4], passBeforeCut: 'none' });
    const blob = blobOf(1024 * KiB + 100);
    const before = lines.length;
    const pushed = await pushBlob(client, 'dev/resumed', blob, options());
    assert.deepEqual(pushed, { how: 'uploaded', retries: 2, resumed: 2 });
    assert.equal(proxy.counts.connectionsCut, 2);
    assert.equal(proxy.counts.blobBytesPassed, blob.size, 'every byte reached the registry exactly once');
    assert.ok(lines.slice(before).some((line) => line.includes(`holds ${256 * KiB} of ${blob.size} bytes`)));
    assert.ok(await client.hasBlob('dev/resumed', blob.digest));
  });

  it('starts an upload again when docker-registry dropped it after half a body arrived', async () => {
    const { proxy, client } = await through({ cutBlobRequests: [2], passBeforeCut: 'half' });
    const blob = blobOf(600 * KiB);
    const before = lines.length;
    const pushed = await pushBlob(client, 'dev/restarted', blob, options());
    assert.equal(proxy.counts.connectionsCut, 1);
    const said = lines.slice(before);
    if (pushed.how === 'uploaded' && pushed.resumed > 0) {
      // On a loaded host docker-registry has now and then stored part of the body before the cut: the client
      // then goes on from what the registry says it holds, which is as good.
      assert.ok(
        said.some((line) => / holds \d+ of \d+ bytes/.test(line)),
        said.join('\n'),
      );
    } else {
      assert.deepEqual(pushed, { how: 'uploaded', retries: 1, resumed: 0 });
      assert.ok(said.some((line) => line.includes('kept nothing of the upload, starting it again')));
    }
    assert.ok(!said.some((line) => line.includes('_state=')), 'upload locations without their state token');
    assert.ok(await client.hasBlob('dev/restarted', blob.digest));
  });

  it('gives a try up after the idle time when the registry takes no more of the body, and stops at once on an interrupt', async () => {
    const { proxy, client } = await through({ holdBlobBodies: true });
    // Larger than what the sockets' buffers take in while nobody reads.
    const blob = blobOf(24 * 1024 * KiB);
    const started = Date.now();
    await assert.rejects(
      pushBlob(
        client,
        'dev/held',
        blob,
        options({ attempts: 2, idleMs: 400, answerMs: 60_000, chunkBytes: 32 * 1024 * KiB }),
      ),
      (error: unknown) => error instanceof RegistryConnectionError && /no progress for 0.4 s/.test(error.message),
    );
    assert.ok(Date.now() - started < 10_000);
    assert.equal(proxy.counts.blobBodiesHeld, 2, 'each try was held, and given up');
    const interrupt = new AbortController();
    const pushing = pushBlob(client, 'dev/held', blob, options({ signal: interrupt.signal }));
    await proxy.firstHold;
    setTimeout(() => interrupt.abort(), 100);
    const interruptedAt = Date.now();
    await assert.rejects(pushing, BlobUploadInterruptedError);
    assert.ok(Date.now() - interruptedAt < 2000);
  });

  it('gives a try up when the answer to a whole body never comes, and finds the blob stored', async () => {
    const { proxy, client } = await through({ holdBlobAnswers: true });
    const blob = blobOf(120 * KiB);
    const started = Date.now();
    const pushed = await pushBlob(client, 'dev/unanswered', blob, options({ answerMs: 300 }));
    assert.deepEqual(pushed, { how: 'uploaded', retries: 1, resumed: 0 });
    assert.ok(Date.now() - started < 10_000);
    assert.equal(proxy.counts.blobRequests, 1, 'the blob was sent once');
    assert.ok(lines.some((line) => line.includes('after: no progress for 0.3 s')));
  });

  it('refuses a wrong login without retrying, and no line or error carries the credential', async () => {
    const proxy = await startFaultProxy(registry.address);
    proxies.push(proxy);
    const wrong = { username: registry.username, password: `${registry.password}-wrong` };
    const client = new RegistryClient(proxy.address, wrong, { insecure: true });
    await assert.rejects(pushBlob(client, 'dev/denied', blobOf(KiB), options()), (error: unknown) => {
      assert.ok(error instanceof RegistryAuthError);
      for (const form of [wrong.password, ...secretForms(registry)]) assert.ok(!error.message.includes(form));
      return true;
    });
    assert.equal(proxy.counts.uploadStarts, 0);
  });

  it('puts the manifest of a layout once through refusals and cuts, and a second push of it sends nothing', async () => {
    const { proxy, client } = await through({ refuseEveryNthUpload: 3, cutEveryNthBlobConnection: 3 });
    const layers = [randomBytes(700 * KiB), randomBytes(90 * KiB), randomBytes(400 * KiB)];
    const layout = ociLayout(layers);
    const blobs = options({ attempts: 6 });
    const request = { folder: layout, repository: 'dev/layout', tag: 'one', parallelBlobs: 3, blobs };
    const before = lines.length;
    const first = await pushImageFolder(client, request);
    assert.equal(first.already, false);
    assert.equal(first.blobs.uploaded, 4, 'three layers and the config');
    assert.ok(first.retries > 0, 'the faults made some blob try again');
    const manifest = await client.getRawManifest('dev/layout', 'one');
    assert.equal(manifest.digest, first.digest);
    for (const layer of layers) assert.ok(await client.hasBlob('dev/layout', sha256Digest(layer)));

    const second = await pushImageFolder(client, request);
    assert.equal(second.already, true);
    assert.equal(second.digest, first.digest);
    const puts = proxy.manifestPuts.filter((put) => put.reference === 'dev/layout:one');
    assert.deepEqual(puts, [{ reference: 'dev/layout:one', status: 201 }]);
    const said = lines.slice(before).join('\n');
    for (const form of secretForms(registry)) assert.ok(!said.includes(form));
  });
});
