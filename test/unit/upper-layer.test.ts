import assert from 'node:assert/strict';
import { createReadStream, linkSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createGunzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import { writeUpperLayer, type LayerBlob } from '../../src/engine/upper-layer.js';
import { runProcess } from '../../src/util/process.js';
import { readTar, type TarEntry } from '../../src/util/tar-stream.js';
import { temporaryDir } from '../helpers/files.js';

const LONG = `${'deep/'.repeat(25)}file-past-a-hundred-bytes`;
const MANY = Array.from({ length: 100 }, (_, index) => String(index).padStart(3, '0'));
const BIG = Buffer.alloc(3 * 1024 * 1024, 'big ');

async function run(command: string, args: string[]): Promise<string> {
  const ran = await runProcess(command, args, { captureStdout: true });
  assert.equal(ran.exitCode, 0, `${command} ${args.join(' ')}: ${ran.stderrTail.join('\n')}`);
  return ran.stdout;
}

/**
 * A real overlayfs (this host's kernel, as root): a lower folder, then changes made through the mount, so the
 * upper folder holds what overlayfs itself writes (whiteouts, an opaque folder, copied-up files).
 */
describe('a layer written from an overlayfs upper folder', () => {
  const dir = temporaryDir();
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((name) => join(dir, name)) as [
    string,
    string,
    string,
    string,
  ];
  let blob: LayerBlob;
  let entries: TarEntry[];

  before(async () => {
    for (const folder of [lower, upper, work, merged]) mkdirSync(folder);
    mkdirSync(join(lower, 'kept'));
    writeFileSync(join(lower, 'kept', 'changed'), 'old\n');
    writeFileSync(join(lower, 'kept', 'same'), 'same\n');
    writeFileSync(join(lower, 'deleted'), 'gone\n');
    mkdirSync(join(lower, 'remade'));
    writeFileSync(join(lower, 'remade', 'hidden'), 'hidden by the opaque mark\n');
    await run('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${lower},upperdir=${upper},workdir=${work}`,
      merged,
    ]);
    try {
      writeFileSync(join(merged, 'kept', 'changed'), 'new\n');
      rmSync(join(merged, 'deleted'));
      rmSync(join(merged, 'remade'), { recursive: true });
      mkdirSync(join(merged, 'remade'));
      writeFileSync(join(merged, 'remade', 'new'), 'new file in a remade folder\n');
      writeFileSync(join(merged, 'one'), 'two names, one file\n');
      linkSync(join(merged, 'one'), join(merged, 'other'));
      symlinkSync('kept/same', join(merged, 'link'));
      mkdirSync(join(merged, 'deep/'.repeat(25)), { recursive: true });
      writeFileSync(join(merged, LONG), 'long\n');
      writeFileSync(join(merged, 'pinger'), '#!/bin/sh\n', { mode: 0o755 });
      await run('setcap', ['cap_net_raw+ep', join(merged, 'pinger')]);
      // More small files than are read ahead at once, among more names of one file than that, and a file too
      // large to be read whole.
      mkdirSync(join(merged, 'many'));
      for (const index of MANY) {
        writeFileSync(join(merged, 'many', `file-${index}`), `file ${index}\n`);
        linkSync(join(merged, 'many', 'file-000'), join(merged, 'many', `name-${index}`));
      }
      writeFileSync(join(merged, 'big'), BIG);
    } finally {
      await run('umount', [merged]);
    }
    blob = await writeUpperLayer(upper, join(dir, 'layer.tar.gz'), { level: 1 });
    entries = [];
    await readTar(
      createReadStream(blob.file).pipe(createGunzip()),
      () => true,
      (entry) => entries.push(entry),
      { maxFileBytes: () => BIG.length },
    );
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('says a deleted file with a .wh. entry and a remade folder with the opaque mark', () => {
    const paths = entries.map((entry) => entry.path);
    assert.ok(paths.includes('.wh.deleted'));
    assert.ok(paths.includes('remade/.wh..wh..opq'));
    assert.ok(paths.includes('remade/new'));
    assert.ok(!paths.includes('deleted'));
    assert.ok(!paths.includes('kept/same'), 'a file only the lower folder holds is not in the layer');
    assert.ok(paths.indexOf('remade/') < paths.indexOf('remade/.wh..wh..opq'), 'the folder before its mark');
  });

  it('writes one file for two names of it, a link, and a path ustar cannot hold', () => {
    const byPath = new Map(entries.map((entry) => [entry.path, entry]));
    assert.equal(byPath.get('one')?.kind, 'file');
    assert.deepEqual([byPath.get('other')?.kind, byPath.get('other')?.linkTarget], ['hardlink', 'one']);
    assert.deepEqual([byPath.get('link')?.kind, byPath.get('link')?.linkTarget], ['symlink', 'kept/same']);
    assert.equal(byPath.get(LONG)?.kind, 'file');
  });

  it('writes every file whole: more small ones than are read ahead, their hard links, and a large one', () => {
    const byPath = new Map(entries.map((entry) => [entry.path, entry]));
    for (const index of MANY) {
      assert.equal(byPath.get(`many/file-${index}`)?.content?.toString(), `file ${index}\n`);
      const name = byPath.get(`many/name-${index}`);
      assert.deepEqual([name?.kind, name?.linkTarget], ['hardlink', 'many/file-000']);
    }
    assert.ok(byPath.get('big')?.content?.equals(BIG));
  });

  it('gives the digests of both forms', async () => {
    const gzip = readFileSync(blob.file);
    assert.equal(blob.digest, `sha256:${createHash('sha256').update(gzip).digest('hex')}`);
    assert.equal(blob.size, gzip.length);
    const tar = await run('sh', ['-c', `gzip -dc ${blob.file} | sha256sum`]);
    assert.equal(blob.diffId, `sha256:${tar.split(' ')[0]}`);
  });

  it('is read by GNU tar, contents and the file capability included', async () => {
    const out = join(dir, 'extracted');
    mkdirSync(out);
    await run('tar', ['--xattrs', '--xattrs-include=security.capability', '-xzf', blob.file, '-C', out]);
    assert.equal(readFileSync(join(out, 'kept', 'changed'), 'utf8'), 'new\n');
    assert.equal(readFileSync(join(out, LONG), 'utf8'), 'long\n');
    assert.match(await run('getcap', [join(out, 'pinger')]), /cap_net_raw[=+]ep/);
  });

  it('refuses to write over a file already there', async () => {
    await assert.rejects(writeUpperLayer(upper, blob.file), /EEXIST/);
  });
});
