import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { fillerStanzas, rewriteRelease } from '../../bench/respin/debian-sized-index.js';

describe("the respin bench's Debian-sized index", () => {
  it('renames every stanza and drops the fields through which apt or a bootstrap could pick it, continuation lines included', () => {
    const index = [
      'Package: libfoo1',
      'Version: 1.0-1',
      'Depends: libc6 (>= 2.34),',
      ' libbar2',
      'Provides: libfoo',
      'Essential: yes',
      'Priority: required',
      'Description: a library',
      ' with a long description',
      '',
      'Package: foo-utils',
      'Pre-Depends: dpkg',
      'Filename: pool/main/f/foo/foo-utils_1.0-1_amd64.deb',
      '',
    ].join('\n');
    assert.equal(
      fillerStanzas(index),
      [
        'Package: zz-filler-libfoo1',
        'Version: 1.0-1',
        'Description: a library',
        ' with a long description',
        '',
        'Package: zz-filler-foo-utils',
        'Filename: pool/main/f/foo/foo-utils_1.0-1_amd64.deb',
        '',
      ].join('\n'),
    );
  });

  it('puts right the hash and size of each rewritten file in every hash section, and leaves the others', () => {
    const release = [
      'Suite: bookworm',
      'MD5Sum:',
      ' 00000000000000000000000000000000      3 main/binary-amd64/Packages',
      ' 11111111111111111111111111111111     99 main/binary-amd64/Release',
      'SHA256:',
      ' 0000000000000000000000000000000000000000000000000000000000000000      3 main/binary-amd64/Packages',
      '',
    ].join('\n');
    const content = Buffer.from('Package: x\n\nPackage: zz-filler-y\n');
    const rewritten = rewriteRelease(release, new Map([['main/binary-amd64/Packages', content]]));
    const md5 = createHash('md5').update(content).digest('hex');
    const sha256 = createHash('sha256').update(content).digest('hex');
    assert.match(rewritten, new RegExp(`^ ${md5} +${content.length} main/binary-amd64/Packages$`, 'm'));
    assert.match(rewritten, new RegExp(`^ ${sha256} +${content.length} main/binary-amd64/Packages$`, 'm'));
    assert.match(rewritten, /^ 1{32} {5}99 main\/binary-amd64\/Release$/m);
    assert.match(rewritten, /^Suite: bookworm$/m);
  });
});
