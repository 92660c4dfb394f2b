import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { discoverCatalog } from '../../src/catalog/discover.js';
import { latestDurations, readTimings } from '../../src/shard/durations.js';
import { BALANCE_GOAL, partitionImages, type Partition, type ShardableImage } from '../../src/shard/partition.js';
import { selectedDag } from '../../src/shard/selected-dag.js';
import { projectRoot } from '../helpers/files.js';

const library = selectedDag(discoverCatalog([join(projectRoot, 'images')]), null, []);
/** The build times one real cold run of the bundled library recorded (its summary, timings kept). */
const recorded = latestDurations([readTimings(join(projectRoot, 'test/fixtures/shard/library-run'))]);

function assertValid(images: readonly ShardableImage[], partition: Partition, shards: number): void {
  assert.equal(partition.shards.length, shards);
  const shardOf = new Map<string, number>();
  partition.shards.forEach((shard, index) =>
    shard.images.forEach((name) => {
      assert.ok(!shardOf.has(name), `${name} in one shard only`);
      shardOf.set(name, index);
    }),
  );
  assert.deepEqual([...shardOf.keys()].sort(), images.map((image) => image.name).sort(), 'every image in a shard');
  for (const image of images) {
    if (image.parent === null || !shardOf.has(image.parent)) continue;
    const own = shardOf.get(image.name) ?? -1;
    const parents = shardOf.get(image.parent) ?? Infinity;
    assert.ok(
      parents <= own,
      `${image.name}'s parent ${image.parent} is in shard ${parents + 1}, not after ${own + 1}`,
    );
    if (parents === own) {
      const inShard = partition.shards[own]?.images ?? [];
      assert.ok(inShard.indexOf(image.parent) < inShard.indexOf(image.name), 'parents first within a shard');
    }
  }
}

describe('partitioning the selected DAG into shards', () => {
  it('puts the bundled library in 2 to 12 shards within 1.3× of the mean by recorded build times', () => {
    assert.equal(library.length, 36);
    assert.ok(recorded.size >= 30, 'the sample has the timings of nearly every image');
    for (let shards = 2; shards <= 12; shards++) {
      const partition = partitionImages({ images: library, shards, durations: recorded });
      assertValid(library, partition, shards);
      assert.equal(partition.estimatedBy, 'durations');
      assert.ok(partition.maxOverMean <= BALANCE_GOAL, `${shards} shards: max÷mean ${partition.maxOverMean}`);
      const largest = Math.max(...partition.shards.map((shard) => shard.seconds));
      assert.equal(partition.maxOverMean, Math.round((largest / partition.meanSeconds) * 1000) / 1000);
    }
  });

  it('says why when the images are too coarse for the goal, or a chain is longer than the mean', () => {
    const partition = partitionImages({ images: library, shards: 14, durations: recorded });
    assertValid(library, partition, 14);
    assert.ok(partition.maxOverMean > BALANCE_GOAL, 'openstack-base alone weighs more than 1.3× a fourteenth');
    assert.equal(partition.maxOverMean, 1.367, 'the heaviest image alone: no partition does better');
    assert.match(partition.notes[0] ?? '', /over the 1\.3× goal: the images are too coarse for 14 shards/);
    assert.match(partition.notes[0] ?? '', /openstack-base alone takes 64\.733 s/);
    assert.match(partition.notes[1] ?? '', /^the chain base → openstack-base → nova-base → nova-compute takes 153\.2/);
    const three = partitionImages({ images: library, shards: 3, durations: recorded });
    assert.deepEqual(three.notes, [], 'three shards are balanced and the longest chain is shorter than the mean');
  });

  it('balances by image count without recorded times, and estimates the images a run did not time', () => {
    for (let shards = 1; shards <= 8; shards++) {
      const partition = partitionImages({ images: library, shards, durations: new Map() });
      assertValid(library, partition, shards);
      assert.equal(partition.estimatedBy, 'image count');
      const sizes = partition.shards.map((shard) => shard.images.length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${shards} shards: ${sizes.join(' ')}`);
    }
    // base was reused in the sample run: it weighs the median of the built images.
    const partition = partitionImages({ images: library, shards: 3, durations: recorded });
    const total = partition.shards.reduce((sum, shard) => sum + shard.seconds, 0);
    const timed = [...recorded].filter(([name]) => name !== 'base').map(([, seconds]) => seconds);
    const median = [...timed].sort((a, b) => a - b)[timed.length >> 1] ?? 0;
    assert.ok(Math.abs(total - (timed.reduce((a, b) => a + b, 0) + median)) < 0.01);
  });

  it('gives the same partition whatever the order of its input', () => {
    const reference = partitionImages({ images: library, shards: 4, durations: recorded });
    for (let seed = 1; seed <= 5; seed++) {
      const shuffled = [...library].sort((a, b) => hash(`${seed}${a.name}`) - hash(`${seed}${b.name}`));
      const reordered = new Map([...recorded].reverse());
      assert.deepEqual(partitionImages({ images: shuffled, shards: 4, durations: reordered }), reference);
    }
    // Equal weights tie everywhere: still one answer, siblings by name.
    const flat = partitionImages({ images: library, shards: 5, durations: new Map() });
    assert.deepEqual(flat.shards[0]?.images.slice(0, 3), ['base', 'cron', 'haproxy']);
  });

  it('leaves shards empty when there are fewer images than shards, and says so', () => {
    const images = [
      { name: 'b', parent: 'a' },
      { name: 'a', parent: null },
    ];
    const partition = partitionImages({ images, shards: 3, durations: new Map() });
    assert.deepEqual(
      partition.shards.map((shard) => shard.images),
      [['a'], ['b'], []],
    );
    assert.match(partition.notes[0] ?? '', /^2 image\(s\) for 3 shards/);
    assert.throws(() => partitionImages({ images, shards: 0, durations: new Map() }), RangeError);
  });

  it('treats a parent outside the selection as a root', () => {
    const images = [
      { name: 'leaf-b', parent: 'outside' },
      { name: 'leaf-a', parent: 'outside' },
    ];
    const partition = partitionImages({ images, shards: 2, durations: new Map([['leaf-a', 10]]) });
    assert.deepEqual(
      partition.shards.map((shard) => shard.images),
      [['leaf-a'], ['leaf-b']],
    );
  });
});

function hash(text: string): number {
  let value = 7;
  for (const char of text) value = (value * 31 + char.charCodeAt(0)) % 1_000_003;
  return value;
}
