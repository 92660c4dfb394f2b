import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DebIndexError, parsePackagesIndex, parseRelease } from '../../src/respin/deb-index.js';
import { readSnapshotIndexes, SnapshotIndexError } from '../../src/respin/snapshot-indexes.js';
import { ARCHITECTURE, writeDebRepo } from '../helpers/deb-repo.js';
import { temporaryDir } from '../helpers/files.js';
import { startStandInMirror, type StandInMirror } from '../helpers/stand-in-mirror.js';

const INDEX = [
  'Package: libssl3',
  'Source: openssl (3.0.15-1~deb12u1)',
  'Version: 3.0.15-1~deb12u1',
  'Architecture: amd64',
  'Description: Secure Sockets Layer toolkit',
  ' Package: not-a-package',
  ' Version: 9.9',
  ' .',
  '',
  'Package: tzdata',
  'Version: 2024a-0+deb12u1',
  'Architecture: all',
  'Phased-Update-Percentage: 30',
  '',
  '',
  'Package: perl-base',
  'Architecture: amd64',
  'Version: 1:5.36.0-7+deb12u1',
].join('\n');

describe('Packages and Release indexes', () => {
  it('reads every stanza, Source names without their version, continuation lines as part of their field', () => {
    assert.deepEqual(parsePackagesIndex(INDEX, null), [
      { name: 'libssl3', version: '3.0.15-1~deb12u1', architecture: 'amd64', source: 'openssl' },
      { name: 'tzdata', version: '2024a-0+deb12u1', architecture: 'all', source: 'tzdata', phasedPercentage: 30 },
      { name: 'perl-base', version: '1:5.36.0-7+deb12u1', architecture: 'amd64', source: 'perl-base' },
    ]);
  });

  it('keeps only the packages asked for', () => {
    assert.deepEqual(
      parsePackagesIndex(INDEX, new Set(['tzdata', 'absent'])).map((entry) => entry.name),
      ['tzdata'],
    );
  });

  it('refuses, in one line with the line number, an index cut short or one that is not an index', () => {
    const refused = (text: string, why: RegExp) =>
      assert.throws(
        () => parsePackagesIndex(text, null),
        (error: unknown) => error instanceof DebIndexError && !error.message.includes('\n') && why.test(error.message),
        text.slice(0, 60),
      );
    refused(`${INDEX}\n\nPackage: zlib1g\nArchitec`, /^line 20: a stanza without Version$/);
    refused('<html><body>502 Bad Gateway</body></html>\n', /^line 1: a stanza without Package$/);
    refused('Package: evil\nVersion: 1.0; touch /pwned\nArchitecture: amd64\n', /^line 1: evil has no Debian version/);
    refused('Package: evil\nVersion: 1.0 2.0\nArchitecture: amd64\n', /^line 1: evil has no Debian version/);
    refused('Package: evil\nVersion: 1.0\n', /^line 1: evil 1.0 has no architecture/);
  });

  it('reads Release fields, flags and the sha256 of the files it lists, also inside InRelease', () => {
    const release = [
      'Origin: Debian',
      'Label: Debian-Security',
      'Suite: stable-security',
      'Version: 12',
      'Codename: bookworm-security',
      'NotAutomatic: yes',
      'ButAutomaticUpgrades: yes',
      'No-Support-for-Architecture-all: Packages',
      'SHA256:',
      ' 0123abcd 100 main/binary-amd64/Packages',
      ' 4567ef01 50 main/binary-amd64/Packages.gz',
      '',
    ].join('\n');
    const signed = `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n${release}-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n`;
    for (const text of [release, signed]) {
      const parsed = parseRelease(text);
      assert.deepEqual(
        { ...parsed, sha256: Object.fromEntries(parsed.sha256) },
        {
          archive: 'stable-security',
          codename: 'bookworm-security',
          version: '12',
          origin: 'Debian',
          label: 'Debian-Security',
          notAutomatic: true,
          butAutomaticUpgrades: true,
          allInArchitectureIndexes: true,
          sha256: { 'main/binary-amd64/Packages': '0123abcd', 'main/binary-amd64/Packages.gz': '4567ef01' },
        },
      );
    }
  });
});

describe('the snapshots indexes, read as apt-get update reads them', () => {
  const mirrors: StandInMirror[] = [];
  after(async () => {
    for (const mirror of mirrors) await mirror.stop();
  });
  const serve = async (change?: (repo: string) => void) => {
    const repo = writeDebRepo(join(temporaryDir('ci-builder-repo-'), 'repo'), [
      {
        suite: 'bookworm',
        origin: 'Debian',
        packages: [{ name: 'tzdata', version: '2024a-0+deb12u1', architecture: 'all' }],
      },
    ]);
    change?.(repo);
    const mirror = await startStandInMirror(repo);
    mirrors.push(mirror);
    return mirror;
  };
  const read = (mirror: StandInMirror) =>
    readSnapshotIndexes(
      [{ url: mirror.origin, suites: ['bookworm'], components: ['main'] }],
      ARCHITECTURE,
      new Set(['tzdata']),
      new AbortController().signal,
    );
  const index = (repo: string) => join(repo, 'dists/bookworm/main/binary-amd64/Packages');

  it('offers each version with the file it is in', async () => {
    const mirror = await serve();
    const indexes = await read(mirror);
    assert.deepEqual(
      indexes.versions.map((entry) => [entry.name, entry.version, entry.files[0]?.origin, entry.files[0]?.site]),
      [['tzdata', '2024a-0+deb12u1', 'Debian', '127.0.0.1']],
    );
  });

  it('refuses an index whose sha256 is not the one its Release lists (cut short on the way), in one line', async () => {
    const mirror = await serve((repo) => writeFileSync(index(repo), readFileSync(index(repo), 'utf8').slice(0, 40)));
    await assert.rejects(
      read(mirror),
      (error: unknown) =>
        error instanceof SnapshotIndexError &&
        /Packages: sha256 [0-9a-f]{64}, the Release says [0-9a-f]{64}$/.test(error.message) &&
        !error.message.includes('\n'),
    );
  });

  it('refuses a hostile index the Release vouches for, naming its URL and line', async () => {
    const mirror = await serve((repo) => {
      const hostile = 'Package: tzdata\nVersion: 1.0$(touch /pwned)\nArchitecture: all\n';
      writeFileSync(index(repo), hostile);
      const release = join(repo, 'dists/bookworm/Release');
      writeFileSync(
        release,
        readFileSync(release, 'utf8').replace(
          /^ [0-9a-f]{64} \d+ (.*)$/m,
          ` ${createHash('sha256').update(hostile).digest('hex')} ${hostile.length} $1`,
        ),
      );
    });
    await assert.rejects(read(mirror), (error: unknown) => {
      assert.ok(error instanceof SnapshotIndexError);
      assert.equal(
        error.message,
        `${mirror.origin}/dists/bookworm/main/binary-amd64/Packages: line 1: tzdata has no Debian version ("1.0$(touch /pwned)")`,
      );
      return true;
    });
  });
});
