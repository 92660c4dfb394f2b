import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BuildahEngine } from '../../src/engine/buildah.js';
import { DockerEngine } from '../../src/engine/docker.js';
import type { Engine } from '../../src/engine/types.js';
import { INPUT_DIGEST_LABEL } from '../../src/plan/plan.js';
import { RegistryClient } from '../../src/registry/client.js';
import { pullParentFromRegistry } from '../../src/run/parent-from-registry.js';
import { writeRegistryAuth, type RegistryAuth } from '../../src/run/registry-auth.js';
import { startDockerd, type TestDockerd } from '../helpers/dockerd.js';
import { temporaryDir } from '../helpers/index.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const noLines = () => undefined;

/**
 * What a builder does with a parent built elsewhere: the image comes back from the registry by tag and
 * by digest, with its labels, and a reference the registry lacks is `not-found`, not an engine error.
 */
describe('pulling an image from a registry into the engine', { timeout: 10 * 60_000 }, () => {
  let registry: TestRegistry;
  let auth: RegistryAuth;
  let dockerd: TestDockerd;
  const signal = new AbortController().signal;

  before(async () => {
    registry = await startRegistry();
    auth = await writeRegistryAuth(registry.address, registry.username, registry.password);
    dockerd = await startDockerd();
  });
  after(async () => {
    await dockerd.stop();
    await auth.dispose();
    await registry.stop();
  });

  const engines = (): Array<[string, Engine]> => [
    ['buildah', new BuildahEngine()],
    ['docker', new DockerEngine('/usr/bin/docker', { ...process.env, DOCKER_HOST: dockerd.host })],
  ];

  for (const index of [0, 1]) {
    it(`${index === 0 ? 'buildah' : 'docker'}: by tag, by digest, and a missing tag`, async () => {
      const [name, engine] = engines()[index] ?? assert.fail('no engine');
      const context = temporaryDir('ci-builder-pull-');
      writeFileSync(join(context, 'Dockerfile'), `FROM scratch\nCOPY marker /marker\n`);
      writeFileSync(join(context, 'marker'), `${name} ${Date.now()}\n`);
      const reference = `${registry.address}/pull-test/${name}:one`;
      const labels = { 'test.pulled': name };
      const built = await engine.build({ contextDir: context, reference, labels, onLine: noLines, signal });
      assert.ok(built.ok, built.ok ? '' : built.failure.message);
      const access = { authFile: auth.file, insecure: true, onLine: noLines, signal };
      const pushed = await engine.push({ reference, ...access });
      assert.ok(pushed.ok, pushed.ok ? '' : pushed.failure.message);
      const removed = await engine.remove(reference);
      assert.ok(removed.ok, removed.ok ? '' : removed.failure.message);
      assert.deepEqual(await engine.exists(reference), { ok: true, value: false });

      const byTag = await engine.pull({ reference, ...access });
      assert.ok(byTag.ok, byTag.ok ? '' : byTag.failure.message);
      assert.equal(byTag.value.labels['test.pulled'], name);

      const client = new RegistryClient(registry.address, registry, { insecure: true });
      const head = await client.headManifest(`pull-test/${name}`, 'one');
      assert.ok(head?.digest);
      assert.ok((await engine.remove(reference)).ok);
      const byDigest = await engine.pull({
        reference: `${registry.address}/pull-test/${name}@${head.digest}`,
        ...access,
      });
      assert.ok(byDigest.ok, byDigest.ok ? '' : byDigest.failure.message);
      assert.equal(byDigest.value.id.replace(/^sha256:/, ''), byTag.value.id.replace(/^sha256:/, ''));

      const missing = await engine.pull({ reference: `${registry.address}/pull-test/${name}:absent`, ...access });
      if (missing.ok) assert.fail(`${name} pulled a tag the registry does not have`);
      assert.equal(missing.failure.kind, 'not-found');
      await engine.remove(byTag.value.id);
    });
  }

  it('a parent built elsewhere: waited for until its input digest is in the registry, then pulled by digest', async () => {
    const engine = new BuildahEngine();
    const context = temporaryDir('ci-builder-parent-');
    writeFileSync(join(context, 'Dockerfile'), `FROM scratch\nCOPY marker /marker\n`);
    writeFileSync(join(context, 'marker'), `parent ${Date.now()}\n`);
    const reference = `${registry.address}/pull-test/parent:run-1`;
    const staging = `${registry.address}/pull-test/parent-staging:run-1`;
    const labels = { [INPUT_DIGEST_LABEL]: 'digest-of-this-run' };
    const built = await engine.build({ contextDir: context, reference: staging, labels, onLine: noLines, signal });
    assert.ok(built.ok, built.ok ? '' : built.failure.message);
    const handOff = { insecure: true, authFile: auth.file, login: { registry: registry.address, ...registry } };
    const lines: string[] = [];
    const options = { ...handOff, pollMs: 200, onLine: (line: string) => lines.push(line), signal };

    // Nothing there yet: the wait ends with not-found after its timeout.
    const absent = await pullParentFromRegistry(
      engine,
      { reference, inputDigest: 'digest-of-this-run' },
      {
        ...options,
        timeoutMs: 600,
      },
    );
    if (absent.ok) assert.fail('pulled a parent that was never pushed');
    assert.equal(absent.failure.kind, 'not-found');
    assert.match(absent.failure.message, /not in the registry after/);

    // Pushed (from the staging name, as another builder would) a second after the wait starts.
    const pushLater = new Promise<number | null>((resolve) => {
      setTimeout(() => {
        const args = ['push', '--tls-verify=false', '--authfile', auth.file, staging, `docker://${reference}`];
        spawn('buildah', args, { stdio: 'ignore' }).on('close', resolve);
      }, 1000);
    });
    const waited = pullParentFromRegistry(
      engine,
      { reference, inputDigest: 'digest-of-this-run' },
      {
        ...options,
        timeoutMs: 60_000,
      },
    );
    assert.equal(await pushLater, 0);
    const pulled = await waited;
    assert.ok(pulled.ok, pulled.ok ? '' : pulled.failure.message);
    assert.equal(pulled.value.labels[INPUT_DIGEST_LABEL], 'digest-of-this-run');
    assert.ok(
      lines.some((line) => line.includes('@sha256:')),
      lines.join('\n'),
    );
    assert.deepEqual(await engine.exists(reference), { ok: true, value: true });

    // The tag now holds this image; a run whose plan gives the parent another input digest does not take it.
    const stale = await pullParentFromRegistry(
      engine,
      { reference, inputDigest: 'digest-of-another-run' },
      {
        ...options,
        timeoutMs: 300,
      },
    );
    if (stale.ok) assert.fail('took an image with another input digest');
    assert.match(stale.failure.message, /another image/);
    await engine.remove(reference);
    await engine.remove(staging);
  });
});
