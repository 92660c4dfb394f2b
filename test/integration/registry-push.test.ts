import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BuildahEngine } from '../../src/engine/buildah.js';
import { DockerEngine } from '../../src/engine/docker.js';
import { PodmanEngine } from '../../src/engine/podman.js';
import type { Engine } from '../../src/engine/types.js';
import { RegistryClient } from '../../src/registry/client.js';
import { writeRegistryAuth } from '../../src/run/registry-auth.js';
import { startDockerd, type TestDockerd } from '../helpers/dockerd.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { temporaryDir } from '../helpers/index.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const FALLBACK = "the engine's push failed";

/**
 * Each engine's push to a registry that refuses every upload while the engine's own push runs (its
 * push fails whole) and then keeps refusing every 3rd and cutting every 2nd blob connection: the image
 * gets there blob by blob through ci-builder's client, its manifest put exactly once.
 */
describe('pushing through a registry that breaks uploads, with every engine', { timeout: 15 * 60_000 }, () => {
  let registry: TestRegistry;
  let dockerd: TestDockerd;
  const proxies: FaultProxy[] = [];
  const signal = new AbortController().signal;

  before(async () => {
    registry = await startRegistry();
    dockerd = await startDockerd();
  });
  after(async () => {
    for (const proxy of proxies) await proxy.stop();
    await dockerd.stop();
    await registry.stop();
  });

  const engines: Array<[string, () => Engine]> = [
    ['buildah', () => new BuildahEngine()],
    ['podman', () => new PodmanEngine()],
    ['docker', () => new DockerEngine('/usr/bin/docker', { ...process.env, DOCKER_HOST: dockerd.host })],
  ];

  for (const [name, makeEngine] of engines) {
    it(`${name}: the engine's push fails at the registry, the rest goes blob by blob, the tag is put once`, async () => {
      const engine = makeEngine();
      const proxy = await startFaultProxy(registry.address, { refuseEveryNthUpload: 1 });
      proxies.push(proxy);
      const context = temporaryDir('ci-builder-push-context-');
      writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY one /one\nCOPY two /two\n');
      writeFileSync(join(context, 'one'), randomBytes(300 * 1024));
      writeFileSync(join(context, 'two'), randomBytes(200 * 1024));
      const repository = `push-test/${name}`;
      const reference = `${proxy.address}/${repository}:one`;
      const built = await engine.build({ contextDir: context, reference, labels: {}, onLine: () => undefined, signal });
      assert.ok(built.ok, built.ok ? '' : built.failure.message);

      const auth = await writeRegistryAuth(proxy.address, registry.username, registry.password);
      const lines: string[] = [];
      const onLine = (line: string) => {
        lines.push(line);
        if (line.startsWith(FALLBACK))
          Object.assign(proxy.faults, { refuseEveryNthUpload: 3, cutEveryNthBlobConnection: 2 });
      };
      try {
        const pushed = await engine.push({
          reference,
          insecure: true,
          authFile: auth.file,
          login: auth.login,
          onLine,
          signal,
        });
        assert.ok(pushed.ok, pushed.ok ? '' : pushed.failure.message);
      } finally {
        await auth.dispose();
      }

      assert.ok(
        lines.some((line) => line.startsWith(FALLBACK)),
        'the engine push failed and the client took over',
      );
      assert.ok(proxy.counts.uploadsRefused > 0);
      const puts = proxy.manifestPuts.filter((put) => put.reference === `${repository}:one`);
      assert.deepEqual(puts.filter((put) => put.status === 201).length, 1, JSON.stringify(puts));
      const direct = new RegistryClient(registry.address, registry, { insecure: true });
      const manifest = await direct.getManifest(repository, 'one');
      const image = await engine.inspect(reference);
      assert.ok(image.ok);
      assert.equal(manifest.config.digest.replace(/^sha256:/, ''), image.value.id.replace(/^sha256:/, ''));
      const basic = Buffer.from(`${registry.username}:${registry.password}`).toString('base64');
      for (const form of [registry.password, basic]) assert.ok(!lines.join('\n').includes(form));
      await engine.remove(reference);
    });
  }
});
