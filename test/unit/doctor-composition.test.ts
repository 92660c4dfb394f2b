import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkRegistryComposition } from '../../src/doctor/engine-checks.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

/** A PATH holding an executable getfattr (a stand-in: only its presence is asked). */
function pathWithGetfattr(): string {
  const bin = writeTree(temporaryDir(), { getfattr: '#!/bin/sh\n' });
  chmodSync(join(bin, 'getfattr'), 0o755);
  return bin;
}

describe('doctor: respin.compose registry (and auto, the default)', () => {
  it('says nothing when the setting is off, nor of docker with auto', () => {
    assert.equal(checkRegistryComposition('buildah', 'store', { PATH: pathWithGetfattr() }), undefined);
    assert.equal(checkRegistryComposition('docker', 'auto', { PATH: pathWithGetfattr() }), undefined);
  });

  it('warns for an engine that cannot compose, and without getfattr, naming the fix', () => {
    assert.deepEqual(checkRegistryComposition('docker', 'registry', { PATH: pathWithGetfattr() }), {
      check: 'respin composing at the registry',
      status: 'warn',
      detail: 'docker cannot compose (no layer folders): stacked images are put together in the store',
      fix: 'set engine: buildah',
    });
    assert.deepEqual(checkRegistryComposition('buildah', 'registry', { PATH: temporaryDir() }), {
      check: 'respin composing at the registry',
      status: 'warn',
      detail: 'getfattr is not installed: stacked images are put together in the store',
      fix: 'apt-get install attr',
    });
  });

  it('is ok with buildah and getfattr; with auto, warns of a missing getfattr too', () => {
    assert.equal(checkRegistryComposition('buildah', 'registry', { PATH: pathWithGetfattr() })?.status, 'ok');
    assert.equal(checkRegistryComposition('podman', 'auto', { PATH: pathWithGetfattr() })?.status, 'ok');
    assert.equal(checkRegistryComposition('buildah', 'auto', { PATH: temporaryDir() })?.status, 'warn');
  });
});
