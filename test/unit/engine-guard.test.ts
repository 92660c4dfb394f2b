import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BuildahEngine } from '../../src/engine/buildah.js';
import { DockerEngine } from '../../src/engine/docker.js';
import { guardEngine } from '../../src/engine/guarded.js';
import { PodmanEngine } from '../../src/engine/podman.js';
import type { Engine, MountedImage } from '../../src/engine/types.js';
import { ok } from '../../src/util/result.js';
import { FakeEngine } from '../helpers/fake-engine.js';

/** The fake engine with a mount, as buildah and podman have one. */
function mountingEngine(mount: Engine['mountImage']): Engine {
  const engine = new FakeEngine();
  return Object.assign(engine, { mountImage: mount });
}

describe('the guarded engine', () => {
  it('keeps the mount of the engines that have one, so images are read in place and not exported', () => {
    for (const engine of [new BuildahEngine('/nonexistent/buildah'), new PodmanEngine('/nonexistent/podman')])
      assert.equal(typeof guardEngine(engine).mountImage, 'function', engine.name);
    assert.equal(typeof guardEngine(new DockerEngine('/nonexistent/docker')).mountImage, 'undefined');
  });

  it("keeps docker's copy of files out of an image, and turns a copy that throws into an engine failure", async () => {
    assert.equal(typeof guardEngine(new DockerEngine('/nonexistent/docker')).copyFiles, 'function');
    assert.equal(typeof guardEngine(new BuildahEngine('/nonexistent/buildah')).copyFiles, 'undefined');
    const broken = guardEngine(
      Object.assign(new FakeEngine(), { copyFiles: () => Promise.reject(new Error('daemon went away')) }),
    );
    const answer = await broken.copyFiles?.('sha256:abc', ['/var/lib/dpkg/status']);
    assert.ok(answer !== undefined && !answer.ok);
    assert.deepEqual(answer.failure, { kind: 'engine', message: 'buildah copy: daemon went away' });
  });

  it("hands the engine's mount through, and turns a mount that throws into an engine failure", async () => {
    const mounted: MountedImage = { root: '/merged/root', release: () => Promise.resolve() };
    const asked: string[] = [];
    const good = guardEngine(
      mountingEngine((reference) => {
        asked.push(reference);
        return Promise.resolve(ok(mounted));
      }),
    );
    assert.deepEqual(await good.mountImage?.('sha256:abc'), ok(mounted));
    assert.deepEqual(asked, ['sha256:abc']);

    const broken = guardEngine(mountingEngine(() => Promise.reject(new Error('storage is locked'))));
    const answer = await broken.mountImage?.('sha256:abc');
    assert.ok(answer !== undefined && !answer.ok);
    assert.equal(answer.failure.kind, 'engine');
    assert.equal(answer.failure.message, 'buildah mount: storage is locked');
  });

  it('a buildah that is not there fails the mount as a connection failure, as every other operation', async () => {
    const answer = await guardEngine(new BuildahEngine('/nonexistent/buildah')).mountImage?.('r');
    assert.ok(answer !== undefined && !answer.ok);
    assert.equal(answer.failure.kind, 'connection');
  });
});
