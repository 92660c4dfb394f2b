import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { movedPackages, readPackagesIndex } from '../helpers/snapshot-repos/packages-index.js';
import { repackDeb } from '../helpers/snapshot-repos/repack-deb.js';
import { pulpContent, snapshotRepos, snapshotReposCacheDir } from '../helpers/snapshot-repos.js';

const packagesFile = (stanzas: string[]) =>
  writeTree(temporaryDir(), { 'dists/bookworm/main/binary-amd64/Packages': stanzas.join('\n\n') });
const stanza = (name: string, version: string) =>
  `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nFilename: pool/main/${name[0]}/${name}/${name}_${version}_amd64.deb\nDescription: test\n continued`;

describe('snapshot repositories', () => {
  it('reads name, version and file of each package of a published Packages index', () => {
    const repo = packagesFile([
      stanza('libssl3', '3.0.17-1~deb12u2'),
      stanza('tzdata', '2025b-0+deb12u1'),
      'Package: half\n',
    ]);
    assert.deepEqual(Object.fromEntries(readPackagesIndex(repo, 'bookworm', 'amd64')), {
      libssl3: { version: '3.0.17-1~deb12u2', filename: 'pool/main/l/libssl3/libssl3_3.0.17-1~deb12u2_amd64.deb' },
      tzdata: { version: '2025b-0+deb12u1', filename: 'pool/main/t/tzdata/tzdata_2025b-0+deb12u1_amd64.deb' },
    });
  });

  it('lists the packages two snapshots hold at different versions, by name', () => {
    const before = readPackagesIndex(
      packagesFile([stanza('b', '1'), stanza('a', '1'), stanza('gone', '1')]),
      'bookworm',
      'amd64',
    );
    const after = readPackagesIndex(
      packagesFile([stanza('a', '2'), stanza('b', '1'), stanza('new', '1')]),
      'bookworm',
      'amd64',
    );
    assert.deepEqual(movedPackages(before, after), [{ name: 'a', from: '1', to: '2' }]);
  });

  it('repacks a .deb under a higher version, its files unchanged', () => {
    const dir = temporaryDir();
    const tree = writeTree(join(dir, 'tree'), {
      'DEBIAN/control':
        'Package: probe\nVersion: 1.0-1\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: probe\n',
      'usr/share/probe/data.txt': 'data\n',
    });
    const original = join(dir, 'probe_1.0-1_all.deb');
    execFileSync('dpkg-deb', ['--root-owner-group', '--build', tree, original], { stdio: 'ignore' });
    const repacked = repackDeb(original, '1.0-1+respin1', dir);
    assert.equal(repacked, join(dir, 'probe_1.0-1+respin1_all.deb'));
    const field = (deb: string, name: string) =>
      execFileSync('dpkg-deb', ['--field', deb, name], { encoding: 'utf8' }).trim();
    assert.equal(field(repacked, 'Version'), '1.0-1+respin1');
    assert.equal(field(repacked, 'Package'), 'probe');
    const contents = (deb: string) =>
      execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' })
        .split('\n')
        .map((line) =>
          line
            .split(/\s+/)
            .filter((_, index) => index !== 3 && index !== 4)
            .join(' '),
        );
    assert.deepEqual(contents(repacked), contents(original));
    execFileSync('dpkg', ['--compare-versions', '1.0-1+respin1', 'gt', '1.0-1']);
  });

  it('keeps fixtures next to the CI_BUILDER_CACHE_DIR, or under the user cache', () => {
    assert.equal(
      snapshotReposCacheDir({ CI_BUILDER_CACHE_DIR: '/var/cache/ci/builder' }),
      '/var/cache/ci/snapshot-repos',
    );
    assert.equal(snapshotReposCacheDir({ XDG_CACHE_HOME: '/x' }), '/x/ci-builder-test/snapshot-repos');
  });

  it('serves A, B and C as versions 1, 2 and 3 of one distribution', () => {
    const folders = { A: '/f/a', B: '/f/b', C: '/f/c' };
    assert.deepEqual(pulpContent({ folders }, 'debian/'), {
      'debian/1/': '/f/a',
      'debian/2/': '/f/b',
      'debian/3/': '/f/c',
    });
  });

  it('refuses a package list with a name Debian cannot have, before fetching anything', async () => {
    const cacheDir = temporaryDir();
    await assert.rejects(snapshotRepos({ packages: ['tzdata', 'Bad Name'], cacheDir }), {
      message: 'snapshot-repos: not a Debian package name: "Bad Name"',
    });
  });
});
