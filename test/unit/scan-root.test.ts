import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inventoryOf, isInventoryFile } from '../../src/scan/inventory.js';
import { InventoryLimitError } from '../../src/scan/inventory-limits.js';
import { readRootFiles } from '../../src/scan/root-files.js';
import { InterruptedError } from '../../src/util/errors.js';
import { inventoryOfLayout } from '../../src/scan/scan-image.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { ociLayout, tarOf } from '../helpers/oci-layout.js';

const OS_RELEASE = 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n';
const STATUS = 'Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n';

/** An image's files: system and venv Python metadata, an egg-info file, dpkg status, os-release. */
const FILES: Record<string, string> = {
  'etc/os-release': OS_RELEASE,
  'var/lib/dpkg/status': STATUS,
  'usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA': 'Name: six\nVersion: 1.16.0\n',
  'usr/local/lib/python3.11/dist-packages/Thing-1.2.egg-info': 'Name: Thing\nVersion: 1.2\n',
  'var/lib/kolla/venv/lib/python3.11/site-packages/nova-26.0.0.dist-info/METADATA': 'Name: nova\nVersion: 26.0.0\n',
  'opt/tool/pbr-5.11.egg-info/PKG-INFO': 'Name: pbr\nVersion: 5.11\n',
  'usr/share/doc/README': 'not read',
};

describe('reading an image from its mounted root', () => {
  it('finds the same inventory as the layers of the same files', async () => {
    const root = temporaryDir();
    writeTree(root, FILES);
    const fromRoot = await inventoryOf(await readRootFiles(root, isInventoryFile));
    const fromLayers = await inventoryOfLayout(ociLayout([tarOf(FILES)]));
    assert.deepEqual(fromRoot, fromLayers);
    const names = fromRoot.packages.map((pkg) => pkg.name).sort();
    assert.deepEqual(names, ['Thing', 'libssl3', 'nova', 'pbr', 'six']);
    assert.equal(fromRoot.os?.codename, 'bookworm');
  });

  it('reads only wanted regular files: no symbolic link is followed, /proc is not walked', async () => {
    const root = temporaryDir();
    writeTree(root, { 'var/lib/dpkg/status': STATUS, 'proc/x/var/lib/dpkg/status': STATUS });
    const elsewhere = temporaryDir();
    writeTree(elsewhere, { 'a-1.0.dist-info/METADATA': 'Name: a\nVersion: 1.0\n' });
    mkdirSync(join(root, 'usr/lib/python3/dist-packages'), { recursive: true });
    symlinkSync(join(elsewhere, 'a-1.0.dist-info'), join(root, 'usr/lib/python3/dist-packages/a-1.0.dist-info'));
    symlinkSync(elsewhere, join(root, 'linked'));
    const files = await readRootFiles(root, isInventoryFile);
    assert.deepEqual([...files.keys()], ['var/lib/dpkg/status']);
  });
});

describe('reading a mounted image someone else made', () => {
  const MiB = 1024 * 1024;

  it('refuses an inventory file past its limit before reading it (a sparse 65 MiB dpkg status)', async () => {
    const root = writeTree(temporaryDir(), { 'var/lib/dpkg/status': '' });
    truncateSync(join(root, 'var/lib/dpkg/status'), 65 * MiB);
    await assert.rejects(readRootFiles(root, isInventoryFile), (error: unknown) => {
      assert.ok(error instanceof InventoryLimitError, String(error));
      assert.equal(error.message, 'var/lib/dpkg/status is 65.0 MiB, more than the 64.0 MiB allowed');
      return true;
    });
  });

  it("caps the image's total", async () => {
    const root = writeTree(temporaryDir(), FILES);
    await assert.rejects(
      readRootFiles(root, isInventoryFile, { maxImageBytes: 100 }),
      (error: unknown) =>
        error instanceof InventoryLimitError &&
        error.message === 'the files read from the image add up to more than the 100 bytes allowed',
    );
  });

  it('stops walking a large tree once the signal aborts', async () => {
    const root = temporaryDir();
    for (let index = 0; index < 2000; index++) mkdirSync(join(root, `opt/d${index}/e/f`), { recursive: true });
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(readRootFiles(root, isInventoryFile, { signal: controller.signal }), InterruptedError);
  });
});
