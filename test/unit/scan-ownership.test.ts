import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inventoryOf, isInventoryFile } from '../../src/scan/inventory.js';
import { matchInventory } from '../../src/scan/match.js';
import { parseOsRelease } from '../../src/scan/os-release.js';
import { readRootFiles } from '../../src/scan/root-files.js';
import { inventoryOfLayout } from '../../src/scan/scan-image.js';
import type { InstalledPackage } from '../../src/scan/types.js';
import { VulnerabilityDatabase } from '../../src/scan/vulnerability-db.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { ociLayout, tarOf } from '../helpers/oci-layout.js';
import { osvRecord } from '../helpers/osv-fixture.js';

const OS_RELEASE =
  'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n';
const DIST = 'usr/lib/python3/dist-packages';
const SITE = 'usr/local/lib/python3.11/dist-packages';

function paragraph(fields: Record<string, string>): string {
  return `${Object.entries(fields)
    .map(([key, value]) => `${key}: ${value}`)
    .join('\n')}\n`;
}

const STATUS = [
  paragraph({
    Package: 'python3-urllib3',
    Status: 'install ok installed',
    Architecture: 'all',
    Version: '1.26.12-1+deb12u4',
    Depends: 'python3:any, python3-six',
  }),
  paragraph({ Package: 'python3-six', Status: 'install ok installed', Architecture: 'all', Version: '1.16.0-4' }),
  paragraph({
    Package: 'python3-cryptography',
    Status: 'install ok installed',
    Architecture: 'amd64',
    Version: '38.0.4-3+deb12u1',
    Depends: 'python3 (>= 3~), libssl3 (>= 3.0.0)',
  }),
  paragraph({ Package: 'python3', Status: 'install ok installed', Architecture: 'amd64', Version: '3.11.2-1+b1' }),
  paragraph({
    Package: 'libssl3',
    Status: 'install ok installed',
    Architecture: 'amd64',
    Source: 'openssl',
    Version: '3.0.15-1~deb12u1',
    'Pre-Depends': 'libc6 (>= 2.34)',
  }),
  paragraph({
    Package: 'libc6',
    Status: 'install ok unpacked',
    Architecture: 'amd64',
    Source: 'glibc',
    Version: '2.36-9+deb12u9',
  }),
  paragraph({ Package: 'mawk', Status: 'install ok installed', Version: '1.3.4.20200120-3.1', Provides: 'awk' }),
  paragraph({ Package: 'base-files', Status: 'install ok installed', Version: '12.4+deb12u8', Depends: 'awk' }),
  paragraph({ Package: 'gone', Status: 'deinstall ok config-files', Version: '1.0-1' }),
  paragraph({ Package: 'never', Status: 'purge ok not-installed', Version: '1.0-1' }),
].join('\n');

const list = (...paths: string[]) => `/.\n/usr\n/usr/lib\n${paths.map((path) => `/${path}`).join('\n')}\n`;
const metadata = (name: string, version: string, more = '') =>
  `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n${more}`;

/** A Debian image: deb-owned Python (one with both a dist-info and an egg-info), a pip-installed one, licences. */
const IMAGE: Record<string, string> = {
  'etc/os-release': OS_RELEASE,
  'etc/debian_version': '12.8\n',
  'var/lib/dpkg/status': STATUS,
  'var/lib/dpkg/info/python3-urllib3.list': list(
    `${DIST}/urllib3`,
    `${DIST}/urllib3/__init__.py`,
    `${DIST}/urllib3-1.26.12.egg-info`,
    `${DIST}/urllib3-1.26.12.egg-info/PKG-INFO`,
  ),
  'var/lib/dpkg/info/python3-cryptography.list': list(
    `${DIST}/cryptography-38.0.4.dist-info/METADATA`,
    `${DIST}/cryptography-38.0.4.egg-info/PKG-INFO`,
  ),
  'var/lib/dpkg/info/libssl3:amd64.list': list('usr/lib/x86_64-linux-gnu/libssl.so.3'),
  [`${DIST}/urllib3-1.26.12.egg-info/PKG-INFO`]: metadata(
    'urllib3',
    '1.26.12',
    'Classifier: License :: OSI Approved :: MIT License\n',
  ),
  [`${DIST}/cryptography-38.0.4.dist-info/METADATA`]: metadata(
    'cryptography',
    '38.0.4',
    'License-Expression: Apache-2.0 OR BSD-3-Clause\n',
  ),
  [`${DIST}/cryptography-38.0.4.egg-info/PKG-INFO`]: metadata('cryptography', '38.0.4'),
  [`${SITE}/fixture_pip-1.0.dist-info/METADATA`]: metadata('fixture_pip', '1.0'),
  [`${SITE}/fixture_pip-1.0.dist-info/INSTALLER`]: 'pip\n',
  [`${SITE}/fixture_pip-1.0.dist-info/RECORD`]: '',
  'usr/share/doc/libssl3/copyright': [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Source: https://www.openssl.org/',
    '',
    'Files: *',
    'Copyright: 1998-2024 The OpenSSL Project',
    'License: Apache-2.0',
    '',
    'Files: debian/*',
    'Copyright: Debian',
    'License: GPL-2+',
    '',
    'License: Apache-2.0',
    ' Licensed under the Apache License, Version 2.0 …',
    '',
  ].join('\n'),
  'usr/share/doc/python3-six/copyright': 'This is free text, not the machine-readable format.\nLicense: MIT\n',
};

