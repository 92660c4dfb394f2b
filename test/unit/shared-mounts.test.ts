import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EngineResult, MountedImage } from '../../src/engine/types.js';
import { SharedMounts } from '../../src/run/shared-mounts.js';
import { fail, ok } from '../../src/util/result.js';
import { FakeEngine } from '../helpers/fake-engine.js';

/** A fake engine whose mounts are counted: made, released, and failing while `failing` holds the reference. */
function mountingEngine(failing = new Set<string>()) {
  const counts = { mounted: [] as string[], released: [] as string[] };
  const engine = new FakeEngine();
  Object.assign(engine, {
    mountImage: async (reference: string): EngineResult<MountedImage> => {
      await new Promise((settle) => setImmediate(settle));
      counts.mounted.push(reference);
      if (failing.has(reference)) return fail({ kind: 'engine', message: `${reference} is busy` });
      return ok({ root: `/mnt/${reference}`, release: () => Promise.resolve(void counts.released.push(reference)) });
    },
  });
  return { engine, counts };
}

describe('the run-wide mounts of the images stacks read', () => {
  it('mounts an image once for every stack asking at once or later, and lets each go once at the end', async () => {
    const { engine, counts } = mountingEngine();
    const mounts = new SharedMounts();
    const asked = await Promise.all(['base', 'base', 'openstack-base'].map((ref) => mounts.mount(engine, ref)));
    const again = await mounts.mount(engine, 'base');
    assert.deepEqual(
      [...asked, again].map((mounted) => (mounted.ok ? mounted.value.root : mounted.failure.message)),
      ['/mnt/base', '/mnt/base', '/mnt/openstack-base', '/mnt/base'],
    );
    assert.deepEqual(counts.mounted.sort(), ['base', 'openstack-base']);
    assert.deepEqual(counts.released, []);
    await mounts.releaseAll();
    assert.deepEqual(counts.released.sort(), ['base', 'openstack-base']);
  });

  it('keeps each engine its own mounts: a builder of a spread run mounts in its own store', async () => {
    const first = mountingEngine();
    const second = mountingEngine();
    const mounts = new SharedMounts();
    await mounts.mount(first.engine, 'base');
    await mounts.mount(second.engine, 'base');
    assert.deepEqual([first.counts.mounted, second.counts.mounted], [['base'], ['base']]);
    await mounts.releaseAll();
    assert.deepEqual([first.counts.released, second.counts.released], [['base'], ['base']]);
  });

  it('does not keep a failed mount: the next stack asks the engine again', async () => {
    const failing = new Set(['base']);
    const { engine, counts } = mountingEngine(failing);
    const mounts = new SharedMounts();
    const refused = await mounts.mount(engine, 'base');
    assert.equal(refused.ok ? 'mounted' : refused.failure.message, 'base is busy');
    failing.clear();
    const mounted = await mounts.mount(engine, 'base');
    assert.equal(mounted.ok ? mounted.value.root : mounted.failure.message, '/mnt/base');
    assert.deepEqual(counts.mounted, ['base', 'base']);
    await mounts.releaseAll();
    assert.deepEqual(counts.released, ['base']);
  });
});
