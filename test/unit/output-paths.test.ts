import assert from 'node:assert/strict';
import { chmodSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeBuildContext } from '../../src/render/context.js';
import { LogFilesReporter } from '../../src/report/log-files.js';
import { writeFileAtomic } from '../../src/util/atomic-write.js';
import { UsageError } from '../../src/util/errors.js';
import { checkOutputDir, checkOutputFile } from '../../src/util/output-path.js';
import { followLinks, replaceFile } from '../../src/util/replace-file.js';
import { temporaryDir } from '../helpers/files.js';

const refused = (pattern: RegExp) => (error: unknown) => error instanceof UsageError && pattern.test(error.message);

describe('output paths are checked before any work', () => {
  it('accepts an existing folder and one still to be created, returning it absolute', () => {
    const dir = temporaryDir();
    assert.equal(checkOutputDir(dir, '--out'), dir);
    assert.equal(checkOutputDir(join(dir, 'a/b/c'), '--out'), join(dir, 'a/b/c'));
    assert.equal(checkOutputFile(join(dir, 'new/file.yml'), '--output'), join(dir, 'new/file.yml'));
  });

  it('refuses kernel file systems, also reached through a link', () => {
    assert.throws(
      () => checkOutputDir('/proc/ci-builder/run', '--run-dir'),
      refused(/^--run-dir \/proc\/ci-builder\/run: is in \/proc, a kernel file system/),
    );
    assert.throws(() => checkOutputDir('/proc', '--run-dir'), refused(/is in \/proc/));
    assert.throws(() => checkOutputDir('/sys/x', '--out'), refused(/is in \/sys/));
    assert.throws(() => checkOutputFile('/dev/null', '--output'), refused(/is in \/dev/));
    assert.throws(() => checkOutputFile('/proc/self/environ', '--output'), refused(/is in \/proc/));
    const dir = temporaryDir();
    symlinkSync('/proc/self', join(dir, 'link'));
    assert.throws(() => checkOutputDir(join(dir, 'link/x'), '--out'), refused(/is in \/proc/));
    assert.throws(() => checkOutputFile(join(dir, 'link/x'), '--output'), refused(/is in \/proc/));
  });

  it('refuses a path under a file, and a folder where a file is to be written', () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, 'plain'), '');
    const notAFolder = refused(new RegExp(`${join(dir, 'plain')} is not a folder$`));
    assert.throws(() => checkOutputDir(join(dir, 'plain/run'), '--run-dir'), notAFolder);
    assert.throws(() => checkOutputDir(join(dir, 'plain'), '--run-dir'), refused(/is not a folder$/));
    assert.throws(() => checkOutputFile(join(dir, 'plain/x/y.yml'), '--output'), refused(/plain is not a folder$/));
    assert.throws(() => checkOutputFile(dir, '--output'), refused(/is a folder, not a file$/));
  });

  const asRoot = process.getuid?.() === 0 && 'root may write any folder; the CLI test covers it as nobody';
  it('refuses a folder that is not writable', { skip: asRoot }, () => {
    const dir = temporaryDir();
    mkdirSync(join(dir, 'locked'), { mode: 0o555 });
    const locked = refused(/locked is not writable \(EACCES\)$/);
    assert.throws(() => checkOutputDir(join(dir, 'locked/run'), '--run-dir'), locked);
  });
});

describe('writes never follow a link they did not mean to', () => {
  it('writeFileAtomic replaces a link at the destination instead of writing where it points', async () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, 'elsewhere'), 'untouched\n');
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'summary.json'));
    await writeFileAtomic(join(dir, 'summary.json'), '{}\n');
    assert.equal(readFileSync(join(dir, 'elsewhere'), 'utf8'), 'untouched\n');
    assert.ok(lstatSync(join(dir, 'summary.json')).isFile());
    assert.equal(readFileSync(join(dir, 'summary.json'), 'utf8'), '{}\n');
    assert.deepEqual(readdirSync(dir).sort(), ['elsewhere', 'summary.json'], 'no temporary file left');
  });

  it('writeFileAtomic sets the mode exactly, whatever the umask', async () => {
    const dir = temporaryDir();
    await writeFileAtomic(join(dir, 'private'), 'x', 0o600);
    await writeFileAtomic(join(dir, 'script'), 'x', 0o775);
    assert.equal(statSync(join(dir, 'private')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'script')).mode & 0o777, 0o775);
  });

  it("a run's logs replace a planted link instead of appending to its target", async () => {
    const runDir = temporaryDir();
    mkdirSync(join(runDir, 'logs'));
    writeFileSync(join(runDir, 'target'), 'untouched\n');
    symlinkSync(join(runDir, 'target'), join(runDir, 'build.log'));
    symlinkSync(join(runDir, 'target'), join(runDir, 'logs/leaf.log'));
    const logs = new LogFilesReporter(runDir);
    logs.handle({ at: 'now', type: 'image', reason: 'log', name: 'leaf', line: 'a line' });
    await logs.close();
    assert.equal(readFileSync(join(runDir, 'target'), 'utf8'), 'untouched\n');
    for (const log of ['build.log', 'logs/leaf.log']) assert.ok(lstatSync(join(runDir, log)).isFile(), log);
    assert.equal(readFileSync(join(runDir, 'logs/leaf.log'), 'utf8'), 'a line\n');
    const again = new LogFilesReporter(runDir);
    again.handle({ at: 'now', type: 'image', reason: 'log', name: 'leaf', line: 'another' });
    await again.close();
    const appended = readFileSync(join(runDir, 'logs/leaf.log'), 'utf8');
    assert.equal(appended, 'a line\nanother\n', 'a plain log is appended to');
  });

  it("a run's logs folder replaces a planted link to another folder", async () => {
    const runDir = temporaryDir();
    const elsewhere = temporaryDir();
    symlinkSync(elsewhere, join(runDir, 'logs'));
    const logs = new LogFilesReporter(runDir);
    logs.handle({ at: 'now', type: 'image', reason: 'log', name: 'leaf', line: 'a line' });
    await logs.close();
    assert.deepEqual(readdirSync(elsewhere), []);
    assert.ok(lstatSync(join(runDir, 'logs')).isDirectory());
    assert.equal(readFileSync(join(runDir, 'logs/leaf.log'), 'utf8'), 'a line\n');
  });
});

