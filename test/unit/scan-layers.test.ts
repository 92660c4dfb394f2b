import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { inventoryOfLayout } from '../../src/scan/scan-image.js';
import { layoutLayers, readLayoutFiles, type LayerCache } from '../../src/scan/layer-files.js';
import { temporaryDir } from '../helpers/files.js';
import { ociLayout, tarOf } from '../helpers/oci-layout.js';

const DPKG_STATUS = `Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit
 multi-line description

Package: old-config
Status: deinstall ok config-files
Version: 1.0-1

Package: libgcc-s1
Status: install ok installed
Architecture: amd64
Source: gcc-12 (12.2.0-14)
Version: 12.2.0-14+deb12u1
`;

const OS_RELEASE = [
  'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
  'ID=debian',
  'VERSION_ID="12"',
  'VERSION_CODENAME=bookworm',
  '',
].join('\n');
const SITE = 'usr/lib/python3/dist-packages';
const LONG = `${SITE}/${'a-very-long-folder-name-'.repeat(6)}`;

describe('reading an image from its layers', () => {
  it('overlays layers: later files replace earlier ones; whiteouts and opaque folders hide what is below', async () => {
    const base = tarOf({
      'etc/os-release': OS_RELEASE,
      'var/lib/dpkg/status': 'Package: first\nStatus: install ok installed\nVersion: 1\n',
      [`${SITE}/requests-2.28.1.dist-info/METADATA`]: 'Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\n',
      [`${SITE}/gone-1.0.dist-info/METADATA`]: 'Name: gone\nVersion: 1.0\n',
      'opt/venv/lib/site/old-1.0.dist-info/METADATA': 'Name: old\nVersion: 1.0\n',
    });
    const middle = tarOf(
      {
        'var/lib/dpkg/status': DPKG_STATUS,
        [`${SITE}/.wh.gone-1.0.dist-info`]: '',
        'opt/venv/lib/site/.wh..wh..opq': '',
        'opt/venv/lib/site/new-2.0.dist-info/METADATA': 'Name: New_Package\nVersion: 2.0\n\nName: not-a-header\n',
      },
      'pax',
    );
    const egg = `${LONG}/Long.Name-0.1.egg-info/PKG-INFO`;
    const top = tarOf({ [egg]: 'Metadata-Version: 1.1\nName: Long.Name\nVersion: 0.1\n' });
    const layout = ociLayout([gzipSync(base), middle, gzipSync(top)]);

    const files = await readLayoutFiles(layout, () => true);
    assert.equal(files.get('var/lib/dpkg/status')?.content?.toString(), DPKG_STATUS, 'the upper layer wins');
    assert.ok(!files.has(`${SITE}/gone-1.0.dist-info/METADATA`), 'a whiteout hides a folder and its files');
    assert.ok(!files.has('opt/venv/lib/site/old-1.0.dist-info/METADATA'), 'an opaque folder hides what was below');
    const kept = files.has('opt/venv/lib/site/new-2.0.dist-info/METADATA');
    assert.ok(kept, "an opaque folder keeps its own layer's files");
    assert.ok(![...files.keys()].some((path) => path.includes('.wh.')), 'markers are not files');

    const inventory = await inventoryOfLayout(layout);
    const pretty = 'Debian GNU/Linux 12 (bookworm)';
    assert.deepEqual(inventory.os, { id: 'debian', versionId: '12', codename: 'bookworm', prettyName: pretty });
    const summary = inventory.packages
      .map((pkg) => `${pkg.type} ${pkg.name} ${pkg.version} <- ${pkg.sourceName} ${pkg.sourceVersion}`)
      .sort();
    assert.deepEqual(summary, [
      'deb libgcc-s1 12.2.0-14+deb12u1 <- gcc-12 12.2.0-14',
      'deb libssl3 3.0.11-1~deb12u2 <- openssl 3.0.11-1~deb12u2',
      'pypi Long.Name 0.1 <- Long.Name 0.1',
      'pypi New_Package 2.0 <- New_Package 2.0',
      'pypi requests 2.28.1 <- requests 2.28.1',
    ]);
    const longName = inventory.packages.find((pkg) => pkg.name === 'Long.Name');
    assert.equal(longName?.location, `${LONG}/Long.Name-0.1.egg-info`, 'GNU long names are read whole');
  });

  it('reads ustar names split into prefix and name, and an egg-info that is a file', async () => {
    const deep = `${'d'.repeat(90)}/${'e'.repeat(60)}`;
    const files = { [`${deep}/Thing-1.2.egg-info`]: 'Name: Thing\nVersion: 1.2\n', 'usr/lib/os-release': OS_RELEASE };
    const layout = ociLayout([tarOf(files, 'ustar')]);
    const inventory = await inventoryOfLayout(layout);
    const described = inventory.packages.map((pkg) => `${pkg.name} ${pkg.version} ${pkg.location}`);
    assert.deepEqual(described, [`Thing 1.2 ${deep}/Thing-1.2.egg-info`]);
    assert.equal(inventory.os?.codename, 'bookworm', 'os-release is also read from usr/lib');
  });

  it('reads a layer blob once for every image of a run that shares it', async () => {
    const layer = gzipSync(tarOf({ 'var/lib/dpkg/status': DPKG_STATUS, 'etc/os-release': OS_RELEASE }));
    const layout = ociLayout([layer]);
    const cache: LayerCache = new Map();
    const first = await inventoryOfLayout(layout, cache);
    const [blob] = await layoutLayers(layout);
    writeFileSync(blob ?? '', 'no longer a layer');
    const second = await inventoryOfLayout(layout, cache);
    assert.deepEqual(second, first, 'the second image reads the shared layer from the cache');
    await assert.rejects(inventoryOfLayout(layout), 'without the cache the blob is read again');
  });

  it('says which layout is not an image', async () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, 'index.json'), '{"manifests":[]}');
    await assert.rejects(
      readLayoutFiles(dir, () => true),
      /no image manifest/,
    );
  });
});
