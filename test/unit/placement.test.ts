import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { placeImage, type BuilderLoad } from '../../src/shard/placement.js';

const builder = (name: string, running: number, holds: string[] = [], extra: Partial<BuilderLoad> = {}) => ({
  name,
  slots: 2,
  running,
  lost: false,
  holds: new Set(holds),
  ...extra,
});

describe('placing a ready image on a builder', () => {
  it('prefers the builder that holds its parent, even when it is busier', () => {
    const builders = [builder('a', 0), builder('b', 1, ['openstack-base'])];
    assert.equal(placeImage({ needs: 'openstack-base' }, builders), 'b');
  });

  it('goes to the least loaded builder when none holds the parent', () => {
    assert.equal(placeImage({ needs: 'base' }, [builder('a', 1), builder('b', 0)]), 'b');
    assert.equal(placeImage({ needs: null }, [builder('a', 1), builder('b', 0)]), 'b');
  });

  it('leaves the parent behind when its builder has no free slot', () => {
    const builders = [builder('a', 2, ['base']), builder('b', 1)];
    assert.equal(placeImage({ needs: 'base' }, builders), 'b');
  });

  it('answers undefined when every slot is taken', () => {
    assert.equal(placeImage({ needs: null }, [builder('a', 2), builder('b', 2)]), undefined);
  });

  it('never chooses a lost builder, even one holding the parent with every slot free', () => {
    const builders = [builder('a', 0, ['base'], { lost: true }), builder('b', 1)];
    assert.equal(placeImage({ needs: 'base' }, builders), 'b');
    assert.equal(placeImage({ needs: 'base' }, [builder('a', 0, [], { lost: true })]), undefined);
  });

  it('breaks ties by the share of slots in use, then by list order: the same state, the same answer', () => {
    const big = builder('big', 1, [], { slots: 8 });
    assert.equal(placeImage({ needs: null }, [builder('small', 1), big]), 'big');
    const twins = [builder('a', 0), builder('b', 0)];
    for (let round = 0; round < 5; round++) assert.equal(placeImage({ needs: null }, twins), 'a');
    assert.equal(placeImage({ needs: null }, [...twins].reverse()), 'b');
  });
});
