import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileMatches } from '../../src/respin/apt-policy.js';
import {
  defaultReleaseOf,
  isPreferencesPart,
  NEVER_PIN,
  parsePreferences,
  PreferencesError,
} from '../../src/respin/apt-preferences.js';
import type { PackageFile } from '../../src/respin/deb-index.js';

const FILE = '/etc/apt/preferences';
const parse = (text: string) => parsePreferences(text, FILE);

const updates: PackageFile = {
  kind: 'index',
  archive: 'stable-updates',
  codename: 'bookworm-updates',
  version: '12.5',
  origin: 'Debian',
  label: 'Debian',
  component: 'main',
  architecture: 'amd64',
  site: 'pulp.example.org',
  notAutomatic: false,
  butAutomaticUpgrades: false,
};

describe('apt preferences, as apt 2.6 reads them', () => {
  it('reads Package, Pin and Pin-Priority of each record, in order, with specific and general pins apart', () => {
    const pins = parse(
      [
        'Package: nginx nginx-common',
        'Pin: version 1.22.*',
        'Pin-Priority: 1001',
        '',
        'Package: *',
        'Pin: release a=bookworm-updates',
        'Pin-Priority: -1',
        '',
        'Package: *',
        'Pin: origin "pulp.example.org"',
        'Pin-Priority: never',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      pins.map(({ packages, match, priority }) => ({ packages, match, priority })),
      [
        { packages: ['nginx', 'nginx-common'], match: { type: 'version', pattern: '1.22.*' }, priority: 1001 },
        { packages: [], match: { type: 'release', fields: { archive: 'bookworm-updates' } }, priority: -1 },
        { packages: [], match: { type: 'origin', site: 'pulp.example.org' }, priority: NEVER_PIN },
      ],
    );
    assert.equal(pins[1]?.origin, `${FILE}, record 2`);
  });

  it('reads every release field, a bare word as archive-or-codename, one starting with a digit as a version', () => {
    const [all] = parse(
      'Package: *\nPin: release o=Debian, l=Debian-Security, a=stable, n=bookworm, c=main, b=amd64, v=12*\nPin-Priority: 500\n',
    );
    assert.deepEqual(all?.match, {
      type: 'release',
      fields: {
        origin: 'Debian',
        label: 'Debian-Security',
        archive: 'stable',
        codename: 'bookworm',
        component: 'main',
        architecture: 'amd64',
        version: '12',
        versionPrefix: true,
      },
    });
    assert.deepEqual(parse('Package: *\nPin: release bookworm\nPin-Priority: 500\n')[0]?.match, {
      type: 'release',
      fields: { release: 'bookworm' },
    });
    assert.deepEqual(parse('Package: *\nPin: release 12.5\nPin-Priority: 500\n')[0]?.match, {
      type: 'release',
      fields: { version: '12.5' },
    });
    assert.deepEqual(parse('Package: *\nPin: release *\nPin-Priority: 500\n')[0]?.match, {
      type: 'release',
      fields: { all: true },
    });
  });

  it('matches release pins against a package file field by field, globs and /regex/ included', () => {
    const matches = (pin: string) => {
      const [parsed] = parse(`Package: *\nPin: ${pin}\nPin-Priority: 500\n`);
      assert.ok(parsed, pin);
      return fileMatches(parsed.match, updates);
    };
    assert.equal(matches('release a=stable-updates'), true);
    assert.equal(matches('release a=stable'), false);
    assert.equal(matches('release n=bookworm-*'), true);
    assert.equal(matches('release n=/^bookworm-(updates|security)$/'), true);
    assert.equal(matches('release o=Debian, c=contrib'), false, 'every field given must match');
    assert.equal(matches('release l=debian'), true, 'case-insensitively');
    assert.equal(matches('release bookworm-updates'), true, 'a bare word is the codename too');
    assert.equal(matches('release v=12*'), true);
    assert.equal(matches('release v=13*'), false);
    assert.equal(matches('origin pulp.example.org'), true);
    assert.equal(matches('origin deb.debian.org'), false);
  });

  it('takes package names as globs and /regex/, src: and :arch as written', () => {
    assert.deepEqual(
      parse('Package: lib* /^python3-.*/ src:openssl libc6:amd64\nPin: version 1\nPin-Priority: 600\n')[0]?.packages,
      ['lib*', '/^python3-.*/', 'src:openssl', 'libc6:amd64'],
    );
  });

  it('skips comments, comment-only records, records without Pin and pin types apt does not understand', () => {
    const pins = parse(
      [
        '# held at the point release',
        '# another comment',
        '',
        'Package: foo',
        '# a comment inside the record',
        'Pin: version 1.0',
        'Pin-Priority: 900',
        '',
        'Package: bar',
        'Explanation: no Pin line: nothing pinned',
        '',
        'Package: baz',
        'Pin: suite bookworm',
        'Pin-Priority: 900',
        '',
        'Package: *',
        'Pin: version 1.0',
        'Pin-Priority: 900',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      pins.map((pin) => pin.packages),
      [['foo']],
    );
  });

  it('reads field names whatever their case, as apt does', () => {
    const pins = parse('package: foo\npin: version 1.0\npin-priority: 900\n');
    assert.deepEqual(
      pins.map((pin) => [pin.packages, pin.priority]),
      [[['foo'], 900]],
    );
  });

  it('refuses, in one line naming the file and record, what apt refuses', () => {
    const refused = (text: string, why: RegExp) =>
      assert.throws(
        () => parse(text),
        (error: unknown) =>
          error instanceof PreferencesError &&
          !error.message.includes('\n') &&
          error.message.startsWith(`${FILE}, record `) &&
          why.test(error.message),
        text,
      );
    refused('Pin: version 1.0\nPin-Priority: 900\n', /no Package header/);
    refused('Package: foo\nPin: version 1.0\n', /no priority \(or zero\)/);
    refused('Package: foo\nPin: version 1.0\nPin-Priority: 0\n', /no priority \(or zero\)/);
    refused('Package: foo\nPin: version 1.0\nPin-Priority: never\n', /never.*Package: \*/);
    refused('Package: foo\nPin: version 1.0\nPin-Priority: 40000\n', /outside -32768 to 32767/);
    refused('Package: foo\nPin: version 1.0\nPin-Priority: -40000\n', /outside -32768 to 32767/);
    refused('Package: foo\nPin: version 1.0\nPin-Priority: high\n', /no priority/);
  });

  it('names the preferences.d files apt reads: no extension or .pref, and only these characters', () => {
    assert.equal(isPreferencesPart('pulp'), true);
    assert.equal(isPreferencesPart('pulp.pref'), true);
    assert.equal(isPreferencesPart('pulp.conf'), false);
    assert.equal(isPreferencesPart('pulp.pref.dpkg-old'), false);
    assert.equal(isPreferencesPart('with space'), false);
  });

  it('finds APT::Default-Release in apt.conf, in both spellings', () => {
    assert.equal(defaultReleaseOf('APT::Default-Release "bookworm";\n'), 'bookworm');
    assert.equal(defaultReleaseOf('APT {\n  Default-Release "stable";\n};\n'), 'stable');
    assert.equal(defaultReleaseOf('APT::Install-Recommends "false";\n'), undefined);
    assert.equal(defaultReleaseOf('APT::Default-Release "";\n'), undefined);
  });
});
