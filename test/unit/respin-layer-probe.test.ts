import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LayerProbe } from '../../src/respin/layer-changes.js';
import { LinkOnPathError } from '../../src/respin/rooted-path.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

describe("looking up paths in a child's own layer folders", () => {
  it('answers what the topmost layer holding a path does, and nothing for a path no layer holds', async () => {
    const dir = temporaryDir('ci-builder-probe-');
    const lower = writeTree(join(dir, 'lower'), { 'etc/a': 'lower a', 'usr/lib/x/libx.so.1': 'x' });
    const upper = writeTree(join(dir, 'upper'), { 'etc/a': 'upper a' });
    const probe = new LayerProbe([lower, upper]);
    assert.deepEqual(await probe.topChange('etc/a'), { change: 'written', file: join(upper, 'etc/a') });
    assert.deepEqual(await probe.topChange('usr/lib/x/libx.so.1'), {
      change: 'written',
      file: join(lower, 'usr/lib/x/libx.so.1'),
    });
    assert.deepEqual(await probe.topChange('usr/lib/x'), { change: 'dir', file: join(lower, 'usr/lib/x') });
    assert.equal(await probe.topChange('usr/lib/y/liby.so.1'), undefined);
    // Asked again after its folder was remembered as absent in both layers: still nothing, and no error.
    assert.equal(await probe.topChange('usr/lib/y/liby.so.2'), undefined);
  });

  it('refuses a path through a symbolic link in a layer: the link is never followed onto the host', async () => {
    const dir = temporaryDir('ci-builder-probe-');
    const host = join(dir, 'host-etc');
    mkdirSync(host);
    writeFileSync(join(host, 'shadow'), 'host secret');
    const layer = join(dir, 'layer');
    mkdirSync(layer);
    symlinkSync(host, join(layer, 'etc'));
    const probe = new LayerProbe([layer]);
    await assert.rejects(probe.topChange('etc/shadow'), LinkOnPathError);
    await assert.rejects(probe.topChange('usr/../etc/shadow'), LinkOnPathError);
    assert.ok(existsSync(join(host, 'shadow')));
  });

  it('reports a symbolic link as the last part as written, without following it', async () => {
    const dir = temporaryDir('ci-builder-probe-');
    const layer = join(dir, 'layer');
    mkdirSync(join(layer, 'usr/lib'), { recursive: true });
    symlinkSync('/etc/passwd', join(layer, 'usr/lib/libz.so.1'));
    const probe = new LayerProbe([layer]);
    assert.deepEqual(await probe.topChange('usr/lib/libz.so.1'), {
      change: 'written',
      file: join(layer, 'usr/lib/libz.so.1'),
    });
  });
});
