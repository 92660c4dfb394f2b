import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseRpmQuery } from '../../src/scan/rpm-database.js';
import { inventoryOfLayout } from '../../src/scan/scan-image.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { ociLayout, tarOf } from '../helpers/oci-layout.js';

const haveRpm = spawnSync('rpmbuild', ['--version']).status === 0;
const ROCKY_RELEASE = 'NAME="Rocky Linux"\nID="rocky"\nVERSION_ID="9.4"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n';

/** A real EL9-style SQLite rpm database holding one package built by rpmbuild. */
function rpmDatabase(): Record<string, Buffer> {
  const top = temporaryDir();
  const header = ['Name: fixture-tool', 'Epoch: 1', 'Version: 1.2', 'Release: 3.el9', 'Summary: f', 'License: MIT'];
  const spec = [...header, 'BuildArch: noarch'].join('\n');
  writeTree(top, { 'SPECS/fixture.spec': `${spec}\n%description\nf\n%files\n` });
  execFileSync('rpmbuild', ['--define', `_topdir ${top}`, '-bb', join(top, 'SPECS/fixture.spec')], { stdio: 'ignore' });
  const root = join(top, 'root');
  const rpm = ['--root', root, '--dbpath', '/var/lib/rpm', '--define', '_db_backend sqlite'];
  execFileSync('rpm', [...rpm, '--initdb']);
  const built = join(top, 'RPMS/noarch/fixture-tool-1.2-3.el9.noarch.rpm');
  execFileSync('rpm', [...rpm, '-i', '--justdb', '--nodeps', '--ignoreos', built], { stdio: 'ignore' });
  const dbDir = join(root, 'var/lib/rpm');
  const files = readdirSync(dbDir).filter((name) => name.startsWith('rpmdb'));
  return Object.fromEntries(files.map((name) => [`var/lib/rpm/${name}`, readFileSync(join(dbDir, name))]));
}

describe('rpm inventory', () => {
  const noRpm = !haveRpm && 'no rpm/rpmbuild here (apt-get install rpm)';
  it("reads an image's SQLite rpm database with the host's rpm", { skip: noRpm }, async () => {
    const database = rpmDatabase();
    const layer = tarOf({ 'etc/os-release': ROCKY_RELEASE });
    const dbLayer = tarOf(database);
    const inventory = await inventoryOfLayout(ociLayout([layer, dbLayer]));
    assert.equal(inventory.os?.id, 'rocky');
    assert.deepEqual(inventory.packages, [
      {
        type: 'rpm',
        name: 'fixture-tool',
        version: '1:1.2-3.el9',
        sourceName: 'fixture-tool',
        sourceVersion: '1:1.2-3.el9',
        arch: 'noarch',
      },
    ]);
  });

  it('parses rpm -qa lines: epoch 0 dropped, the source name from the SRPM, gpg-pubkey left out', () => {
    const output = [
      'openssl-libs\t1:3.0.7-27.el9\tx86_64\topenssl-3.0.7-27.el9.src.rpm',
      'bash\t0:5.1.8-9.el9\tx86_64\tbash-5.1.8-9.el9.src.rpm',
      'gpg-pubkey\t0:350d275d-6279464b\t(none)\t(none)',
      '',
    ].join('\n');
    const described = parseRpmQuery(output).map(
      (pkg) => `${pkg.name} ${pkg.version} ${pkg.sourceName} ${pkg.sourceVersion} ${pkg.arch}`,
    );
    assert.deepEqual(described, [
      'openssl-libs 1:3.0.7-27.el9 openssl 1:3.0.7-27.el9 x86_64',
      'bash 5.1.8-9.el9 bash 5.1.8-9.el9 x86_64',
    ]);
  });
});
