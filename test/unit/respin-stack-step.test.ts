import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type {
  ComposedLayer,
  CompositionRequest,
  EngineResult,
  MountedImage,
  StackRequest,
  Stacked,
} from '../../src/engine/types.js';
import type { RunEvent } from '../../src/report/events.js';
import { SharedAptLists } from '../../src/respin/shared-apt-lists.js';
import type { RegistryComposition } from '../../src/run/registry-composition.js';
import type { ImagePackages } from '../../src/respin/image-packages.js';
import { PackageRecorder } from '../../src/respin/package-recorder.js';
import type { ImageStepContext } from '../../src/run/image-step-context.js';
import type { PatchWork } from '../../src/run/image-work.js';
import { stackOntoPatchedParent, type StackOutcome } from '../../src/run/stack-step.js';
import { ok, type Result } from '../../src/util/result.js';
import { FakeEngine } from '../helpers/fake-engine.js';
import { temporaryDir } from '../helpers/files.js';
import { plannedImage, stepContext } from '../helpers/run-harness.js';

const STATUS = 'Package: dpkg\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.21.22\n\n';

/** A root holding dpkg's status (and whatever else is given), as a mount or a working container shows it. */
function rootWith(files: Record<string, string> = {}): string {
  const root = temporaryDir('ci-builder-root-');
  for (const [path, content] of Object.entries({ 'var/lib/dpkg/status': STATUS, ...files })) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

/**
 * The fake engine, mounting parents (counted) and stacking as buildah does on the interface: the edit on the new
 * root, then the read of it, then the image. `stackRoot` is what the working container's root holds.
 */
function stackingEngine(stackRoot: () => string) {
  const mounted: string[] = [];
  const engine = new FakeEngine();
  Object.assign(engine, {
    mountImage: (reference: string): EngineResult<MountedImage> => {
      mounted.push(reference);
      return Promise.resolve(ok({ root: rootWith(), release: () => Promise.resolve() }));
    },
    stackOwnLayers: async (request: StackRequest): EngineResult<Stacked> => {
      const root = stackRoot();
      const edited = await request.edit(root, { own: [], ontoDiffering: [] });
      if (!edited.ok) return ok({ kind: 'refused', why: edited.failure });
      await request.read?.(root);
      const image = { id: `sha256:${request.reference}`, labels: {}, user: '' };
      return ok({ kind: 'stacked', image, steps: { carried: 1.5, merged: 0.25, committed: 0.5 } });
    },
  });
  return { engine, mounted };
}

/** A recorder of the stacked images' packages, as a run that may patch has one. */
function recorderFor(engine: FakeEngine): PackageRecorder {
  return new PackageRecorder(engine, temporaryDir('ci-builder-respin-'), () => undefined);
}

function patchWork(name: string): PatchWork {
  return {
    kind: 'patch',
    imageId: `sha256:${name}-earlier`,
    snapshotSet: 'debian=1',
    packages: [],
    patchLayers: 0,
    user: '',
    labels: {},
    nativeArchitecture: 'amd64',
    onto: { parentBefore: 'sha256:base-earlier', parentReference: 'registry.test/ns/base:t2', ownPackages: [] },
  };
}

/** The image stacked (never refused here). */
async function stackedImage(
  context: ImageStepContext,
  name: string,
): Promise<Extract<StackOutcome, { kind: 'stacked' }>> {
  const work = patchWork(name);
  const patching = { sources: [], setup: [], restore: [] };
  const image = plannedImage(name, 'base');
  if (work.onto === undefined) throw new Error('the work stacks');
  const made = await stackOntoPatchedParent(
    context,
    patching,
    image,
    work,
    work.onto,
    {},
    new AbortController().signal,
  );
  assert.ok(made.ok, made.ok ? '' : made.failure.message);
  const outcome: StackOutcome = made.value;
  assert.ok(outcome.kind === 'stacked', outcome.kind === 'refused' ? outcome.why : '');
  return outcome;
}

/** The image stacked, and its packages as the stack read them. */
async function stackedPackages(context: ImageStepContext, name: string): Promise<Result<ImagePackages, string>> {
  const { packages } = await stackedImage(context, name);
  assert.ok(packages, `${name}: the stack read its packages`);
  return packages;
}

describe("a child stacked onto its patched parent, in the run's step", () => {
  it("mounts the two parents once for every sibling, and gives the stacked image's packages as its root holds them", async () => {
    const { engine, mounted } = stackingEngine(() => rootWith());
    const context = stepContext(engine, recorderFor(engine));
    for (const name of ['cron', 'memcached']) {
      const packages = await stackedPackages(context, name);
      assert.ok(packages.ok, packages.ok ? '' : packages.failure);
      assert.deepEqual(packages.value.installed, [
        { name: 'dpkg', architecture: 'amd64', version: '1.21.22', source: 'dpkg' },
      ]);
    }
    assert.deepEqual(mounted, ['sha256:base-earlier', 'registry.test/ns/base:t2']);
    await context.parentMounts.releaseAll();
  });

  it("times the stack by step: its parents' mounts, then the engine's steps as the engine timed them", async () => {
    const { engine } = stackingEngine(() => rootWith());
    const context = stepContext(engine, recorderFor(engine));
    const { steps } = await stackedImage(context, 'cron');
    assert.deepEqual(Object.keys(steps), ['parents_mounted', 'carried', 'merged', 'committed']);
    assert.ok(typeof steps.parents_mounted === 'number' && steps.parents_mounted >= 0);
    assert.deepEqual(
      { ...steps, parents_mounted: 0 },
      { parents_mounted: 0, carried: 1.5, merged: 0.25, committed: 0.5 },
    );
    await context.parentMounts.releaseAll();
  });

  it('stacks the image still when its packages cannot be read, saying why (the recorder reads the image then)', async () => {
    const broken = { 'etc/apt/preferences': 'Pin: release a=bookworm\nPin-Priority: 900\n' };
    const { engine } = stackingEngine(() => rootWith(broken));
    const packages = await stackedPackages(stepContext(engine, recorderFor(engine)), 'cron');
    assert.match(packages.ok ? 'read' : packages.failure, /^cron: \/etc\/apt\/preferences.*no Package header/);
  });
});

describe("a stacked child composed at the registry, in the run's step (respin.compose registry)", () => {
  /** The stacking engine, composing too: `composed` says what its composeLastLayer was asked. */
  function composingEngine() {
    const { engine, mounted } = stackingEngine(() => rootWith());
    const composed: string[] = [];
    const names: string[] = [];
    Object.assign(engine, {
      composeLastLayer: (request: CompositionRequest): EngineResult<ComposedLayer> => {
        composed.push(request.image);
        return Promise.resolve(ok({ kind: 'refused', why: 'a stand-in that makes no layer' }));
      },
      imageNames: (reference: string): EngineResult<string[]> => {
        names.push(reference);
        return Promise.resolve(ok([]));
      },
    });
    return { engine, composed, names, mounted };
  }

  const composition = (inStore: string[], pushed: Record<string, boolean>): RegistryComposition => ({
    parents: new Set(inStore),
    inStore: new Set(inStore),
    composed: new Map(),
    held: new Set(),
    pushed: (name) => (name in pushed ? Promise.resolve(pushed[name] === true) : undefined),
    access: { insecure: true },
    blobs: { chunkBytes: 1024, attempts: 1, backoffMs: 1, idleMs: 1000, answerMs: 1000 },
    scratchRoot: temporaryDir('ci-builder-compose-'),
    aptLists: new SharedAptLists(temporaryDir('ci-builder-apt-lists-')),
  });

  it('stacks in the store an image a child of which the run builds on it, without trying to compose it', async () => {
    const { engine, composed, names } = composingEngine();
    const context = { ...stepContext(engine, recorderFor(engine)), composition: composition(['cron'], { base: true }) };
    const outcome = await stackedImage(context, 'cron');
    assert.equal(outcome.kind, 'stacked');
    assert.deepEqual([composed, names], [[], []]);
    await context.parentMounts.releaseAll();
  });

  it('stacks in the store, saying why, when its parent is not pushed by the run or its earlier image is not in the registry', async () => {
    const { engine, composed } = composingEngine();
    const lines: string[] = [];
    const base = stepContext(engine, recorderFor(engine));
    base.events.attach({
      handle: (event: RunEvent) => {
        if (event.type === 'image' && event.reason === 'log') lines.push(event.line);
      },
    });
    const unpushed = { ...base, composition: composition([], {}) };
    assert.equal((await stackedImage(unpushed, 'cron')).kind, 'stacked');
    assert.ok(
      lines.some((line) => line.includes('not composed at the registry: its patched parent is not pushed by this run')),
    );
    // Pushed, but the registry is not there to hold the earlier image: refused before any layer is made.
    const elsewhere = { ...unpushed, composition: composition([], { base: true }) };
    assert.equal((await stackedImage(elsewhere, 'memcached')).kind, 'stacked');
    assert.ok(lines.some((line) => line.includes('its earlier image is not in registry.test/ns/memcached')));
    assert.deepEqual(composed, []);
    await base.parentMounts.releaseAll();
  });

  it("refuses to stack a child of a parent the run's gate held, before mounting anything: the parent is nowhere", async () => {
    const { engine, composed, names, mounted } = composingEngine();
    const held = composition([], { base: false });
    held.held.add('base');
    const context = { ...stepContext(engine, recorderFor(engine)), composition: held };
    const work = patchWork('cron');
    if (work.onto === undefined) throw new Error('the work stacks');
    const signal = new AbortController().signal;
    const patching = { sources: [], setup: [], restore: [] };
    const made = await stackOntoPatchedParent(
      context,
      patching,
      plannedImage('cron', 'base'),
      work,
      work.onto,
      {},
      signal,
    );
    assert.ok(made.ok && made.value.kind === 'refused', JSON.stringify(made));
    assert.match(made.value.why, /^its patched parent was composed and held by the run's gate/);
    assert.deepEqual([mounted, composed, names], [[], [], []]);
  });
});
