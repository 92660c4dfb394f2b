import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { excludedByDpkg, parsePathFilters, parseVerify } from '../../bench/respin/verified-files.js';

describe("the respin bench's reading of dpkg --verify", () => {
  it('keeps each file with its word: missing, or the flags with c for a conffile', () => {
    const output = [
      '??5?????? c /etc/adduser.conf',
      'missing     /usr/share/doc/apt/changelog.gz',
      '??5??????   /usr/lib/python3/dist-packages/x.py',
      'dpkg: warning: unable to open /var/lib/dpkg/info/x.md5sums',
      '',
    ].join('\n');
    assert.deepEqual(
      [...parseVerify(output)],
      [
        ['/etc/adduser.conf', '??5?????? c'],
        ['/usr/share/doc/apt/changelog.gz', 'missing'],
        ['/usr/lib/python3/dist-packages/x.py', '??5??????'],
      ],
    );
  });

  it('finds nothing in a clean image', () => {
    assert.equal(parseVerify('').size, 0);
  });
});

describe("the respin bench's reading of dpkg's path filters", () => {
  const filters = parsePathFilters(
    [
      'path-exclude=/usr/share/doc/*',
      'path-include=/usr/share/doc/*/copyright',
      'path-exclude=/usr/share/locale/*',
    ].join('\n'),
  );

  it('leaves out what a later line does not take back in, with * crossing folders as fnmatch does', () => {
    assert.equal(excludedByDpkg('/usr/share/doc/apt/examples/apt.conf', filters), true);
    assert.equal(excludedByDpkg('/usr/share/locale/is/LC_MESSAGES/apt.mo', filters), true);
    assert.equal(excludedByDpkg('/usr/share/doc/apt/copyright', filters), false);
    assert.equal(excludedByDpkg('/usr/bin/apt', filters), false);
    assert.equal(excludedByDpkg('/usr/share/docs/x', filters), false);
  });
});