const described = (pkg: InstalledPackage) =>
  `${pkg.type} ${pkg.name} ${pkg.version}${pkg.owner ? ` owner=${pkg.owner.type}:${pkg.owner.name}` : ''}${
    pkg.installer ? ` installer=${pkg.installer}` : ''
  }`;

describe('who owns each Python distribution, and one record per distribution', () => {
  it('links deb-installed distributions to their package and marks the pip-installed one, from layers and from a root alike', async () => {
    const fromLayers = await inventoryOfLayout(ociLayout([tarOf(IMAGE)]));
    const root = temporaryDir();
    writeTree(root, IMAGE);
    const fromRoot = await inventoryOf(await readRootFiles(root, isInventoryFile));
    assert.deepEqual(fromRoot, fromLayers);
    const python = fromLayers.packages.filter((pkg) => pkg.type === 'pypi').map(described);
    assert.deepEqual(python, [
      'pypi cryptography 38.0.4 owner=deb:python3-cryptography',
      'pypi urllib3 1.26.12 owner=deb:python3-urllib3',
      'pypi fixture_pip 1.0 installer=pip',
    ]);
  });

  it('lists a distribution with both a dist-info and an egg-info once, from its dist-info', async () => {
    const { packages } = await inventoryOfLayout(ociLayout([tarOf(IMAGE)]));
    const cryptography = packages.filter((pkg) => pkg.name === 'cryptography');
    assert.deepEqual(
      cryptography.map((pkg) => pkg.location),
      [`${DIST}/cryptography-38.0.4.dist-info`],
    );
  });

  it('keeps the same distribution in two site-packages folders as two installations', async () => {
    const venv = 'var/lib/kolla/venv/lib/python3.11/site-packages';
    const files = { ...IMAGE, [`${venv}/urllib3-2.0.7.dist-info/METADATA`]: metadata('urllib3', '2.0.7') };
    const { packages } = await inventoryOfLayout(ociLayout([tarOf(files)]));
    assert.deepEqual(packages.filter((pkg) => pkg.name === 'urllib3').map(described), [
      'pypi urllib3 1.26.12 owner=deb:python3-urllib3',
      'pypi urllib3 2.0.7',
    ]);
  });
});

