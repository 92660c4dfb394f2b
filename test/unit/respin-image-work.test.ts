import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EngineResult, ImageInfo, MountedImage, Stacked } from '../../src/engine/types.js';
import {
  INPUT_DIGEST_LABEL,
  RECIPE_DIGEST_LABEL,
  SNAPSHOT_SET_LABEL,
  type Plan,
  type PlannedImage,
} from '../../src/plan/plan.js';
import { describeRebuild, type ImageWork } from '../../src/report/events.js';
import type { ImagePackages } from '../../src/respin/image-packages.js';
import type { Pin } from '../../src/respin/apt-preferences.js';
import { PATCH_LAYERS_LABEL } from '../../src/respin/patch-layer.js';
import { planImageWork, type RunImageWork } from '../../src/run/image-work.js';
import type { RunSettings } from '../../src/run/settings.js';
import { ARCHITECTURE, writeDebRepo, type DebPackage } from '../helpers/deb-repo.js';
import { FakeEngine } from '../helpers/fake-engine.js';
import { temporaryDir } from '../helpers/files.js';
import { startStandInMirror, type StandInMirror } from '../helpers/stand-in-mirror.js';

const deb = (name: string, version: string, architecture = ARCHITECTURE): DebPackage => ({
  name,
  version,
  architecture,
});

/** What snapshot B holds: libssl3 and openssl moved since A, tzdata and memcached did not. */
const SNAPSHOT_B = [
  deb('libssl3', '3.0.15-1~deb12u1'),
  deb('openssl', '3.0.15-1~deb12u1'),
  deb('tzdata', '2024a-0+deb12u1', 'all'),
  deb('memcached', '1.6.18-1'),
];
const AT_A = {
  libssl3: '3.0.11-1~deb12u2',
  openssl: '3.0.11-1~deb12u2',
  tzdata: '2024a-0+deb12u1',
  memcached: '1.6.18-1',
};

interface Earlier {
  /** Packages the earlier image holds, by name; absent: the image has no dpkg status (an rpm one if 'rpm'). */
  packages: Record<string, string> | 'rpm';
  patchLayers?: number;
  pins?: Pin[];
}

/**
 * An engine that can stack own layers, as buildah can: the plan only asks whether it can, so doing it is not
 * this test's (test/unit/respin-stack-step.test.ts and the respin's integration test do it).
 */
class StackingEngine extends FakeEngine {
  stackOwnLayers(): EngineResult<Stacked> {
    throw new Error('the plan only asks whether the engine can stack');
  }

  mountImage(): EngineResult<MountedImage> {
    throw new Error('the plan mounts no image');
  }
}

/**
 * A plan of these images (parents first), each with an earlier image of the same recipe unless told otherwise,
 * on an engine that stacks unless told otherwise (docker does not, nor podman through a service or without buildah).
 */
class Scene {
  readonly engine: FakeEngine;
  readonly byRecipe = new Map<string, string[]>();
  readonly byInput = new Map<string, string>();
  readonly cacheDir = temporaryDir('ci-builder-respin-cache-');
  readonly images: PlannedImage[] = [];

  constructor(options: { stacks?: boolean } = {}) {
    this.engine = options.stacks === false ? new FakeEngine() : new StackingEngine();
  }

  image(name: string, parent: string | null, earlier?: Earlier): this {
    const planned: PlannedImage = {
      name,
      parent,
      reference: `localhost/ns/${name}:b`,
      dockerfile: `FROM ${parent ?? 'debian'}\n`,
      contextFiles: [],
      emptyDirs: [],
      inputDigest: `input-${name}-b`,
      recipeDigest: `recipe-${name}`,
      snapshotSet: 'debian=2',
      labels: {},
      fromBaseImage: parent === null,
    };
    this.images.push(planned);
    if (earlier === undefined) return this;
    const id = `sha256:${name.padEnd(12, '0')}`;
    const info: ImageInfo = {
      id,
      user: name === 'memcached' ? 'memcached' : '',
      labels: {
        [INPUT_DIGEST_LABEL]: `input-${name}-a`,
        [RECIPE_DIGEST_LABEL]: planned.recipeDigest,
        [SNAPSHOT_SET_LABEL]: 'debian=1',
        ...(earlier.patchLayers === undefined ? {} : { [PATCH_LAYERS_LABEL]: String(earlier.patchLayers) }),
      },
    };
    this.engine.images.set(`localhost/ns/${name}:a`, info);
    this.byRecipe.set(planned.recipeDigest, [id]);
    this.readable(id, earlier);
    return this;
  }

