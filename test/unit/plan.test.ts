import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { discoverCatalog } from '../../src/catalog/discover.js';
import { configSchema } from '../../src/config/schema.js';
import { runTag } from '../../src/plan/naming.js';
import type { GatherRequest } from '../../src/plan/gather.js';
import { makePlan as makePlanIn } from '../../src/plan/make-plan.js';
import { INPUT_DIGEST_LABEL } from '../../src/plan/plan.js';
import { writeBuildContext } from '../../src/render/context.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

const config = configSchema.parse({
  release: 'zed',
  registry: '127.0.0.1:5000',
  namespace: 'ns',
  images_dirs: ['images'],
  distros: {
    debian: {
      version: 'bookworm',
      package_type: 'deb',
      base_image: { bootstrap: 'mmdebstrap', sources: ['deb http://deb.debian.org/debian bookworm main'] },
      repositories: [{ name: 'debian', url: 'http://deb.debian.org/debian', suites: ['bookworm'] }],
    },
  },
});

/** Plans with a cache of the test's own, never the host's; sources fetched unless said otherwise. */
const testCache = temporaryDir();
// Whatever fell back to the host cache would make this folder.
const hostCache = join(temporaryDir(), 'host-cache');
process.env.CI_BUILDER_CACHE_DIR = hostCache;
after(() => assert.equal(existsSync(hostCache), false, 'a plan test wrote to the host cache'));
type TestRequest = Omit<GatherRequest, 'cacheDir' | 'fetchSources'> & Partial<GatherRequest>;
const makePlan = (request: TestRequest) => makePlanIn({ cacheDir: testCache, fetchSources: true, ...request });

function sampleTree(): string {
  return writeTree(temporaryDir(), {
    'macros.j2': '',
    'base/Dockerfile.j2': 'FROM {{ base_image }}:{{ base_distro_tag }}\nCOPY hello /hello\n',
    'base/hello': 'hi\n',
    'mid/Dockerfile.j2': 'FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\nRUN true\n',
    'leaf-a/Dockerfile.j2': 'FROM {{ namespace }}/{{ image_prefix }}mid:{{ tag }}\nRUN echo a\n',
    'leaf-b/Dockerfile.j2': 'FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\nRUN echo b\n',
  });
}

async function digests(tree: string, tag: string): Promise<Record<string, string>> {
  const plan = await makePlan({
    config,
    catalog: discoverCatalog([tree]),
    distro: 'debian',
    tag,
    engine: 'buildah',
    selection: { regexes: null, skipParents: false },
  });
  return Object.fromEntries(plan.images.map((image) => [image.name, image.inputDigest]));
}

