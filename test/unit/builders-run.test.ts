import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Builder } from '../../src/engine/builders.js';
import type { ImageInfo } from '../../src/engine/types.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { ImageGate } from '../../src/run/gate-port.js';
import { FakeEngine } from '../helpers/fake-engine.js';
import { temporaryDir } from '../helpers/files.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { planOf, runPlan, testSettings, testTree, TEST_BASE, type HarnessRun } from '../helpers/run-harness.js';

let registry: TestRegistry;
let cacheDir: string;
const reference = (name: string) => `${registry.address}/ns/${name}:t1`;

/** base → openstack-base → keystone, base → cron, and memcached alone on the base image. */
const plan = () => planOf(testTree(reference));

async function runOn(builders: Builder[], retries = 0, gate?: ImageGate): Promise<HarnessRun> {
  const [first] = builders;
  assert.ok(first);
  const login = { registry: registry.address, username: registry.username, password: registry.password };
  const settings = testSettings(first.engine, { builders, retries, push: true });
  return runPlan(plan(), settings, {
    runDir: temporaryDir('ci-builder-spread-'),
    cacheDir,
    push: { threads: 2, attempts: 1, backoffMs: 10, insecure: true, login, handOffTimeoutMs: 5000 },
    ...(gate ? { gate } : {}),
  });
}

/** Two fake engines sharing one registry: the real one on loopback, and the map their pulls read. */
function twoEngines(): [FakeEngine, FakeEngine] {
  const shared = new Map<string, ImageInfo>();
  const login = { username: registry.username, password: registry.password };
  const remote = new RegistryClient(registry.address, login, { insecure: true });
  return [new FakeEngine({ registry: shared, remote }), new FakeEngine({ registry: shared, remote })];
}

const ALL = ['base', 'cron', 'keystone', 'memcached', 'openstack-base'];
const pushedOnce = (engines: FakeEngine[]) => engines.flatMap((engine) => engine.pushed).sort();

