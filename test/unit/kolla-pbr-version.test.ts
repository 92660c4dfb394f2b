import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  briefVersion,
  compareVersions,
  incrementVersion,
  parsePipVersion,
  semVerBump,
  versionTagsOfLogLine,
} from '../../src/kolla/pbr-version.js';

const brief = (text: string): string | null => {
  const version = parsePipVersion(text);
  return version === null ? null : briefVersion(version);
};

describe('pbr version rules', () => {
  it('reads releases, pre-releases, dev counts and short forms', () => {
    assert.equal(brief('22.0.0'), '22.0.0');
    assert.equal(brief('v1.2'), '1.2.0');
    assert.equal(brief('22.0.0.0rc1'), '22.0.0');
    assert.equal(brief('1.2rc1'), '1.2.0');
    assert.equal(brief('18.8.1.dev15'), '18.8.1');
    assert.deepEqual(parsePipVersion('22.0.0.0rc1'), {
      major: 22,
      minor: 0,
      patch: 0,
      prereleaseType: 'rc',
      prerelease: 1,
      devCount: 0,
    });
    assert.equal(parsePipVersion('1.2.3.4')?.devCount, 4);
    assert.equal(brief('1.2.3.post2'), '1.2.4', 'a post release is a dev build of the next patch');
  });

  it('refuses what pbr refuses: eol tags, names, bare zero pieces', () => {
    for (const text of ['2024.1.eom', 'zed.eol', 'abc', '1.2.3.0', '1.2.3.foo', '1.2.3.dev1.post1']) {
      assert.equal(parsePipVersion(text), null, text);
    }
  });

  it('orders dev builds before pre-releases before the release', () => {
    const sorted = ['1.0.0', '1.0.0.0rc1', '1.0.0.0b2', '1.0.0.dev3', '0.9.9', '1.0.0.0rc1.dev2']
      .map((text) => ({ text, version: parsePipVersion(text)! }))
      .sort((a, b) => compareVersions(a.version, b.version))
      .map((entry) => entry.text);
    assert.deepEqual(sorted, ['0.9.9', '1.0.0.dev3', '1.0.0.0b2', '1.0.0.0rc1.dev2', '1.0.0.0rc1', '1.0.0']);
  });

  it("bumps a release's patch, a pre-release's serial, and minor or major on Sem-Ver trailers", () => {
    const next = (text: string, messages = '') =>
      briefVersion(incrementVersion(parsePipVersion(text)!, semVerBump(messages)));
    assert.equal(next('20.4.0'), '20.4.1');
    assert.equal(next('22.0.0.0rc1'), '22.0.0');
    assert.equal(next('22.0.0.0rc1', 'fix\n\nSem-Ver: feature\n'), '22.1.0');
    assert.equal(next('1.2.3', 'x\n  sem-ver: Bugfix, API-Break\n'), '2.0.0');
    assert.equal(next('1.2.3', 'Sem-Ver: deprecation'), '1.3.0');
  });

  it('takes version tags from a decorated log line, dashes read as dots, others ignored', () => {
    assert.deepEqual(versionTagsOfLogLine(' (HEAD -> master, tag: refs/tags/2024.1-eom, tag: refs/tags/18.8.0)'), [
      '18.8.0',
    ]);
    assert.deepEqual(versionTagsOfLogLine(' (tag: refs/tags/1.0.0-rc1, refs/heads/x)'), ['1.0.0.rc1']);
    assert.deepEqual(versionTagsOfLogLine(' (HEAD -> refs/heads/main)'), []);
    assert.deepEqual(versionTagsOfLogLine(''), []);
  });
});
