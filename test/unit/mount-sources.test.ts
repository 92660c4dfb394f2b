import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlannedImage } from '../../src/plan/plan.js';
import { ancestorRepositories } from '../../src/run/mount-sources.js';

function image(name: string, parent: string | null, registry = 'registry.test:5000'): PlannedImage {
  return {
    name,
    parent,
    reference: `${registry}/kolla/${name}:t1`,
    dockerfile: '',
    contextFiles: [],
    emptyDirs: [],
    inputDigest: `sha256:${name}`,
    labels: {},
    fromBaseImage: parent === null,
  };
}

describe('where an image push may mount blobs from', () => {
  it("names the ancestors' repositories, nearest first, skipped parents included", () => {
    const base = image('base', null);
    const openstackBase = image('openstack-base', 'base');
    const keystoneBase = image('keystone-base', 'openstack-base');
    const keystone = image('keystone', 'keystone-base');
    const plan = { images: [openstackBase, keystoneBase, keystone], skippedParents: [base] };
    assert.deepEqual(ancestorRepositories(plan, keystone), [
      'kolla/keystone-base',
      'kolla/openstack-base',
      'kolla/base',
    ]);
    assert.deepEqual(ancestorRepositories(plan, base), []);
  });

  it('leaves out an ancestor on another registry, and ends on a parent the plan does not hold', () => {
    const base = image('base', null, 'elsewhere.test');
    const middle = image('middle', 'base');
    const orphan = image('orphan', 'missing');
    const plan = { images: [base, middle, orphan], skippedParents: [] };
    assert.deepEqual(ancestorRepositories(plan, image('leaf', 'middle')), ['kolla/middle']);
    assert.deepEqual(ancestorRepositories(plan, orphan), []);
  });

  it('stops at a parent chain that loops back', () => {
    const a = image('a', 'b');
    const b = image('b', 'a');
    assert.deepEqual(ancestorRepositories({ images: [a, b], skippedParents: [] }, a), ['kolla/b']);
  });
});