describe('rendering into an --out folder', () => {
  it('replaces links planted where the Dockerfile and context files go', async () => {
    const out = temporaryDir();
    const source = join(temporaryDir(), 'start.sh');
    writeFileSync(source, '#!/bin/sh\n');
    mkdirSync(join(out, 'leaf'));
    writeFileSync(join(out, 'victim'), 'untouched\n');
    const names = ['Dockerfile', 'start.sh', 'inline.conf'];
    for (const name of names) symlinkSync(join(out, 'victim'), join(out, 'leaf', name));
    await writeBuildContext(join(out, 'leaf'), 'FROM base\n', [
      { path: 'start.sh', file: source, executable: false, identity: 'sha256:0' },
      { path: 'inline.conf', content: Buffer.from('x = 1\n'), executable: false },
    ]);
    assert.equal(readFileSync(join(out, 'victim'), 'utf8'), 'untouched\n');
    for (const name of names) assert.ok(lstatSync(join(out, 'leaf', name)).isFile(), name);
    assert.equal(readFileSync(join(out, 'leaf/start.sh'), 'utf8'), '#!/bin/sh\n');
  });
});

describe('replacing a file in place as ansible-vault does', () => {
  const options = { overwriteOld: true, keepModeAndOwner: false, mode: 0o600 };

  it('follows a chain of links, a dangling one included, and keeps the links', async () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, 'real'), 'old');
    symlinkSync('real', join(dir, 'one'));
    symlinkSync('one', join(dir, 'two'));
    symlinkSync('missing', join(dir, 'dangling'));
    assert.equal(followLinks(join(dir, 'two')), join(dir, 'real'));
    await replaceFile('two', join(dir, 'two'), 'new', options);
    assert.equal(readFileSync(join(dir, 'real'), 'utf8'), 'new');
    assert.ok(lstatSync(join(dir, 'two')).isSymbolicLink() && lstatSync(join(dir, 'one')).isSymbolicLink());
    await replaceFile('dangling', join(dir, 'dangling'), 'created', options);
    assert.equal(readFileSync(join(dir, 'missing'), 'utf8'), 'created');
    symlinkSync('loop-b', join(dir, 'loop-a'));
    symlinkSync('loop-a', join(dir, 'loop-b'));
    assert.throws(() => followLinks(join(dir, 'loop-a')), refused(/too many levels of symbolic links/));
  });

  it('overwrites the old content under every other hard link when asked, and only then', async () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, 'a'), 'the old secret content');
    linkSync(join(dir, 'a'), join(dir, 'b'));
    await replaceFile('a', join(dir, 'a'), 'new', options);
    assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'new');
    assert.equal(readFileSync(join(dir, 'b'), 'utf8'), 'new', 'the other name no longer holds the old content');
    writeFileSync(join(dir, 'c'), 'vault');
    linkSync(join(dir, 'c'), join(dir, 'd'));
    await replaceFile('c', join(dir, 'c'), 'plain', { ...options, overwriteOld: false });
    assert.equal(readFileSync(join(dir, 'd'), 'utf8'), 'vault', 'decrypting leaves other names as they were');
  });

  it('keeps mode (and owner) when asked, else sets the given mode', async () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, 'f'), 'x');
    chmodSync(join(dir, 'f'), 0o640);
    await replaceFile('f', join(dir, 'f'), 'y', { ...options, keepModeAndOwner: true });
    assert.equal(statSync(join(dir, 'f')).mode & 0o777, 0o640);
    await replaceFile('f', join(dir, 'f'), 'z', options);
    assert.equal(statSync(join(dir, 'f')).mode & 0o777, 0o600);
  });

  it('refuses what is not a regular file', async () => {
    const dir = temporaryDir();
    await assert.rejects(replaceFile('dir', dir, 'x', options), refused(/dir: is not a regular file/));
  });
});
