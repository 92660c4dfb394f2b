import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { compareDpkgVersions } from '../../src/scan/dpkg-version.js';
import { comparePep440Versions } from '../../src/scan/pep440-version.js';
import { compareRpmVersions, rpmvercmp } from '../../src/scan/rpm-version.js';

const sign = (value: number) => Math.sign(value);
const hasCommand = (command: string, args: string[]) => spawnSync(command, args).status === 0;

describe('dpkg version order (Debian Policy 5.6.12)', () => {
  it('sorts the tilde examples: ~~ < ~~a < ~ < the empty part < a', () => {
    const ordered = ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0a'];
    for (let i = 0; i < ordered.length - 1; i++) {
      const [a = '', b = ''] = [ordered[i], ordered[i + 1]];
      assert.equal(sign(compareDpkgVersions(a, b)), -1, `${a} < ${b}`);
      assert.equal(sign(compareDpkgVersions(ordered[i + 1] ?? '', ordered[i] ?? '')), 1);
    }
  });

  const cases: Array<[string, string, number]> = [
    ['1.0~rc1', '1.0', -1],
    ['1.0', '1.0+b1', -1],
    ['1.0a', '1.0+b1', -1], // a letter sorts before a non-letter (dpkg agrees)
    ['1:0.1', '9.9', 1], // an epoch outranks everything after it
    ['0:1.0', '1.0', 0], // no epoch is epoch 0
    ['1.0-1', '1.0-0', 1],
    ['1.0', '1.0-0', 0], // an absent revision equals "0"
    ['2.30-1', '2.4-1', 1], // digit runs compare as numbers
    ['1.002', '1.2', 0], // leading zeros do not count
    ['1.0-1~bpo1', '1.0-1', -1],
    ['3.0.11-1~deb12u2', '3.0.11-1~deb12u3', -1],
    ['7.88.1-10+deb12u5', '7.88.1-10+deb12u12', -1],
    ['1.2-3-4', '1.2-3-5', -1], // the revision follows the last hyphen
    ['1.0.', '1.0', 1], // a non-letter sorts after the end
    ['a', '+', -1], // letters before other characters
  ];
  for (const [a, b, expected] of cases) {
    it(`${a} vs ${b} is ${expected}`, () => assert.equal(sign(compareDpkgVersions(a, b)), expected));
  }

  const noDpkg = !hasCommand('dpkg', ['--version']) && 'no dpkg here';
  it('agrees with dpkg --compare-versions on every pair of a mixed list', { skip: noDpkg }, () => {
    const versions = [
      '1.0~~',
      '1.0~',
      '1.0',
      '1.0-1',
      '1:0.9',
      '1.0+dfsg-2',
      '1.0a',
      '1.0.1~rc1',
      '2.36-9+deb12u4',
      '2.36-9+deb12u10',
      '0.9z',
      '10',
      '9',
      '1.0-1ubuntu0.1',
    ];
    for (const a of versions) {
      for (const b of versions) {
        const ours = sign(compareDpkgVersions(a, b));
        const lt = spawnSync('dpkg', ['--compare-versions', a, 'lt', b]).status === 0;
        const eq = spawnSync('dpkg', ['--compare-versions', a, 'eq', b]).status === 0;
        assert.equal(ours, lt ? -1 : eq ? 0 : 1, `${a} vs ${b}`);
      }
    }
  });
});