describe('dpkg: states, relations, licences, point release', () => {
  it('counts the packages whose files are on disk, whatever else dpkg says of them, and marks the state', async () => {
    const { packages } = await inventoryOfLayout(ociLayout([tarOf(IMAGE)]));
    const debs = packages.filter((pkg) => pkg.type === 'deb');
    assert.deepEqual(debs.map((pkg) => pkg.name).sort(), [
      'base-files',
      'libc6',
      'libssl3',
      'mawk',
      'python3',
      'python3-cryptography',
      'python3-six',
      'python3-urllib3',
    ]);
    assert.equal(debs.find((pkg) => pkg.name === 'libc6')?.state, 'unpacked');
    assert.equal(debs.find((pkg) => pkg.name === 'libssl3')?.state, undefined);
  });

  it('resolves Depends and Pre-Depends to installed packages: arch qualifiers, versions and virtual packages', async () => {
    const { packages } = await inventoryOfLayout(ociLayout([tarOf(IMAGE)]));
    const dependsOn = (name: string) => packages.find((pkg) => pkg.name === name)?.dependsOn;
    assert.deepEqual(dependsOn('python3-urllib3'), ['python3', 'python3-six']);
    assert.deepEqual(dependsOn('libssl3'), ['libc6']);
    assert.deepEqual(dependsOn('base-files'), ['mawk'], 'awk is provided by mawk');
    assert.equal(dependsOn('python3-six'), undefined);
  });

  it('reads licences from machine-readable copyright files and metadata only, and the point release', async () => {
    const { packages, os } = await inventoryOfLayout(ociLayout([tarOf(IMAGE)]));
    const licenses = (name: string) => packages.find((pkg) => pkg.name === name)?.licenses;
    assert.deepEqual(licenses('libssl3'), ['Apache-2.0', 'GPL-2+']);
    assert.equal(licenses('python3-six'), undefined, 'a free-text copyright file declares nothing machine-readable');
    assert.deepEqual(licenses('cryptography'), ['Apache-2.0 OR BSD-3-Clause']);
    assert.deepEqual(licenses('urllib3'), ['MIT License']);
    assert.deepEqual(os, {
      id: 'debian',
      versionId: '12',
      codename: 'bookworm',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
      pointRelease: '12.8',
    });
  });

  it("takes the point release from /etc/debian_version or Ubuntu's VERSION, and none from a testing release", () => {
    const ubuntu = 'ID=ubuntu\nVERSION_ID="22.04"\nVERSION="22.04.4 LTS (Jammy Jellyfish)"\n';
    assert.equal(parseOsRelease(ubuntu).pointRelease, '22.04.4');
    assert.equal(parseOsRelease(OS_RELEASE, '12.8\n').pointRelease, '12.8');
    assert.equal(parseOsRelease('ID=debian\nVERSION_CODENAME=trixie\n', 'trixie/sid\n').pointRelease, undefined);
    assert.equal(
      parseOsRelease(OS_RELEASE, '11.9\n').pointRelease,
      undefined,
      'a point release of another version is not this one',
    );
  });

  it("reads a distroless image's status.d/ records and owns files from their md5sums", async () => {
    const files = {
      'etc/os-release': OS_RELEASE,
      'var/lib/dpkg/status.d/python3-six': paragraph({
        Package: 'python3-six',
        Version: '1.16.0-4',
        Architecture: 'all',
      }),
      'var/lib/dpkg/status.d/python3-six.md5sums': `0123456789abcdef0123456789abcdef  ${DIST}/six-1.16.0.egg-info/PKG-INFO\n`,
      'var/lib/dpkg/status.d/tzdata': paragraph({ Package: 'tzdata', Version: '2024a-0+deb12u1', Architecture: 'all' }),
      [`${DIST}/six-1.16.0.egg-info/PKG-INFO`]: metadata('six', '1.16.0'),
    };
    const { packages } = await inventoryOfLayout(ociLayout([tarOf(files)]));
    assert.deepEqual(packages.map(described), [
      'deb python3-six 1.16.0-4',
      'deb tzdata 2024a-0+deb12u1',
      'pypi six 1.16.0 owner=deb:python3-six',
    ]);
  });
});

describe('PyPI advisories and OS-owned distributions', () => {
  function database(): VulnerabilityDatabase {
    const db = new VulnerabilityDatabase();
    const pypi = (id: string, name: string, fixed: string) =>
      osvRecord({ id, ecosystem: 'PyPI', name, fixed, word: 'HIGH' });
    db.addRecord(pypi('GHSA-urllib3', 'urllib3', '1.26.17'));
    db.addRecord(pypi('GHSA-pip', 'fixture-pip', '1.1'));
    // Debian's record of the same flaw: fixed in the version installed.
    db.addRecord(
      osvRecord({ id: 'DSA-urllib3', ecosystem: 'Debian:12', name: 'python3-urllib3', fixed: '1.26.12-1+deb12u4' }),
    );
    return db;
  }

  it('applies PyPI advisories to distributions no OS package installed, unless asked for all', async () => {
    const inventory = await inventoryOfLayout(ociLayout([tarOf(IMAGE)]));
    const found = (which?: 'unowned' | 'all') =>
      matchInventory(inventory, database(), which).map((finding) => `${finding.id} ${finding.package}`);
    assert.deepEqual(found(), ['GHSA-pip fixture_pip']);
    assert.deepEqual(found('unowned'), ['GHSA-pip fixture_pip']);
    assert.deepEqual(found('all').sort(), ['GHSA-pip fixture_pip', 'GHSA-urllib3 urllib3']);
  });
});
