import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { recordedDeletions, restoreDeletions } from '../../src/engine/layer-whiteouts.js';
import { runProcess } from '../../src/util/process.js';
import { temporaryDir } from '../helpers/files.js';

/** A ustar header as containers-storage writes one for a deletion: an empty file `.wh.<name>`, maybe a link name. */
function header(name: string, mtime: number, linkname = ''): Buffer {
  const block = Buffer.alloc(512);
  const put = (text: string, offset: number) => block.write(text, offset, 'latin1');
  put(name, 0);
  put('0000000\0', 100);
  put('0000000\0', 108);
  put('0000000\0', 116);
  put('00000000000\0', 124);
  put(`${mtime.toString(8).padStart(11, '0')}\0`, 136);
  put('        ', 148);
  put('0', 156);
  put(linkname, 157);
  put('ustar\x0000', 257);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return block;
}

/** The store's record of a layer's tar: the bytes between files, then each file, one JSON line each. */
function tarSplit(entries: Array<{ name: string; header: Buffer }>): Buffer {
  const lines = entries.flatMap(({ name, header: bytes }, position) => [
    JSON.stringify({ type: 2, payload: bytes.toString('base64'), position: 2 * position }),
    JSON.stringify({ type: 1, name, payload: null, position: 2 * position + 1 }),
  ]);
  return gzipSync(`${lines.join('\n')}\n`);
}

const LOCK_TIME = 1_796_630_125;

function storeWithLayer(layerId: string): string {
  const graphRoot = temporaryDir();
  mkdirSync(join(graphRoot, 'overlay-layers'), { recursive: true });
  const lists = 'var/lib/apt/lists';
  const split = tarSplit([
    { name: `${lists}/`, header: header(`${lists}/`, LOCK_TIME + 3) },
    { name: `${lists}/.wh.lock`, header: header(`${lists}/.wh.lock`, LOCK_TIME) },
    { name: `${lists}/.wh.partial`, header: header(`${lists}/.wh.partial`, LOCK_TIME, `${lists}/lock`) },
    { name: 'etc/.wh..wh..opq', header: header('etc/.wh..wh..opq', LOCK_TIME + 9) },
    { name: 'etc/motd', header: header('etc/motd', LOCK_TIME + 9) },
  ]);
  writeFileSync(join(graphRoot, 'overlay-layers', `${layerId}.tar-split.gz`), split);
  return graphRoot;
}

describe("a carried layer's deletions, as its tar recorded them", () => {
  it('reads each deletion with its time and the earlier deletion it links; opaque marks and files are not deletions', async () => {
    const graphRoot = storeWithLayer('layer1');
    assert.deepEqual(await recordedDeletions(graphRoot, 'layer1'), [
      { path: 'var/lib/apt/lists/lock', mtime: LOCK_TIME },
      { path: 'var/lib/apt/lists/partial', mtime: LOCK_TIME, linkOf: 'var/lib/apt/lists/lock' },
    ]);
    assert.deepEqual(await recordedDeletions(graphRoot, 'made-by-the-store-itself'), []);
  });

  it(
    'gives the copies their recorded times and links, their folder its own time, and leaves the original untouched',
    { skip: process.getuid?.() === 0 ? false : 'making a device (a deletion in overlayfs form) takes root' },
    async () => {
      const [from, to] = [temporaryDir(), temporaryDir()];
      const lists = join(from, 'var/lib/apt/lists');
      mkdirSync(lists, { recursive: true });
      for (const name of ['lock', 'partial']) {
        const made = await runProcess('mknod', [join(lists, name), 'c', '0', '0']);
        assert.equal(made.exitCode, 0, made.stderrTail.join('\n'));
      }
      utimesSync(lists, LOCK_TIME + 3, LOCK_TIME + 3);
      const copied = await runProcess('cp', ['-a', '--link', '--', `${from}/.`, to]);
      assert.equal(copied.exitCode, 0, copied.stderrTail.join('\n'));
      const extracted = new Map(['lock', 'partial'].map((name) => [name, lstatSync(join(lists, name)).mtimeMs]));

      const graphRoot = storeWithLayer('layer1');
      await restoreDeletions(from, to, await recordedDeletions(graphRoot, 'layer1'));

      const lock = lstatSync(join(to, 'var/lib/apt/lists/lock'));
      const partial = lstatSync(join(to, 'var/lib/apt/lists/partial'));
      assert.ok(lock.isCharacterDevice() && partial.isCharacterDevice());
      assert.equal(lock.mtimeMs, LOCK_TIME * 1000);
      assert.equal(partial.ino, lock.ino, 'the later deletion is a link of the earlier, as in the tar');
      assert.equal(lstatSync(join(to, 'var/lib/apt/lists')).mtimeMs, (LOCK_TIME + 3) * 1000);
      for (const name of ['lock', 'partial']) {
        const original = lstatSync(join(lists, name));
        assert.equal(original.mtimeMs, extracted.get(name), `the original ${name} keeps its time`);
        assert.equal(original.nlink, 1, `the original ${name} is no copy's link`);
      }
    },
  );
});
