import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BaseImage } from '../../src/bootstrap/base-image.js';
import type { Plan, PlannedImage } from '../../src/plan/plan.js';
import { runGraph } from '../../src/run/run-graph.js';
import { restrictPlanToShard } from '../../src/shard/restrict-plan.js';
import type { ShardOwners } from '../../src/shard/shard-plan-file.js';
import { UsageError } from '../../src/util/errors.js';

const BASE: BaseImage = {
  kind: 'image',
  repository: 'docker.io/library/debian',
  tag: 'bookworm',
  reference: 'docker.io/library/debian:bookworm',
};

function image(name: string, parent: string | null): PlannedImage {
  return {
    name,
    parent,
    reference: `registry.test/ns/${name}:t1`,
    dockerfile: '',
    contextFiles: [],
    emptyDirs: [],
    inputDigest: `sha256:${name}`,
    recipeDigest: `sha256:${name}-recipe`,
    snapshotSet: '',
    labels: {},
    fromBaseImage: parent === null,
  };
}

/** base → openstack-base → keystone, base → cron. */
const plan: Plan = {
  distro: 'debian',
  distroVersion: 'bookworm',
  tag: 't1',
  engine: 'buildah',
  baseImage: BASE,
  bootstrapMirrorLines: [],
  repositoriesInjected: false,
  selection: { selected: [], skippedParents: [], notMatched: [], unbuildable: [], unmatchedRegexes: [] },
  images: [
    image('base', null),
    image('cron', 'base'),
    image('openstack-base', 'base'),
    image('keystone', 'openstack-base'),
  ],
  skippedParents: [],
};

const owners = (entries: Record<string, number>): ShardOwners => ({
  count: 3,
  ownerOf: new Map(Object.entries(entries)),
});
const threeShards = owners({ base: 1, cron: 2, 'openstack-base': 2, keystone: 3 });

describe("one shard's part of a plan", () => {
  it("keeps the shard's images and takes the parents other shards build from the registry", () => {
    const second = restrictPlanToShard(plan, { index: 2, count: 3 }, threeShards, 'plan.json');
    assert.deepEqual(
      second.plan.images.map((entry) => entry.name),
      ['cron', 'openstack-base'],
    );
    assert.deepEqual(
      second.fromOtherShards.map((entry) => [entry.image.name, entry.builtBy]),
      [['base', '1/3']],
      'base once, though two of its children are here',
    );
    const third = restrictPlanToShard(plan, { index: 3, count: 3 }, threeShards, 'plan.json');
    assert.deepEqual(
      third.fromOtherShards.map((entry) => [entry.image.name, entry.builtBy]),
      [['openstack-base', '2/3']],
      'only the direct parent: its image holds the grand-parent',
    );
    const first = restrictPlanToShard(plan, { index: 1, count: 3 }, threeShards, 'plan.json');
    assert.deepEqual(first.fromOtherShards, []);
  });

  it('makes the taken parent a node its children wait for, with no base image to make', () => {
    const second = restrictPlanToShard(plan, { index: 2, count: 3 }, threeShards, 'plan.json');
    const nodes = runGraph(second.plan, second.fromOtherShards);
    const shape = nodes.map((node) => [node.id, node.kind === 'image' ? node.work : node.kind, node.dependsOn]);
    assert.deepEqual(shape, [
      ['cron', 'build', ['base']],
      ['openstack-base', 'build', ['base']],
      ['base', 'from-shard', []],
    ]);
  });

  it('refuses a plan that misses an image or puts a parent after its child', () => {
    assert.throws(
      () => restrictPlanToShard(plan, { index: 2, count: 3 }, owners({ base: 1, cron: 2 }), 'plan.json'),
      (error: unknown) =>
        error instanceof UsageError &&
        /^plan\.json: openstack-base is in no shard \(the plan was made for/.test(error.message),
    );
    const backwards = owners({ base: 3, cron: 2, 'openstack-base': 2, keystone: 3 });
    assert.throws(
      () => restrictPlanToShard(plan, { index: 2, count: 3 }, backwards, 'plan.json'),
      /cron is in shard 2 but its parent base in the later shard 3: a parent's shard must come first/,
    );
  });
});
