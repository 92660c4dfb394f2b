import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEBCONF_STANZAS, DPKG_STANZAS, LINES, mergeState, ownPackageKeys } from '../../src/respin/state-merge.js';

const stanza = (name: string, version: string, arch = 'amd64') =>
  `Package: ${name}\nStatus: install ok installed\nArchitecture: ${arch}\nVersion: ${version}`;
const status = (...stanzas: string[]) => `${stanzas.join('\n\n')}\n\n`;

describe("a child's dpkg status merged onto its patched parent", () => {
  const before = status(stanza('libc6', '2.36-9'), stanza('tzdata', '2024a-0'));
  const after = status(stanza('libc6', '2.36-9+deb12u9'), stanza('tzdata', '2025b-0'), stanza('libnew1', '1.0-1'));

  it("holds the patched parent's entries and the child's own, each once", () => {
    const child = status(stanza('libc6', '2.36-9'), stanza('memcached', '1.6.18-1'), stanza('tzdata', '2024a-0'));
    assert.deepEqual(mergeState(before, after, child, DPKG_STANZAS), {
      merged: status(
        stanza('libc6', '2.36-9+deb12u9'),
        stanza('tzdata', '2025b-0'),
        stanza('libnew1', '1.0-1'),
        stanza('memcached', '1.6.18-1'),
      ),
    });
  });

  it('names a package by name and architecture: a foreign one is an entry of its own', () => {
    const child = status(stanza('libc6', '2.36-9'), stanza('tzdata', '2024a-0'), stanza('libc6', '2.36-9', 'i386'));
    const merged = mergeState(before, after, child, DPKG_STANZAS);
    assert.ok('merged' in merged);
    assert.match(merged.merged, /Architecture: i386\nVersion: 2\.36-9$/m);
    assert.equal(merged.merged.match(/^Package: libc6$/gm)?.length, 2);
  });

  it("is a conflict when the child changed or dropped one of its parent's entries that the patch changed", () => {
    const changed = status(stanza('libc6', '2.36-9+local1'), stanza('tzdata', '2024a-0'));
    assert.deepEqual(mergeState(before, after, changed, DPKG_STANZAS), {
      conflict: "the child changed its parent's entry libc6 amd64, which the parent's patch changed",
    });
    const dropped = status(stanza('libc6', '2.36-9'));
    assert.deepEqual(mergeState(before, after, dropped, DPKG_STANZAS), {
      conflict: "the child dropped its parent's entry tzdata amd64, which the parent's patch changed",
    });
  });

  it("keeps the child's change or removal of a parent's entry the patch left as it was", () => {
    const parentBefore = status(stanza('libc6', '2.36-9'), stanza('tzdata', '2024a-0'), stanza('less', '590-2'));
    const patched = status(stanza('libc6', '2.36-9+deb12u9'), stanza('tzdata', '2024a-0'), stanza('less', '590-2'));
    const child = status(stanza('libc6', '2.36-9'), stanza('tzdata', '2024a-0+local1'));
    assert.deepEqual(mergeState(parentBefore, patched, child, DPKG_STANZAS), {
      merged: status(stanza('libc6', '2.36-9+deb12u9'), stanza('tzdata', '2024a-0+local1')),
    });
  });

  it('is a conflict when the patch brought in, at another version, a package the child installed itself', () => {
    const child = status(stanza('libc6', '2.36-9'), stanza('tzdata', '2024a-0'), stanza('libnew1', '0.9-1'));
    assert.deepEqual(mergeState(before, after, child, DPKG_STANZAS), {
      conflict: 'the patched parent has libnew1 amd64 otherwise',
    });
  });

  it("reads an absent file as empty: a child's first state file takes the patched parent's entries", () => {
    const child = status(stanza('memcached', '1.6.18-1'));
    assert.deepEqual(mergeState('', after, child, DPKG_STANZAS), {
      merged: `${after}${status(stanza('memcached', '1.6.18-1'))}`,
    });
  });

  it("names the child's own packages: the entries its parent does not have", () => {
    const child = status(stanza('libc6', '2.36-9'), stanza('memcached', '1.6.18-1'), stanza('tzdata', '2024a-0'));
    assert.deepEqual(ownPackageKeys(before, child), ['memcached amd64']);
  });
});

describe('other state merged the same way', () => {
  it('debconf questions by Name', () => {
    const question = (name: string, value: string) => `Name: ${name}\nTemplate: ${name}\nValue: ${value}\nOwners: x`;
    const before = status(question('tzdata/Areas', 'Etc'));
    const after = status(question('tzdata/Areas', 'Etc'), question('tzdata/Zones/Etc', 'UTC'));
    const child = status(question('tzdata/Areas', 'Etc'), question('memcached/x', 'y'));
    assert.deepEqual(mergeState(before, after, child, DEBCONF_STANZAS), {
      merged: status(
        question('tzdata/Areas', 'Etc'),
        question('tzdata/Zones/Etc', 'UTC'),
        question('memcached/x', 'y'),
      ),
    });
  });

  it("dpkg's trigger interests line by line", () => {
    assert.deepEqual(
      mergeState(
        '/usr/lib/x86_64-linux-gnu libc-bin\n',
        '/usr/lib/x86_64-linux-gnu libc-bin\n/usr/share/a a\n',
        '/usr/lib/x86_64-linux-gnu libc-bin\n/usr/share/b b\n',
        LINES,
      ),
      { merged: '/usr/lib/x86_64-linux-gnu libc-bin\n/usr/share/a a\n/usr/share/b b\n' },
    );
  });
});