describe('plan', () => {
  it('names images <registry>/<namespace>/<image>:<tag> and labels them with their input digest', async () => {
    const tag = 'zed-debian-bookworm-20260101T000000';
    const plan = await makePlan({
      config,
      catalog: discoverCatalog([sampleTree()]),
      distro: 'debian',
      tag,
      engine: 'buildah',
      selection: { regexes: ['leaf-a'], skipParents: false },
    });
    assert.deepEqual(
      plan.images.map((image) => image.name),
      ['base', 'mid', 'leaf-a'],
    );
    const leaf = plan.images[2];
    assert.equal(leaf?.reference, `127.0.0.1:5000/ns/leaf-a:${tag}`);
    assert.equal(leaf.labels[INPUT_DIGEST_LABEL], leaf.inputDigest);
    assert.match(leaf.dockerfile, new RegExp(`^FROM 127\\.0\\.0\\.1:5000/ns/mid:${tag}`));
    assert.match(
      plan.images[0]?.dockerfile ?? '',
      /^FROM localhost\/ci-builder\/bootstrap-debian:bookworm-[0-9a-f]{12}\n/,
    );
  });

  it('through the package cache, points plain mirrors and the bootstrap at the proxy, whatever its port', async () => {
    const tree = sampleTree();
    const planWith = (origin: string) =>
      makePlan({
        config,
        catalog: discoverCatalog([tree]),
        distro: 'debian',
        tag: 't',
        engine: 'buildah',
        selection: { regexes: null, skipParents: false },
        repositoryAccess: { kind: 'proxy', origin, mirrorRoutes: { distro: 'debian' } },
      });
    const [first, second, direct] = [
      await planWith('http://127.0.0.1:41000'),
      await planWith('http://127.0.0.1:42000'),
      await makePlan({
        config,
        catalog: discoverCatalog([tree]),
        distro: 'debian',
        tag: 't',
        engine: 'buildah',
        selection: { regexes: null, skipParents: false },
      }),
    ];
    assert.equal(first.repositoriesInjected, true);
    assert.equal(direct.repositoriesInjected, false);
    assert.deepEqual(first.bootstrapMirrorLines, ['deb http://127.0.0.1:41000/mirrors/debian/debian/ bookworm main']);
    for (const image of first.images) {
      assert.match(image.dockerfile, /'deb http:\/\/127\.0\.0\.1:41000\/mirrors\/debian\/debian\/ bookworm main'/);
      assert.match(image.dockerfile, /a repository mirror URL is still in the package manager configuration/);
    }
    assert.deepEqual(
      first.images.map((image) => image.inputDigest),
      second.images.map((image) => image.inputDigest),
      'the proxy port is not part of the digest',
    );
  });

  it('gives the same digests for a new tag', async () => {
    const tree = sampleTree();
    assert.deepEqual(
      await digests(tree, 'zed-debian-bookworm-20260101T000000'),
      await digests(tree, 'zed-debian-bookworm-20270202T111111'),
    );
  });

  it('changes exactly the changed image and its descendants', async () => {
    const tree = sampleTree();
    const before = await digests(tree, 't1');
    writeFileSync(
      join(tree, 'mid/Dockerfile.j2'),
      'FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\nRUN true && true\n',
    );
    const after = await digests(tree, 't2');
    assert.equal(after.base, before.base);
    assert.equal(after['leaf-b'], before['leaf-b']);
    assert.notEqual(after.mid, before.mid);
    assert.notEqual(after['leaf-a'], before['leaf-a']);
  });

  it('counts context files in the digest', async () => {
    const tree = sampleTree();
    const before = await digests(tree, 't');
    writeFileSync(join(tree, 'base/hello'), 'hello\n');
    const after = await digests(tree, 't');
    assert.notEqual(after.base, before.base);
    assert.notEqual(after['leaf-b'], before['leaf-b']);
  });

  it('fetches kolla-style sources into the context, digests them, and fails only the image whose source cannot be fetched', async () => {
    const tree = writeTree(temporaryDir(), {
      'macros.j2': '',
      'base/Dockerfile.j2': 'FROM {{ base_image }}:{{ base_distro_tag }}\n',
      'app/Dockerfile.j2': 'FROM {{ namespace }}/base:{{ tag }}\nADD app-archive /app-source\nADD plugins-archive /\n',
      'other/Dockerfile.j2': 'FROM {{ namespace }}/base:{{ tag }}\nADD other-archive /src\n',
    });
    const source = writeTree(temporaryDir(), { 'app/setup.py': 'v1\n', 'plugin/p.py': 'p\n' });
    const sources = {
      app: { type: 'local' as const, location: join(source, 'app'), enabled: true },
      'app-plugin-p': { type: 'local' as const, location: join(source, 'plugin'), enabled: true },
      other: { type: 'url' as const, location: 'http://user:hunter2@127.0.0.1:9/none.tar', enabled: true },
    };
    const cache = temporaryDir();
    const plan = async () =>
      makePlan({
        config,
        catalog: discoverCatalog([tree]),
        distro: 'debian',
        tag: 't',
        engine: 'buildah',
        selection: { regexes: null, skipParents: false },
        renderInputs: { sources },
        cacheDir: cache,
      });
    const first = await plan();
    const app = first.images.find((image) => image.name === 'app');
    assert.deepEqual(app?.contextFiles.map((file) => file.path).sort(), [
      'Dockerfile.j2',
      'additions-archive',
      'app-archive',
      'plugins-archive',
    ]);
    assert.equal(app.failure, undefined);
    const other = first.images.find((image) => image.name === 'other');
    assert.equal(other?.failure?.kind, 'source-unavailable');
    assert.match(other.failure.message, /^source other: /);
    assert.ok(!other.failure.message.includes('hunter2'), 'no credential in the failure');
    assert.equal(
      (await plan()).images.find((image) => image.name === 'app')?.inputDigest,
      app.inputDigest,
      'the same source digests the same',
    );
    writeFileSync(join(source, 'app/setup.py'), 'v2\n');
    assert.notEqual(
      (await plan()).images.find((image) => image.name === 'app')?.inputDigest,
      app.inputDigest,
      'a changed source changes the digest',
    );
  });

  it('without fetching sources (a render), renders images that ADD archives without them', async () => {
    const tree = writeTree(temporaryDir(), {
      'macros.j2': '',
      'base/Dockerfile.j2': 'FROM {{ base_image }}:{{ base_distro_tag }}\n',
      'app/Dockerfile.j2': 'FROM {{ namespace }}/base:{{ tag }}\nADD app-archive /app-source\nADD plugins-archive /\n',
    });
    const sources = { app: { type: 'url' as const, location: 'http://127.0.0.1:9/none.tar', enabled: true } };
    const cache = temporaryDir();
    const selection = { regexes: null, skipParents: false };
    const catalog = discoverCatalog([tree]);
    const request = {
      config,
      catalog,
      distro: 'debian',
      tag: 't',
      engine: 'buildah',
      selection,
      renderInputs: { sources },
      cacheDir: cache,
    };
    const rendered = await makePlan({ ...request, fetchSources: false });
    const app = rendered.images.find((image) => image.name === 'app');
    assert.match(app?.dockerfile ?? '', /ADD plugins-archive \/$/m);
    assert.deepEqual(
      app?.contextFiles.map((file) => file.path),
      ['Dockerfile.j2'],
    );
    assert.equal(app.failure, undefined, 'a source that cannot be fetched is not looked at');
    assert.deepEqual(readdirSync(cache), ['templates'], 'only compiled templates are kept, no source');
    const built = await makePlan({ ...request, fetchSources: true });
    assert.match(built.images.find((image) => image.name === 'app')?.failure?.message ?? '', /^source app: /);
    const baseDigest = (plan: typeof built) => plan.images.find((image) => image.name === 'base')?.inputDigest;
    assert.equal(baseDigest(built), baseDigest(rendered));
  });

  it("copies an image's patch series into patches/ of its context, and gives the others an empty patches/ folder", async () => {
    const tree = writeTree(temporaryDir(), {
      'macros.j2': '',
      'base/Dockerfile.j2':
        'FROM {{ base_image }}:{{ base_distro_tag }}\n{% if patches_path %}COPY patches /patches{% endif %}\n',
      'app/Dockerfile.j2':
        'FROM {{ namespace }}/base:{{ tag }}\n{% if patches_path %}COPY patches /patches{% endif %}\n',
    });
    const patchesPath = writeTree(temporaryDir(), {
      'app/series': '# fixes\n0001-fix.patch\n\nmissing.patch\n',
      'app/0001-fix.patch': '--- a\n+++ b\n',
      'app/unlisted.patch': 'x\n',
    });
    const plan = await makePlan({
      config,
      catalog: discoverCatalog([tree]),
      distro: 'debian',
      tag: 't',
      engine: 'buildah',
      selection: { regexes: null, skipParents: false },
      renderInputs: { patchesPath },
    });
    const [base, app] = plan.images;
    assert.match(app?.dockerfile ?? '', /COPY patches \/patches$/);
    assert.deepEqual(
      app?.contextFiles.map((file) => file.path),
      ['Dockerfile.j2', 'patches/series', 'patches/0001-fix.patch'],
    );
    assert.deepEqual(app.emptyDirs, []);
    assert.deepEqual(base?.emptyDirs, ['patches']);
    const out = temporaryDir();
    await writeBuildContext(out, base.dockerfile, base.contextFiles, base.emptyDirs);
    assert.ok(statSync(join(out, 'patches')).isDirectory());
    const without = await makePlan({
      config,
      catalog: discoverCatalog([tree]),
      distro: 'debian',
      tag: 't',
      engine: 'buildah',
      selection: { regexes: null, skipParents: false },
    });
    assert.doesNotMatch(without.images[1]?.dockerfile ?? '', /COPY patches/);
  });

  it('makes run tags in UTC as <release>-<distro>-<version>-<YYYYMMDDTHHMMSS>', () => {
    assert.equal(
      runTag('zed', 'debian', 'bookworm', new Date('2026-11-25T15:04:05.678Z')),
      'zed-debian-bookworm-20261125T150405',
    );
  });
});
