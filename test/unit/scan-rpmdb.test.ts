import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { parseRpmQuery } from '../../src/scan/rpm-database.js';
import { cycloneDxJson } from '../../src/scan/sbom.js';
import { inventoryOfLayout } from '../../src/scan/scan-image.js';
import type { InstalledPackage } from '../../src/scan/types.js';
import { assertValidCycloneDx } from '../helpers/cyclonedx-schema.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { ociLayout, tarOf } from '../helpers/oci-layout.js';

const haveRpm = spawnSync('rpmbuild', ['--version']).status === 0;
const ROCKY_RELEASE = 'NAME="Rocky Linux"\nID="rocky"\nVERSION_ID="9.4"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n';
const SITE = 'usr/lib/python3.9/site-packages';

/** A spec whose %install step writes `files` (path → content) into the build root and packages them. */
function spec(header: Record<string, string>, files: Record<string, string> = {}): string {
  const install = Object.entries(files).map(
    ([path, content]) =>
      `mkdir -p %{buildroot}/${path.slice(0, path.lastIndexOf('/'))}\nprintf '${content}' > %{buildroot}/${path}`,
  );
  const lines = Object.entries({ Summary: 'fixture', BuildArch: 'noarch', ...header }).map(([k, v]) => `${k}: ${v}`);
  const listed = Object.keys(files).map((path) => `/${path}`);
  return [...lines, '%description', 'fixture', '%install', ...install, '%files', ...listed, ''].join('\n');
}

/**
 * A root with a real EL9-style SQLite rpm database, made as rpm makes one: two packages built by
 * rpmbuild and installed into the root by rpm, files and all. One requires a capability the other
 * provides and a file it ships; the other installs a Python distribution.
 */
function rpmRoot(): string {
  const top = temporaryDir();
  const metadata = 'Metadata-Version: 2.1\\nName: fixture.lib\\nVersion: 2.1\\n';
  writeTree(top, {
    'SPECS/lib.spec': spec(
      { Name: 'python3-fixture-lib', Version: '2.1', Release: '1.el9', License: 'MIT', Provides: 'fixture-capability' },
      { [`${SITE}/fixture.lib-2.1.dist-info/METADATA`]: metadata, 'usr/bin/fixture-helper': 'x' },
    ),
    'SPECS/tool.spec': spec({
      Name: 'fixture-tool',
      Epoch: '1',
      Version: '1.2',
      Release: '3.el9',
      License: 'GPLv2+',
      Requires: 'fixture-capability, /usr/bin/fixture-helper',
    }),
  });
  for (const name of ['lib', 'tool']) {
    const args = ['--define', `_topdir ${top}`, '-bb', join(top, `SPECS/${name}.spec`)];
    execFileSync('rpmbuild', args, { stdio: 'ignore' });
  }
  const root = join(top, 'root');
  const rpm = ['--root', root, '--dbpath', '/var/lib/rpm', '--define', '_db_backend sqlite'];
  execFileSync('rpm', [...rpm, '--initdb']);
  const built = readdirSync(join(top, 'RPMS/noarch')).map((file) => join(top, 'RPMS/noarch', file));
  execFileSync('rpm', [...rpm, '-i', '--nodeps', '--ignoreos', '--noscripts', ...built], { stdio: 'ignore' });
  writeTree(root, { 'etc/os-release': ROCKY_RELEASE });
  return root;
}

/** Every regular file under `root`, by path relative to it, as a layer holds them. */
function filesUnder(root: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(root, path)] = readFileSync(path);
    }
  };
  walk(root);
  return files;
}

const described = (pkg: InstalledPackage) =>
  [
    pkg.type,
    pkg.name,
    pkg.version,
    `source=${pkg.sourceName} ${pkg.sourceVersion}`,
    `licenses=${(pkg.licenses ?? []).join('|')}`,
    `depends=${(pkg.dependsOn ?? []).join('|')}`,
    `owner=${pkg.owner ? `${pkg.owner.type}:${pkg.owner.name}` : ''}`,
  ].join(' ');

describe('rpm inventory', () => {
  const noRpm = !haveRpm && 'no rpm/rpmbuild here (apt-get install rpm)';
  it(
    "reads an image's SQLite rpm database with the host's rpm: packages, requires, licences, and the Python each installed",
    { skip: noRpm },
    async () => {
      const root = rpmRoot();
      const inventory = await inventoryOfLayout(ociLayout([tarOf(filesUnder(root))]));
      assert.equal(inventory.os?.id, 'rocky');
      assert.deepEqual(inventory.packages.map(described).sort(), [
        'pypi fixture.lib 2.1 source=fixture.lib 2.1 licenses= depends= owner=rpm:python3-fixture-lib',
        'rpm fixture-tool 1:1.2-3.el9 source=fixture-tool 1:1.2-3.el9 licenses=GPLv2+ depends=python3-fixture-lib owner=',
        'rpm python3-fixture-lib 2.1-1.el9 source=python3-fixture-lib 2.1-1.el9 licenses=MIT depends= owner=',
      ]);
      const sbom = await cycloneDxJson(inventory, {
        reference: 'localhost/ns/rocky-tool:t1',
        name: 'rocky-tool',
        toolVersion: '0',
      });
      await assertValidCycloneDx(sbom);
      const purls = (JSON.parse(sbom) as { components: Array<{ purl?: string }> }).components.map((c) => c.purl).sort();
      assert.deepEqual(purls, [
        'pkg:pypi/fixture.lib@2.1',
        'pkg:rpm/rocky/fixture-tool@1.2-3.el9?arch=noarch&distro=rocky-9.4&epoch=1',
        'pkg:rpm/rocky/python3-fixture-lib@2.1-1.el9?arch=noarch&distro=rocky-9.4',
        undefined,
      ]);
    },
  );

  it('parses the query: epoch 0 dropped, the source name from the SRPM, gpg-pubkey left out, rpmlib() met by none', () => {
    const output = [
      'P\topenssl-libs\t1:3.0.7-27.el9\tx86_64\topenssl-3.0.7-27.el9.src.rpm\tApache-2.0',
      'R\tlibc.so.6()(64bit)',
      'R\trpmlib(PayloadIsZstd)',
      'R\t/bin/sh',
      'V\topenssl-libs',
      'P\tbash\t0:5.1.8-9.el9\tx86_64\tbash-5.1.8-9.el9.src.rpm\tGPLv3+',
      'V\tbash',
      'F\t/bin/sh',
      'F\t/usr/bin/bash',
      'P\tglibc\t0:2.34-100.el9\tx86_64\tglibc-2.34-100.el9.src.rpm\t(none)',
      'V\tlibc.so.6()(64bit)',
      'P\tgpg-pubkey\t0:350d275d-6279464b\t(none)\t(none)\t(none)',
      '',
    ].join('\n');
    const { packages, pythonFiles } = parseRpmQuery(output);
    assert.deepEqual(packages.map(described), [
      'rpm openssl-libs 1:3.0.7-27.el9 source=openssl 1:3.0.7-27.el9 licenses=Apache-2.0 depends=bash|glibc owner=',
      'rpm bash 5.1.8-9.el9 source=bash 5.1.8-9.el9 licenses=GPLv3+ depends= owner=',
      'rpm glibc 2.34-100.el9 source=glibc 2.34-100.el9 licenses= depends= owner=',
    ]);
    assert.deepEqual(pythonFiles, []);
  });
});
