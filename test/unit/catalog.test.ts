import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { discoverCatalog } from '../../src/catalog/discover.js';
import { parseParent } from '../../src/catalog/parent.js';
import { selectImages } from '../../src/catalog/select.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

const child = (parent: string) => `FROM {{ namespace }}/{{ image_prefix }}${parent}:{{ tag }}\nRUN true\n`;
const root = 'FROM {{ base_image }}:{{ base_distro_tag }}\n';

function tree(files: Record<string, string>): string {
  return writeTree(temporaryDir(), { 'macros.j2': '', ...files });
}

const kollaLike = () =>
  tree({
    'base/Dockerfile.j2': root,
    'openstack-base/Dockerfile.j2': child('base'),
    'nova/nova-base/Dockerfile.j2': child('openstack-base'),
    'nova/nova-api/Dockerfile.j2': child('nova-base'),
    'nova/nova-compute/Dockerfile.j2': child('nova-base'),
    'keystone/keystone-base/Dockerfile.j2': child('openstack-base'),
    'keystone/keystone/Dockerfile.j2': child('keystone-base'),
    'cron/Dockerfile.j2': child('base'),
  });

describe('parent parsing', () => {
  it('reads in-tree parents from Kolla FROM lines', () => {
    assert.deepEqual(parseParent(child('nova-base')), { kind: 'tree', name: 'nova-base' });
    assert.deepEqual(parseParent('FROM {{namespace}}/{{image_prefix}}base:{{tag}}'), { kind: 'tree', name: 'base' });
    assert.deepEqual(parseParent('# comment\nFROM --platform=linux/amd64 {{ namespace }}/base:{{ tag }} AS build'), {
      kind: 'tree',
      name: 'base',
    });
  });

  it('treats other FROM lines as outside bases', () => {
    assert.deepEqual(parseParent(root), { kind: 'outside', reference: '{{ base_image }}:{{ base_distro_tag }}' });
    assert.deepEqual(parseParent('from debian:bookworm'), { kind: 'outside', reference: 'debian:bookworm' });
    assert.deepEqual(parseParent('RUN true'), { kind: 'none' });
  });
});

describe('catalog discovery', () => {
  it('finds templates at any depth, named by their folder', () => {
    const catalog = discoverCatalog([kollaLike()]);
    assert.deepEqual([...catalog.images.keys()].sort(), [
      'base',
      'cron',
      'keystone',
      'keystone-base',
      'nova-api',
      'nova-base',
      'nova-compute',
      'openstack-base',
    ]);
    assert.equal(catalog.images.get('nova-api')?.parent, 'nova-base');
    assert.equal(catalog.images.get('nova-api')?.templateName, 'nova/nova-api/Dockerfile.j2');
    assert.equal(catalog.images.get('base')?.parent, null);
    assert.deepEqual(catalog.children.get('nova-base'), ['nova-api', 'nova-compute']);
  });

  it('lets a later tree add and replace images', () => {
    const first = kollaLike();
    const second = tree({ 'cron/Dockerfile.j2': child('openstack-base'), 'extra/Dockerfile.j2': child('cron') });
    const catalog = discoverCatalog([first, second]);
    assert.equal(catalog.images.get('cron')?.treeRoot, second);
    assert.equal(catalog.images.get('cron')?.parent, 'openstack-base');
    assert.equal(catalog.images.get('extra')?.parent, 'cron');
    assert.equal(catalog.images.get('nova-api')?.treeRoot, first);
  });

  it('refuses a missing parent', () => {
    assert.throws(
      () => discoverCatalog([tree({ 'a/Dockerfile.j2': child('ghost') })]),
      /a\/Dockerfile\.j2: parent image "ghost" is not in any image tree/,
    );
  });

  it('refuses a duplicate name within a tree', () => {
    assert.throws(
      () => discoverCatalog([tree({ 'x/a/Dockerfile.j2': root, 'y/a/Dockerfile.j2': root })]),
      /duplicate image name "a" in x\/a and y\/a/,
    );
  });

  it('refuses a cycle, naming it', () => {
    assert.throws(
      () => discoverCatalog([tree({ 'a/Dockerfile.j2': child('b'), 'b/Dockerfile.j2': child('a') })]),
      /image dependency cycle: (a -> b -> a|b -> a -> b)/,
    );
  });

  it('refuses a missing tree folder', () => {
    assert.throws(() => discoverCatalog(['/nonexistent/tree']), /image tree folder not found/);
  });

  it('refuses a tree without any image, naming the folder', () => {
    const empty = tree({ 'docs/README.md': 'no images here' });
    assert.throws(() => discoverCatalog([kollaLike(), empty]), new RegExp(`${empty}: no images in this image tree`));
    // A Dockerfile.j2 at the root is no image: images are the folders below it.
    assert.throws(() => discoverCatalog([tree({ 'Dockerfile.j2': root })]), /no images in this image tree/);
  });
});

describe('selection', () => {
  const catalog = discoverCatalog([kollaLike()]);
  const select = (regexes: string[] | null, extra: { unbuildable?: string[]; skipParents?: boolean } = {}) =>
    selectImages(catalog, { regexes, unbuildable: extra.unbuildable ?? [], skipParents: extra.skipParents ?? false });

  it('selects everything without a filter, parents first', () => {
    const { selected } = select(null);
    assert.equal(selected.length, 8);
    assert.ok(selected.indexOf('base') < selected.indexOf('openstack-base'));
    assert.ok(selected.indexOf('nova-base') < selected.indexOf('nova-api'));
  });

  it('searches unanchored and brings the ancestors along', () => {
    const selection = select(['api']);
    assert.deepEqual(selection.selected, ['base', 'openstack-base', 'nova-base', 'nova-api']);
    assert.deepEqual(selection.notMatched, ['cron', 'keystone', 'keystone-base', 'nova-compute']);
  });

  it('reports regexes that match nothing', () => {
    const selection = select(['^nova-api$', 'glance']);
    assert.deepEqual(selection.unmatchedRegexes, ['glance']);
    assert.deepEqual(selection.selected, ['base', 'openstack-base', 'nova-base', 'nova-api']);
  });

  it('selects nothing for an empty regex list (all set entries disabled)', () => {
    assert.deepEqual(select([]).selected, []);
  });

  it('skips selected parents with --skip-parents', () => {
    const selection = select(['^keystone'], { skipParents: true });
    assert.deepEqual(selection.selected, ['keystone']);
    assert.deepEqual(selection.skippedParents, ['base', 'openstack-base', 'keystone-base']);
  });

  it('leaves unbuildable images and their descendants out', () => {
    const selection = select(['nova', 'cron'], { unbuildable: ['nova-base'] });
    assert.deepEqual(selection.selected, ['base', 'cron', 'openstack-base']);
    assert.deepEqual(selection.unbuildable, ['nova-api', 'nova-base', 'nova-compute']);
  });

  it('refuses an invalid regex', () => {
    assert.throws(() => select(['(']), /invalid image regex "\("/);
  });
});
