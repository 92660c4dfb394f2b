import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { patchScript } from '../../src/respin/patch-layer.js';
import { aptListsCommands, SharedAptLists } from '../../src/respin/shared-apt-lists.js';
import { temporaryDir } from '../helpers/files.js';

describe("a run's shared apt lists", () => {
  it('has the first upgrade export, one asking meanwhile update for itself, and the later ones import', async () => {
    const lists = new SharedAptLists(temporaryDir('apt-lists-'));
    assert.equal(lists.claim(), 'export');
    assert.equal(lists.claim(), undefined, 'while the first exports, another updates for itself');
    writeFileSync(join(lists.folder, 'snapshot_dists_bookworm_main_binary-amd64_Packages'), 'Package: x\n');
    await lists.settle('export', true);
    assert.equal(lists.claim(), 'import');
    assert.equal(lists.claim(), 'import');
  });

  it('offers nothing a failed upgrade exported, and lets the next upgrade export', async () => {
    const lists = new SharedAptLists(temporaryDir('apt-lists-'));
    assert.equal(lists.claim(), 'export');
    writeFileSync(join(lists.folder, 'half-written_Packages'), 'Package: x\n');
    await lists.settle('export', false);
    assert.deepEqual(readdirSync(lists.folder), []);
    assert.equal(lists.claim(), 'export');
  });

  it('lets the next upgrade export when one exported nothing (foreign architectures, no /mnt)', async () => {
    const lists = new SharedAptLists(temporaryDir('apt-lists-'));
    assert.equal(lists.claim(), 'export');
    await lists.settle('export', true);
    assert.equal(lists.claim(), 'export');
  });

  it('is not changed by settling an upgrade that imported or updated for itself', async () => {
    const lists = new SharedAptLists(temporaryDir('apt-lists-'));
    await lists.settle(undefined, false);
    await lists.settle('import', false);
    assert.equal(lists.claim(), 'export');
  });
});

describe('the patch script with shared lists', () => {
  const request = {
    setup: ['echo setup'],
    restore: ['echo restore'],
    packages: [{ name: 'memcached', architecture: 'amd64', from: '1.6.18-1', to: '1.6.18-2' }],
    nativeArchitecture: 'amd64',
  };

  it('runs apt-get update unless told to import, and exports only where told and the folder is bound', () => {
    const script = patchScript({ ...request, sharedLists: true });
    const [importing, exporting] = aptListsCommands();
    assert.ok(importing && exporting);
    assert.ok(script.includes(importing) && script.includes(exporting), script);
    assert.match(
      importing,
      /^if \[ "\$\{CI_BUILDER_APT_LISTS:-\}" = import \] && grep -qs ' \/mnt ' \/proc\/self\/mountinfo/,
    );
    assert.match(importing, /; else apt-get update; fi$/);
    assert.match(
      exporting,
      /= export \] && grep -qs ' \/mnt ' \/proc\/self\/mountinfo && \[ -z "\$\(dpkg --print-foreign-architectures\)" \]/,
    );
    // The lists come in before the install, and go with the restore as an update's would.
    assert.ok(script.indexOf(exporting) < script.indexOf('apt-get install'));
    assert.ok(script.indexOf('apt-get install') < script.indexOf('echo restore'));
  });

  it('is the plain update without them', () => {
    const script = patchScript(request);
    assert.ok(script.includes('apt-get update;'));
    assert.ok(!script.includes('CI_BUILDER_APT_LISTS'));
  });
});
