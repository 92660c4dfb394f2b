import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { discoverCatalog } from '../../src/catalog/discover.js';
import { configSchema } from '../../src/config/schema.js';
import { makePlan } from '../../src/plan/make-plan.js';
import { RECIPE_DIGEST_LABEL, SNAPSHOT_SET_LABEL } from '../../src/plan/plan.js';
import type { RepositoryAccess } from '../../src/repos/urls.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

const cacheDir = temporaryDir('ci-builder-recipe-cache-');

/** A Debian distro pinned to one Pulp distribution at a version, bootstrapped from it. */
function pinnedConfig(version: string, repository: Record<string, unknown> = {}) {
  return configSchema.parse({
    release: 'zed',
    registry: '127.0.0.1:5000',
    namespace: 'ns',
    images_dirs: ['images'],
    pulp: { url: 'http://pulp.example.org' },
    distros: {
      debian: {
        version: 'bookworm',
        package_type: 'deb',
        base_image: { bootstrap: 'mmdebstrap', sources: ['deb http://deb.debian.org/debian bookworm main'] },
        repositories: [
          { name: 'debian', base_path: 'debian/', version, suites: ['bookworm'], trusted: true, ...repository },
        ],
      },
    },
  });
}

function tree(): string {
  return writeTree(temporaryDir('ci-builder-recipe-tree-'), {
    'macros.j2': '',
    'base/Dockerfile.j2':
      'FROM {{ base_image }}:{{ base_distro_tag }}\nCOPY hello /hello\nRUN apt-get update && apt-get install -y tzdata\n',
    'base/hello': 'hi\n',
    'base/mid/Dockerfile.j2': 'FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\nRUN echo mid\n',
    'base/mid/leaf/Dockerfile.j2': 'FROM {{ namespace }}/{{ image_prefix }}mid:{{ tag }}\nRUN echo leaf\n',
    'base/other/Dockerfile.j2': 'FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\nRUN echo other\n',
  });
}

interface Planned {
  input: Record<string, string>;
  recipe: Record<string, string>;
  snapshotSets: string[];
}

async function planOf(
  images: string,
  config: ReturnType<typeof pinnedConfig>,
  repositoryAccess?: RepositoryAccess,
  tag = 't',
): Promise<Planned> {
  const plan = await makePlan({
    config,
    catalog: discoverCatalog([images]),
    distro: 'debian',
    tag,
    engine: 'buildah',
    selection: { regexes: null, skipParents: false },
    cacheDir,
    fetchSources: false,
    ...(repositoryAccess ? { repositoryAccess } : {}),
  });
  for (const image of plan.images) {
    assert.equal(image.labels[RECIPE_DIGEST_LABEL], image.recipeDigest);
    assert.equal(image.labels[SNAPSHOT_SET_LABEL], image.snapshotSet);
  }
  return {
    input: Object.fromEntries(plan.images.map((image) => [image.name, image.inputDigest])),
    recipe: Object.fromEntries(plan.images.map((image) => [image.name, image.recipeDigest])),
    snapshotSets: [...new Set(plan.images.map((image) => image.snapshotSet))],
  };
}

/** The images whose digest differs between two plans. */
const changed = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).filter((name) => a[name] !== b[name]);

const ALL = ['base', 'mid', 'other', 'leaf'];

describe('the recipe digest: what an image is made of, the pinned snapshot versions aside', () => {
  it('is equal when only the snapshot version moved, while the input digest and snapshot set differ', async () => {
    const images = tree();
    const one = await planOf(images, pinnedConfig('1'));
    const two = await planOf(images, pinnedConfig('2'));
    assert.deepEqual(changed(one.input, two.input).sort(), [...ALL].sort());
    assert.deepEqual(changed(one.recipe, two.recipe), []);
    assert.deepEqual([one.snapshotSets, two.snapshotSets], [['debian=1'], ['debian=2']]);
  });

  it('is equal through the auth proxy whatever its port, at either version', async () => {
    const images = tree();
    const proxy = (origin: string): RepositoryAccess => ({ kind: 'proxy', origin });
    const first = await planOf(images, pinnedConfig('1'), proxy('http://127.0.0.1:41000'));
    const second = await planOf(images, pinnedConfig('2'), proxy('http://127.0.0.1:42000'));
    assert.deepEqual(changed(first.recipe, second.recipe), []);
  });

  it('changes with a Dockerfile, for the image and every image below it', async () => {
    const images = tree();
    const before = await planOf(images, pinnedConfig('1'));
    writeFileSync(
      join(images, 'base/mid/Dockerfile.j2'),
      'FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\nRUN echo MID\n',
    );
    const after = await planOf(images, pinnedConfig('2'));
    assert.deepEqual(changed(before.recipe, after.recipe).sort(), ['leaf', 'mid']);
  });

  it("changes with a build context file, for the image and every image below it (a parent's recipe is part of its children's)", async () => {
    const images = tree();
    const before = await planOf(images, pinnedConfig('1'));
    writeFileSync(join(images, 'base/hello'), 'hello\n');
    const after = await planOf(images, pinnedConfig('2'));
    assert.deepEqual(changed(before.recipe, after.recipe).sort(), [...ALL].sort());
  });

  it('changes with what the repository is besides its version: another distribution or suite', async () => {
    const images = tree();
    const before = await planOf(images, pinnedConfig('1'));
    const otherPath = await planOf(images, pinnedConfig('1', { base_path: 'debian-other/' }));
    const otherSuite = await planOf(images, pinnedConfig('1', { suites: ['bookworm', 'bookworm-updates'] }));
    assert.deepEqual(changed(before.recipe, otherPath.recipe).sort(), [...ALL].sort());
    assert.deepEqual(changed(before.recipe, otherSuite.recipe).sort(), [...ALL].sort());
  });

  it('is the same whatever the run tag', async () => {
    const images = tree();
    const first = await planOf(images, pinnedConfig('1'), undefined, 'zed-1');
    const second = await planOf(images, pinnedConfig('2'), undefined, 'zed-2');
    assert.deepEqual(changed(first.recipe, second.recipe), []);
  });
});
