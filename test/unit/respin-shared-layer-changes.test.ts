import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sharedLayerChanges } from '../../src/respin/layer-changes.js';
import { temporaryDir } from '../helpers/files.js';

describe("a run's shared walk of patched parents' layers", () => {
  const dir = temporaryDir();
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('walks a set of layer folders once, whichever child asks', async () => {
    const layer = join(dir, 'patch');
    mkdirSync(join(layer, 'etc'), { recursive: true });
    writeFileSync(join(layer, 'etc', 'changed'), 'new\n');
    const changesOf = sharedLayerChanges();
    const first = await changesOf([layer]);
    // Were it walked again, the file added since would be among the changes.
    writeFileSync(join(layer, 'etc', 'added-later'), 'x\n');
    const second = await changesOf([layer]);
    assert.equal(second, first);
    assert.deepEqual([...second.keys()].sort(), ['etc', 'etc/changed']);
    assert.ok((await changesOf([layer, join(dir, 'patch')])).has('etc/added-later'), 'another set is walked');
  });

  it('forgets a walk that failed, so the next child walks again', async () => {
    const layer = join(dir, 'made-later');
    const changesOf = sharedLayerChanges();
    await assert.rejects(changesOf([layer]), /ENOENT/);
    mkdirSync(layer);
    writeFileSync(join(layer, 'file'), 'x\n');
    assert.deepEqual([...(await changesOf([layer])).keys()], ['file']);
  });
});