/** rpmvercmp's documented cases (as in rpm's test suite), written out as one table. */
const RPM_CASES: Array<[string, string, number]> = [
  ['1.0', '1.0', 0],
  ['1.0', '2.0', -1],
  ['2.0', '1.0', 1],
  ['2.0.1', '2.0.1', 0],
  ['2.0', '2.0.1', -1],
  ['2.0.1', '2.0', 1],
  ['2.0.1a', '2.0.1a', 0],
  ['2.0.1a', '2.0.1', 1],
  ['2.0.1', '2.0.1a', -1],
  ['5.5p1', '5.5p1', 0],
  ['5.5p1', '5.5p2', -1],
  ['5.5p2', '5.5p1', 1],
  ['5.5p10', '5.5p10', 0],
  ['5.5p1', '5.5p10', -1],
  ['5.5p10', '5.5p1', 1],
  ['10xyz', '10.1xyz', -1],
  ['10.1xyz', '10xyz', 1],
  ['xyz10', 'xyz10', 0],
  ['xyz10', 'xyz10.1', -1],
  ['xyz10.1', 'xyz10', 1],
  ['xyz.4', 'xyz.4', 0],
  ['xyz.4', '8', -1],
  ['8', 'xyz.4', 1],
  ['xyz.4', '2', -1],
  ['2', 'xyz.4', 1],
  ['5.5p2', '5.6p1', -1],
  ['5.6p1', '5.5p2', 1],
  ['5.6p1', '6.5p1', -1],
  ['6.5p1', '5.6p1', 1],
  ['6.0.rc1', '6.0', 1],
  ['6.0', '6.0.rc1', -1],
  ['10b2', '10a1', 1],
  ['10a2', '10b2', -1],
  ['1.0aa', '1.0aa', 0],
  ['1.0a', '1.0aa', -1],
  ['1.0aa', '1.0a', 1],
  ['10.0001', '10.0001', 0],
  ['10.0001', '10.1', 0],
  ['10.1', '10.0001', 0],
  ['10.0001', '10.0039', -1],
  ['10.0039', '10.0001', 1],
  ['4.999.9', '5.0', -1],
  ['5.0', '4.999.9', 1],
  ['20101121', '20101121', 0],
  ['20101121', '20101122', -1],
  ['20101122', '20101121', 1],
  ['2_0', '2_0', 0],
  ['2.0', '2_0', 0],
  ['2_0', '2.0', 0],
  ['a', 'a', 0],
  ['a+', 'a+', 0],
  ['a+', 'a_', 0],
  ['a_', 'a+', 0],
  ['+a', '+a', 0],
  ['+a', '_a', 0],
  ['_a', '+a', 0],
  ['+_', '+_', 0],
  ['_+', '+_', 0],
  ['_+', '_+', 0],
  ['+', '_', 0],
  ['_', '+', 0],
  ['1.0~rc1', '1.0~rc1', 0],
  ['1.0~rc1', '1.0', -1],
  ['1.0', '1.0~rc1', 1],
  ['1.0~rc1', '1.0~rc2', -1],
  ['1.0~rc2', '1.0~rc1', 1],
  ['1.0~rc1~git123', '1.0~rc1~git123', 0],
  ['1.0~rc1~git123', '1.0~rc1', -1],
  ['1.0~rc1', '1.0~rc1~git123', 1],
  ['1.0^', '1.0^', 0],
  ['1.0^', '1.0', 1],
  ['1.0', '1.0^', -1],
  ['1.0^git1', '1.0^git1', 0],
  ['1.0^git1', '1.0', 1],
  ['1.0', '1.0^git1', -1],
  ['1.0^git1', '1.0^git2', -1],
  ['1.0^git2', '1.0^git1', 1],
  ['1.0^git1', '1.01', -1],
  ['1.01', '1.0^git1', 1],
  ['1.0^20160101', '1.0^20160101', 0],
  ['1.0^20160101', '1.0.1', -1],
  ['1.0.1', '1.0^20160101', 1],
  ['1.0^20160101^git1', '1.0^20160101^git1', 0],
  ['1.0^20160102', '1.0^20160101^git1', 1],
  ['1.0^20160101^git1', '1.0^20160102', -1],
  ['1.0~rc1^git1', '1.0~rc1^git1', 0],
  ['1.0~rc1^git1', '1.0~rc1', 1],
  ['1.0~rc1', '1.0~rc1^git1', -1],
  ['1.0^git1~pre', '1.0^git1~pre', 0],
  ['1.0^git1', '1.0^git1~pre', 1],
  ['1.0^git1~pre', '1.0^git1', -1],
];

describe('rpm version order (rpmvercmp)', () => {
  it('gives every documented case its result', () => {
    const wrong = RPM_CASES.filter(([a, b, expected]) => rpmvercmp(a, b) !== expected).map(
      ([a, b, expected]) => `${a} vs ${b}: ${rpmvercmp(a, b)} not ${expected}`,
    );
    assert.deepEqual(wrong, []);
  });

  const noRpm = !hasCommand('rpm', ['--version']) && 'no rpm here (apt-get install rpm)';
  it('agrees with rpm 4.18 itself on the same table', { skip: noRpm }, () => {
    const script = RPM_CASES.map(([a, b]) => `print(rpm.vercmp('${a}','${b}')..' ')`).join(' ');
    const result = spawnSync('rpm', ['--eval', `%{lua:${script}}`], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(
      result.stdout.trim().split(/\s+/).map(Number),
      RPM_CASES.map(([, , expected]) => expected),
    );
  });

  it('compares epoch, then version, then release', () => {
    assert.equal(compareRpmVersions('1:1.0-1.el9', '2.0-1.el9'), 1);
    assert.equal(compareRpmVersions('3.0.7-27.el9', '3.0.7-28.el9'), -1);
    assert.equal(compareRpmVersions('3.0.7-27.el9_4', '3.0.7-27.el9'), 1);
    assert.equal(compareRpmVersions('0:3.0.7-27.el9', '3.0.7-27.el9'), 0);
    assert.equal(compareRpmVersions('3.0.7', '3.0.7-27.el9'), 0, 'a missing release matches any');
  });
});

describe('Python version order (PEP 440)', () => {
  const ordered = [
    '1.0.dev0',
    '1.0a1',
    '1.0a2.dev1',
    '1.0a2',
    '1.0b1',
    '1.0rc1',
    '1.0',
    '1.0.post1.dev1',
    '1.0.post1',
    '1.0.1',
    '1.1',
    '2!0.1',
  ];
  it('sorts the PEP 440 phases', () => {
    for (let i = 0; i < ordered.length - 1; i++) {
      const [a = '', b = ''] = [ordered[i], ordered[i + 1]];
      assert.equal(comparePep440Versions(a, b), -1, `${a} < ${b}`);
    }
  });
  it('treats spellings as equal', () => {
    assert.equal(comparePep440Versions('1.0', '1.0.0'), 0);
    assert.equal(comparePep440Versions('1.0-alpha1', '1.0a1'), 0);
    assert.equal(comparePep440Versions('1.0-1', '1.0.post1'), 0);
    assert.equal(comparePep440Versions('2.31.0', '2.4.0'), 1);
  });
});