describe('a run spread over two builders', () => {
  before(async () => {
    registry = await startRegistry();
    cacheDir = temporaryDir('ci-builder-spread-cache-');
    // A cached root filesystem makes each builder's base image an import (no mmdebstrap here).
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(join(cacheDir, `${TEST_BASE.digest.replace('sha256:', '')}.tar`), 'a root filesystem');
  });
  after(async () => {
    await registry.stop();
  });

  it('uses both builders; children elsewhere pull the parent by digest; every image is pushed once', async () => {
    const [a, b] = twoEngines();
    const { exitCode, summary } = await runOn([
      { name: 'a', engine: a, slots: 1 },
      { name: 'b', engine: b, slots: 1 },
    ]);
    assert.equal(exitCode, 0);
    assert.deepEqual(pushedOnce([a, b]), ALL.map(reference).sort());
    const where = Object.fromEntries(ALL.map((name) => [name, summary.images[name]?.builder]));
    assert.deepEqual(new Set(Object.values(where)), new Set(['a', 'b']), JSON.stringify(where));
    // Each builder made its own base image, once.
    for (const engine of [a, b]) assert.equal(engine.built.filter((ref) => ref === TEST_BASE.reference).length, 1);
    // A child built away from its parent pulled the parent, by the digest the registry gave it.
    const handedOver = ALL.filter((name) => {
      const parent = plan().images.find((entry) => entry.name === name)?.parent;
      return parent !== null && parent !== undefined && where[parent] !== where[name];
    });
    assert.ok(handedOver.length > 0, `some child is built away from its parent: ${JSON.stringify(where)}`);
    for (const name of handedOver) {
      const parent = plan().images.find((entry) => entry.name === name)?.parent ?? '';
      const engine = where[name] === 'a' ? a : b;
      const pull = engine.calls.find((call) => call.startsWith(`pull ${registry.address}/ns/${parent}@sha256:`));
      assert.ok(pull, `${name} on ${where[name]} pulled ${parent}: ${engine.calls.join(', ')}`);
      assert.ok(
        engine.tagged.some(([, to]) => to === reference(parent)),
        'the pulled parent got its reference',
      );
    }
    assert.deepEqual(summary.builders, ['a', 'b']);
    assert.deepEqual(summary.lost_builders, []);
  });

  it('loses a builder whose daemon goes away mid-build; the image completes on the other, retries kept', async () => {
    const [a] = twoEngines();
    let cut = '';
    const gone = new FakeEngine({
      registry: new Map(),
      onBuildStarted: (ref) => {
        if (cut === '') cut = ref;
        gone.down = true;
      },
    });
    // It holds the base image already: what it loses is an image's build.
    gone.images.set(TEST_BASE.reference, { id: 'sha256:base-image', labels: {}, user: '' });
    const { exitCode, summary, events } = await runOn([
      { name: 'a', engine: a, slots: 1 },
      { name: 'tcp://gone:2375', engine: gone, slots: 1 },
    ]);
    assert.ok(ALL.map(reference).includes(cut), `the lost builder had started an image's build: ${cut}`);
    assert.equal(exitCode, 0, JSON.stringify(summary.failed));
    assert.deepEqual(summary.failed, []);
    assert.deepEqual(summary.lost_builders, ['tcp://gone:2375']);
    assert.deepEqual(pushedOnce([a, gone]), ALL.map(reference).sort());
    for (const name of ALL) assert.equal(summary.images[name]?.builder, 'a', name);
    const warnings = events.filter((event) => event.type === 'warning' && event.lostBuilder !== undefined);
    assert.equal(warnings.length, 1, 'the loss is reported once');
    assert.match(warnings[0]?.type === 'warning' ? warnings[0].message : '', /builder tcp:\/\/gone:2375 lost/);
  });

  it('builds and pushes again elsewhere an image whose builder was lost during its push', async () => {
    const [a] = twoEngines();
    const gone: FakeEngine = new FakeEngine({ registry: new Map(), onPushStarted: () => (gone.down = true) });
    gone.images.set(TEST_BASE.reference, { id: 'sha256:base-image', labels: {}, user: '' });
    const { exitCode, summary } = await runOn([
      { name: 'a', engine: a, slots: 1 },
      { name: 'b', engine: gone, slots: 1 },
    ]);
    assert.equal(exitCode, 0, JSON.stringify(summary.failed));
    assert.equal(gone.built.length, 1, 'one image was built on the builder before it went away');
    assert.deepEqual(pushedOnce([a, gone]), ALL.map(reference).sort());
    assert.deepEqual(summary.lost_builders, ['b']);
    assert.deepEqual(summary.push_failed, []);
    assert.deepEqual(summary.built.map((entry) => entry.name).sort(), ALL, 'each image listed once');
  });

  it('gates (scans) each image on the engine of the builder that holds it, before its push', async () => {
    const [a, b] = twoEngines();
    const gated = new Map<string, boolean>();
    const gate: ImageGate = async (planned, _signal, engine) => {
      const held = await engine.exists(planned.reference);
      gated.set(planned.name, held.ok && held.value);
      return { push: true };
    };
    const { exitCode } = await runOn(
      [
        { name: 'a', engine: a, slots: 1 },
        { name: 'b', engine: b, slots: 1 },
      ],
      0,
      gate,
    );
    assert.equal(exitCode, 0);
    assert.deepEqual([...gated.keys()].sort(), ALL);
    assert.ok([...gated.values()].every(Boolean), JSON.stringify([...gated]));
    assert.deepEqual(pushedOnce([a, b]), ALL.map(reference).sort());
  });

  it('fails every remaining image with connection_error when every builder is lost', async () => {
    const [a, b] = twoEngines();
    a.down = true;
    b.down = true;
    const { exitCode, summary } = await runOn([
      { name: 'a', engine: a, slots: 1 },
      { name: 'b', engine: b, slots: 1 },
    ]);
    assert.equal(exitCode, 1);
    assert.deepEqual([...(summary.lost_builders ?? [])].sort(), ['a', 'b']);
    assert.equal(summary.failed.find((entry) => entry.name === TEST_BASE.reference)?.status, 'connection_error');
  });
});
