import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { layerChanges } from '../../src/respin/layer-changes.js';
import { mergeOntoPatchedParent } from '../../src/respin/onto-patched-parent.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

/** overlayfs's deletion of a path in a layer folder: a character device 0:0 (making one needs root). */
function whiteout(dir: string, path: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  const made = spawnSync('mknod', [join(dir, path), 'c', '0', '0']);
  assert.equal(made.status, 0, String(made.stderr));
}

const asRoot = process.getuid?.() === 0 ? {} : { skip: 'making overlayfs whiteouts needs root' };
const stanza = (name: string, version: string) => `Package: ${name}\nArchitecture: amd64\nVersion: ${version}`;
const STATUS = 'var/lib/dpkg/status';

/**
 * A parent before and after its patch (tzdata moved; the patch deleted usr/share/locale/is, whose last file
 * tzdata's new version stopped shipping), the patch's layer folder, and a child's own layer folder (memcached,
 * whose list names usr/share/locale/is); `root` is the child's layer over the patched parent, as stacked.
 */
function stackedTree(childFiles: Record<string, string> = {}, patchedX = 'x after\n') {
  const dir = temporaryDir('ci-builder-onto-');
  const before = writeTree(join(dir, 'before'), {
    [STATUS]: `${stanza('tzdata', '2024a-0')}\n\n`,
    'etc/x': 'x before\n',
  });
  mkdirSync(join(before, 'usr/share/locale/is'), { recursive: true });
  chmodSync(join(before, 'usr/share/locale/is'), 0o750);
  const after = writeTree(join(dir, 'after'), { [STATUS]: `${stanza('tzdata', '2025b-0')}\n\n`, 'etc/x': patchedX });
  mkdirSync(join(after, 'usr/share/locale'), { recursive: true });
  const patch = writeTree(join(dir, 'patch'), { [STATUS]: `${stanza('tzdata', '2025b-0')}\n\n`, 'etc/x': patchedX });
  whiteout(patch, 'usr/share/locale/is');
  const own = writeTree(join(dir, 'own'), {
    [STATUS]: `${stanza('tzdata', '2024a-0')}\n\n${stanza('memcached', '1.6.18-1')}\n\n`,
    'var/lib/dpkg/info/memcached.list':
      '/.\n/usr\n/usr/bin\n/usr/bin/memcached\n/usr/share/locale\n/usr/share/locale/is\n',
    'usr/bin/memcached': 'binary',
    ...childFiles,
  });
  const root = join(dir, 'root');
  cpSync(after, root, { recursive: true });
  cpSync(own, root, { recursive: true, force: true });
  return { root, before, after, layers: { own: [own], ontoDiffering: [patch] } };
}

describe("a child's own layer merged onto its patched parent", asRoot, () => {
  it("reads a layer folder's changes: folders, what it writes, and overlayfs's deletions", async () => {
    const { layers } = stackedTree();
    const changes = await layerChanges(layers.ontoDiffering);
    assert.equal(changes.get('usr/share/locale/is'), 'deleted');
    assert.equal(changes.get('etc/x'), 'written');
    assert.equal(changes.get('usr/share/locale'), 'dir');
  });

  it("merges dpkg's status and puts back the folder the patch deleted that the child's package lists", async () => {
    const { root, before, after, layers } = stackedTree();
    assert.deepEqual(await mergeOntoPatchedParent(root, layers, { before, after }), { ok: true, value: undefined });
    assert.equal(
      readFileSync(join(root, STATUS), 'utf8'),
      `${stanza('tzdata', '2025b-0')}\n\n${stanza('memcached', '1.6.18-1')}\n\n`,
    );
    assert.ok(existsSync(join(root, 'usr/share/locale/is')));
    assert.equal(statSync(join(root, 'usr/share/locale/is')).mode & 0o777, 0o750);
    assert.equal(readFileSync(join(root, 'etc/x'), 'utf8'), 'x after\n');
  });

  it("refuses a child whose layer rewrote a file the parent's patch changed", async () => {
    const { root, before, after, layers } = stackedTree({ 'etc/x': 'x by the child\n' });
    assert.deepEqual(await mergeOntoPatchedParent(root, layers, { before, after }), {
      ok: false,
      failure: "its own layer changes what its parent's patch changed: /etc/x",
    });
  });

  it("keeps the child's copy of a file the parent's patch wrote back as it was (pam-auth-update's files)", async () => {
    const { root, before, after, layers } = stackedTree({ 'etc/x': 'x by the child\n' }, 'x before\n');
    assert.equal((await mergeOntoPatchedParent(root, layers, { before, after })).ok, true);
    assert.equal(readFileSync(join(root, 'etc/x'), 'utf8'), 'x by the child\n');
  });

  it('takes a file both wrote the same as no collision (apt sources put back to the same text)', async () => {
    const { root, before, after, layers } = stackedTree({ 'etc/x': 'x after\n' });
    assert.equal((await mergeOntoPatchedParent(root, layers, { before, after })).ok, true);
  });

  it('refuses to follow a symbolic link out of the image: nothing on the host is written', async () => {
    const { root, before, after, layers } = stackedTree();
    const host = writeTree(temporaryDir('ci-builder-host-'), { status: 'the host file\n' });
    rmSync(join(root, 'var/lib/dpkg'), { recursive: true });
    symlinkSync(host, join(root, 'var/lib/dpkg'));
    const merged = await mergeOntoPatchedParent(root, layers, { before, after });
    assert.deepEqual(merged, {
      ok: false,
      failure: 'its layers cannot be merged: /var/lib/dpkg/status passes through a symbolic link',
    });
    assert.equal(readFileSync(join(host, 'status'), 'utf8'), 'the host file\n');
  });

  it("refuses a child that changed a dpkg entry its parent's patch changed too", async () => {
    const { root, before, after, layers } = stackedTree({ [STATUS]: `${stanza('tzdata', '2024a-0+local')}\n\n` });
    assert.deepEqual(await mergeOntoPatchedParent(root, layers, { before, after }), {
      ok: false,
      failure:
        "/var/lib/dpkg/status: the child changed its parent's entry tzdata amd64, which the parent's patch changed",
    });
  });
});