  /** The image was built at this very input digest already (holding these packages, for --refresh to read). */
  builtAlready(name: string, held?: Earlier): this {
    const id = `sha256:${name}-b`;
    const layers: Record<string, string> =
      held?.patchLayers === undefined ? {} : { [PATCH_LAYERS_LABEL]: String(held.patchLayers) };
    this.engine.images.set(`localhost/ns/${name}:b`, {
      id,
      user: '',
      labels: { [INPUT_DIGEST_LABEL]: `input-${name}-b`, ...layers },
    });
    if (held !== undefined) this.readable(id, held);
    return this;
  }

  /** What readImagePackages keeps of an image it read: the engine is not asked again. */
  private readable(id: string, earlier: Earlier): void {
    const packages: ImagePackages =
      earlier.packages === 'rpm'
        ? { packageType: 'rpm', nativeArchitecture: '', installed: [], pins: [] }
        : {
            packageType: 'deb',
            nativeArchitecture: ARCHITECTURE,
            installed: Object.entries(earlier.packages).map(([pkg, version]) => ({
              name: pkg,
              version,
              architecture: pkg === 'tzdata' ? 'all' : ARCHITECTURE,
              source: pkg,
            })),
            pins: earlier.pins ?? [],
          };
    writeFileSync(join(this.cacheDir, `${id.replace(/^sha256:/, '')}.json`), JSON.stringify(packages));
  }

  async work(
    mirror: string | undefined,
    respin: Partial<RunSettings['respin']> = {},
    options: { noCache?: boolean } = {},
  ): Promise<Record<string, string>> {
    const work = await this.decided(mirror, respin, options);
    return Object.fromEntries([...work].map(([name, decided]) => [name, show(decided)]));
  }

  async decided(
    mirror: string | undefined,
    respin: Partial<RunSettings['respin']> = {},
    options: { noCache?: boolean } = {},
  ): Promise<Map<string, RunImageWork>> {
    const settings: RunSettings = {
      engine: this.engine,
      threads: 2,
      retries: 0,
      push: false,
      pushThreads: 1,
      pushAttempts: 1,
      authProxy: false,
      packageCache: false,
      skipExisting: false,
      noCache: options.noCache ?? false,
      skipParents: false,
      respin: { mode: 'patch', maxPatchLayers: 3, compose: 'store', refresh: false, ...respin },
    };
    const plan: Plan = {
      distro: 'debian',
      distroVersion: 'bookworm',
      tag: 'b',
      engine: 'buildah',
      baseImage: { kind: 'image', repository: 'debian', tag: 'bookworm', reference: 'debian:bookworm' },
      bootstrapMirrorLines: [],
      repositoriesInjected: true,
      selection: { selected: [], skippedParents: [], notMatched: [], unbuildable: [], unmatchedRegexes: [] },
      images: this.images,
      skippedParents: [],
      ...(mirror === undefined
        ? {}
        : {
            patching: {
              sources: [{ url: mirror, suites: ['bookworm'], components: ['main'] }],
              setup: [],
              restore: [],
            },
          }),
    };
    return planImageWork(
      {
        engine: this.engine,
        settings,
        recordedImages: { byInput: this.byInput, byRecipe: this.byRecipe },
        respinCacheDir: this.cacheDir,
        signal: new AbortController().signal,
      },
      plan,
      this.images,
    );
  }
}

/** A decision in a few words a test can compare. */
function show(work: RunImageWork | ImageWork): string {
  switch (work.kind) {
    case 'reuse':
      return `reuse ${work.imageId}`;
    case 'respin-reuse':
      return `respin-reuse ${work.imageId} (was ${work.snapshotSet})`;
    case 'patch':
      return `patch ${work.imageId}: ${work.packages.map((entry) => `${entry.name} ${entry.from}→${entry.to}`).join(', ')}`;
    case 'build':
      return `build: ${describeRebuild(work.why)}`;
    default: {
      const never: never = work;
      return never;
    }
  }
}

describe("each image's work, decided before the run", () => {
  let mirror: StandInMirror;
  before(async () => {
    const repo = join(temporaryDir('ci-builder-repo-'), 'repo');
    mkdirSync(repo);
    mirror = await startStandInMirror(writeDebRepo(repo, [{ suite: 'bookworm', packages: SNAPSHOT_B }]));
  });
  after(() => mirror.stop());

  it('reuses an image whose recipe was built and none of whose packages moved, patches one whose packages did', async () => {
    const scene = new Scene()
      .image('base', null, { packages: { tzdata: AT_A.tzdata, libssl3: AT_A.libssl3, openssl: AT_A.openssl } })
      .image('quiet', 'base', { packages: { tzdata: AT_A.tzdata, memcached: AT_A.memcached, 'not-in-b': '1.0' } });
    assert.deepEqual(await scene.work(mirror.origin), {
      base: 'patch sha256:base00000000: libssl3 3.0.11-1~deb12u2→3.0.15-1~deb12u1, openssl 3.0.11-1~deb12u2→3.0.15-1~deb12u1',
      quiet: 'respin-reuse sha256:quiet0000000 (was debian=1)',
    });
  });

  it("has a patched child of a patched parent stacked onto it, upgrading only the child's own moved packages", async () => {
    const scene = new Scene()
      .image('base', null, { packages: { tzdata: AT_A.tzdata, libssl3: AT_A.libssl3 } })
      .image('child', 'base', { packages: { tzdata: AT_A.tzdata, libssl3: AT_A.libssl3, openssl: AT_A.openssl } })
      .image('leaf', 'child', { packages: { tzdata: AT_A.tzdata, libssl3: AT_A.libssl3, openssl: AT_A.openssl } });
    const work = await scene.decided(mirror.origin);
    const onto = (name: string) => {
      const decided = work.get(name);
      assert.equal(decided?.kind, 'patch', name);
      return decided.onto && { ...decided.onto, ownPackages: decided.onto.ownPackages.map((entry) => entry.name) };
    };
    assert.equal(onto('base'), undefined);
    assert.deepEqual(onto('child'), {
      parentBefore: 'sha256:base00000000',
      parentReference: 'localhost/ns/base:b',
      ownPackages: ['openssl'],
    });
    // Everything the leaf moved, its parent's patch (or stack) moves to the same versions: nothing of its own.
    assert.deepEqual(onto('leaf'), {
      parentBefore: 'sha256:child0000000',
      parentReference: 'localhost/ns/child:b',
      ownPackages: [],
    });
  });

  it('patches a child as a whole when its own pins decide a package of its parent otherwise', async () => {
    const hold: Pin = {
      packages: ['libssl3'],
      match: { type: 'version', pattern: AT_A.libssl3 },
      priority: 1001,
      origin: '/etc/apt/preferences.d/hold',
    };
    const both = { tzdata: AT_A.tzdata, libssl3: AT_A.libssl3, openssl: AT_A.openssl };
    const scene = new Scene()
      .image('base', null, { packages: both })
      .image('held', 'base', { packages: { ...both, 'not-in-b': '1.0' }, pins: [hold] });
    const work = await scene.decided(mirror.origin);
    const held = work.get('held');
    assert.equal(held?.kind, 'patch');
    assert.deepEqual(
      held.packages.map((entry) => entry.name),
      ['openssl'],
    );
    assert.equal(held.onto, undefined);
  });

  describe('on an engine that cannot stack (docker, podman), a child of a patched parent', () => {
    const onBase = { tzdata: AT_A.tzdata, libssl3: AT_A.libssl3, openssl: AT_A.openssl };
    const own = (count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, index) => [`not-in-b-${index}`, '1.0']));

    it('is built on the patched parent when that installs fewer packages than its patch would upgrade', async () => {
      const scene = new Scene({ stacks: false })
        .image('base', null, { packages: onBase })
        .image('leaf', 'base', { packages: { ...onBase, memcached: AT_A.memcached } })
        .image('grandleaf', 'leaf', { packages: { ...onBase, memcached: AT_A.memcached } });
      const work = await scene.work(mirror.origin);
      assert.match(work.base ?? '', /^patch /);
      // leaf adds memcached to base, grandleaf nothing: 1 to install, against 2 upgrades in leaf's patch (and
      // grandleaf then built on it, installing nothing).
      assert.equal(
        work.leaf,
        'build: its parent base is patched: built on it, 1 package to install (it and the images below it) ' +
          'against 2 patched as a whole',
      );
      assert.equal(work.grandleaf, 'build: its parent leaf is rebuilt');
    });

    it('stays patched as a whole when it installs at least as many packages of its own as its patch upgrades', async () => {
      const scene = new Scene({ stacks: false })
        .image('base', null, { packages: onBase })
        .image('big', 'base', { packages: { ...onBase, ...own(2) } });
      assert.match((await scene.work(mirror.origin)).big ?? '', /^patch sha256:big000000000: libssl3 .*, openssl /);
    });

    it('counts the images below it: a small child stays patched when its children would install more', async () => {
      // mid installs 1 of its own, under it 4 more: rebuilt, 5 installs; patched, 2 + 2 upgrades.
      const scene = new Scene({ stacks: false })
        .image('base', null, { packages: onBase })
        .image('mid', 'base', { packages: { ...onBase, memcached: AT_A.memcached } })
        .image('under', 'mid', { packages: { ...onBase, memcached: AT_A.memcached, ...own(4) } });
      const work = await scene.work(mirror.origin);
      assert.match(work.mid ?? '', /^patch /);
      assert.match(work.under ?? '', /^patch /);
    });

    it('is never stacked: the plan leaves that to an engine that can', async () => {
      const scene = new Scene({ stacks: false })
        .image('base', null, { packages: onBase })
        .image('big', 'base', { packages: { ...onBase, ...own(2) } });
      const big = (await scene.decided(mirror.origin)).get('big');
      assert.equal(big?.kind, 'patch');
      assert.equal(big.onto, undefined);
    });
  });

  it('patches the newest image of the recipe the engine still holds, when a newer run recorded one since removed', async () => {
    const scene = new Scene().image('base', null, { packages: { libssl3: AT_A.libssl3 } });
    scene.byRecipe.set('recipe-base', ['sha256:removed-since', 'sha256:base00000000']);
    assert.deepEqual(await scene.work(mirror.origin), {
      base: 'patch sha256:base00000000: libssl3 3.0.11-1~deb12u2→3.0.15-1~deb12u1',
    });
  });

  it('reuses an image built at this input digest, builds one whose recipe no earlier image has', async () => {
    const scene = new Scene().image('base', null).builtAlready('base').image('changed', 'base');
    assert.deepEqual(await scene.work(mirror.origin), {
      base: 'reuse sha256:base-b',
      changed: 'build: no earlier image of this recipe',
    });
  });

  it('decides from the recorded image of the recipe without searching the engine; an image no run recorded is searched for', async () => {
    const scene = new Scene()
      .image('base', null, { packages: { libssl3: AT_A.libssl3 } })
      .image('unrecorded', 'base')
      .builtAlready('unrecorded');
    const searched: string[] = [];
    const search = scene.engine.findByLabel.bind(scene.engine);
    scene.engine.findByLabel = (key, value) => {
      searched.push(value);
      return search(key, value);
    };
    assert.deepEqual(await scene.work(mirror.origin), {
      base: 'patch sha256:base00000000: libssl3 3.0.11-1~deb12u2→3.0.15-1~deb12u1',
      unrecorded: 'reuse sha256:unrecorded-b',
    });
    assert.deepEqual(searched, ['input-unrecorded-b']);
  });

  it('rebuilds an image carrying max_patch_layers patch layers, and every image under it', async () => {
    const moved = { libssl3: AT_A.libssl3 };
    const scene = new Scene()
      .image('base', null, { packages: moved, patchLayers: 2 })
      .image('child', 'base', { packages: moved, patchLayers: 2 })
      .image('grandchild', 'child', { packages: { tzdata: AT_A.tzdata }, patchLayers: 1 })
      .image('sibling', null, { packages: moved, patchLayers: 1 });
    assert.deepEqual(await scene.work(mirror.origin, { maxPatchLayers: 2 }), {
      base: 'build: the earlier image carries 2 patch layers (respin.max_patch_layers)',
      child: 'build: the earlier image carries 2 patch layers (respin.max_patch_layers)',
      grandchild: 'build: its parent child is rebuilt',
      sibling: 'patch sha256:sibling00000: libssl3 3.0.11-1~deb12u2→3.0.15-1~deb12u1',
    });
  });

  it('rebuilds, on the new parent, the children it would patch or reuse when their parent is rebuilt (its earlier image gone)', async () => {
    const scene = new Scene()
      .image('base', null)
      .image('patchable', 'base', { packages: { libssl3: AT_A.libssl3 } })
      .image('reusable', 'base', { packages: { tzdata: AT_A.tzdata } });
    assert.deepEqual(await scene.work(mirror.origin), {
      base: 'build: no earlier image of this recipe',
      patchable: 'build: its parent base is rebuilt',
      reusable: 'build: its parent base is rebuilt',
    });
  });

  it('rebuilds every image whose snapshots moved when asked for full rebuilds (--full, respin.mode full)', async () => {
    const scene = new Scene()
      .image('base', null, { packages: { libssl3: AT_A.libssl3 } })
      .image('built', null)
      .builtAlready('built');
    assert.deepEqual(await scene.work(mirror.origin, { mode: 'full' }), {
      base: 'build: full rebuild asked (--full)',
      built: 'reuse sha256:built-b',
    });
  });

  it('with --full, rebuilds an image a patch made at this input digest instead of reusing the patch', async () => {
    const scene = new Scene().image('patched', null).image('built', null).builtAlready('built');
    scene.engine.images.set('localhost/ns/patched:b', {
      id: 'sha256:patched-b',
      user: '',
      labels: { [INPUT_DIGEST_LABEL]: 'input-patched-b', [PATCH_LAYERS_LABEL]: '1' },
    });
    assert.deepEqual(await scene.work(mirror.origin), {
      patched: 'reuse sha256:patched-b',
      built: 'reuse sha256:built-b',
    });
    assert.deepEqual(await scene.work(mirror.origin, { mode: 'full' }), {
      patched: 'build: full rebuild asked (--full)',
      built: 'reuse sha256:built-b',
    });
  });

  it('with --refresh, patches an image reused by its input digest whose packages the mirror moved, reuses the rest', async () => {
    const scene = new Scene()
      .image('moved', null)
      .builtAlready('moved', { packages: { libssl3: AT_A.libssl3, tzdata: AT_A.tzdata } })
      .image('current', null)
      .builtAlready('current', { packages: { tzdata: AT_A.tzdata } });
    assert.deepEqual(await scene.work(mirror.origin), {
      moved: 'reuse sha256:moved-b',
      current: 'reuse sha256:current-b',
    });
    assert.deepEqual(await scene.work(mirror.origin, { refresh: true }), {
      moved: 'patch sha256:moved-b: libssl3 3.0.11-1~deb12u2→3.0.15-1~deb12u1',
      current: 'reuse sha256:current-b',
    });
  });

  it('with --refresh, rebuilds an image at max_patch_layers only when it has updates', async () => {
    const scene = new Scene()
      .image('moved', null)
      .builtAlready('moved', { packages: { libssl3: AT_A.libssl3 }, patchLayers: 3 })
      .image('current', null)
      .builtAlready('current', { packages: { tzdata: AT_A.tzdata }, patchLayers: 3 });
    assert.deepEqual(await scene.work(mirror.origin, { refresh: true }), {
      moved: 'build: the earlier image carries 3 patch layers (respin.max_patch_layers)',
      current: 'reuse sha256:current-b',
    });
  });

  it('rebuilds everything with --nocache', async () => {
    const scene = new Scene().image('base', null, { packages: { libssl3: AT_A.libssl3 } }).builtAlready('base');
    assert.deepEqual(await scene.work(mirror.origin, {}, { noCache: true }), {
      base: 'build: no reuse asked (--nocache)',
    });
  });

  it('rebuilds rpm images, saying patching with dnf is not supported', async () => {
    const scene = new Scene().image('rocky', null, { packages: 'rpm' });
    const expected = { rocky: 'build: rpm images are rebuilt: patching with dnf is not supported' };
    assert.deepEqual(await scene.work(undefined), expected, 'a distro the plan cannot patch');
    assert.deepEqual(await scene.work(mirror.origin), expected, 'an image holding an rpm database');
  });

  it('reuses an rpm image the engine holds at this input digest though no run recorded it, where it cannot patch', async () => {
    const scene = new Scene().image('rocky', null, { packages: 'rpm' }).builtAlready('rocky');
    assert.deepEqual(await scene.work(undefined), { rocky: 'reuse sha256:rocky-b' });
  });

  it("rebuilds, saying why in one line, when the new snapshots' indexes cannot be read", async () => {
    const scene = new Scene().image('base', null, { packages: { libssl3: AT_A.libssl3 } });
    const work = await scene.work(`${mirror.origin}/gone/`);
    assert.deepEqual(Object.keys(work), ['base']);
    assert.match(
      work.base ?? '',
      /^build: the snapshots' indexes cannot be read: http:\/\/127\.0\.0\.1:\d+\/gone\/dists\/bookworm\/: neither InRelease nor Release$/,
    );
  });
});
