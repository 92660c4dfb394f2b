import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/util/errors.js';
import { jsonErrorOffset, parseJsonInput } from '../../src/util/json-input.js';
import {
  copyInputFile,
  InputRefusedError,
  readInputText,
  readInputTextSync,
  type InputRefusal,
} from '../../src/util/read-input.js';
import { temporaryDir } from '../helpers/files.js';

const limits = { what: 'tags file', maxBytes: 16 };
const refused = (pattern: RegExp) => (error: unknown) =>
  error instanceof UsageError && pattern.test(error.message) && !error.message.includes('\n');

describe('reading a file someone else may have made', () => {
  it('reads a regular file within the limit, sync and async alike', async () => {
    const file = join(temporaryDir(), 'tags.yml');
    writeFileSync(file, 'a: 1\n');
    assert.equal(await readInputText(file, limits), 'a: 1\n');
    assert.equal(readInputTextSync(file, limits), 'a: 1\n');
  });

  it('refuses a file over the limit with one line naming it and the limit', async () => {
    const file = join(temporaryDir(), 'big.yml');
    writeFileSync(file, 'x'.repeat(17));
    const pattern = /big\.yml: tags file is 17 bytes, more than the 16 bytes allowed$/;
    await assert.rejects(readInputText(file, limits), refused(pattern));
    assert.throws(() => readInputTextSync(file, limits), refused(pattern));
  });

  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    const fifo = join(temporaryDir(), 'summary.json');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(
      readInputText(fifo, limits),
      refused(/summary\.json: tags file is a FIFO, not a regular file$/),
    );
    assert.throws(() => readInputTextSync(fifo, limits), refused(/is a FIFO/));
  });

  it('refuses devices and folders, and names a missing file', async () => {
    await assert.rejects(readInputText('/dev/zero', limits), refused(/^\/dev\/zero: tags file is a device/));
    assert.throws(() => readInputTextSync(temporaryDir(), limits), refused(/is a folder/));
    await assert.rejects(readInputText('/nonexistent/x', limits), refused(/cannot read the tags file \(ENOENT\)$/));
  });
});

describe('reading a file inside a folder, with no symbolic link on the way', () => {
  const shard = () => {
    const dir = temporaryDir();
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs', 'base.log'), 'base log\n');
    return dir;
  };
  const refusedAs = (refusal: InputRefusal, pattern: RegExp) => (error: unknown) =>
    error instanceof InputRefusedError && error.refusal === refusal && pattern.test(error.message);
  const within = (dir: string) => ({ what: 'log', maxBytes: 1024, within: dir });

  it('reads and copies a regular file inside the folder', async () => {
    const dir = shard();
    assert.equal(await readInputText(join(dir, 'logs', 'base.log'), within(dir)), 'base log\n');
    assert.equal(readInputTextSync(join(dir, 'logs', 'base.log'), within(dir)), 'base log\n');
    const copy = join(temporaryDir(), 'out', 'base.log');
    await copyInputFile(join(dir, 'logs', 'base.log'), copy, within(dir));
    assert.equal(readFileSync(copy, 'utf8'), 'base log\n');
  });

  it('refuses a link in the last place, even to a file inside the folder', async () => {
    const dir = shard();
    const link = join(dir, 'logs', 'keystone.log');
    symlinkSync('/etc/hostname', link);
    await assert.rejects(readInputText(link, within(dir)), refusedAs('link', /keystone\.log: log is a symbolic link/));
    symlinkSync('base.log', join(dir, 'logs', 'cron.log'));
    assert.throws(() => readInputTextSync(join(dir, 'logs', 'cron.log'), within(dir)), refusedAs('link', /./));
    const copy = join(temporaryDir(), 'keystone.log');
    await assert.rejects(copyInputFile(link, copy, within(dir)), refusedAs('link', /not followed$/));
    assert.equal(existsSync(copy), false, 'nothing copied');
  });

  it('refuses a folder on the way that is a link, naming it', async () => {
    const dir = temporaryDir();
    const elsewhere = shard();
    symlinkSync(join(elsewhere, 'logs'), join(dir, 'logs'));
    const pattern = new RegExp(`reached through the symbolic link ${join(dir, 'logs')}, not followed$`);
    await assert.rejects(readInputText(join(dir, 'logs', 'base.log'), within(dir)), refusedAs('link', pattern));
  });

  it('tells a missing file from the other refusals, and refuses a FIFO and a path outside', async () => {
    const dir = shard();
    await assert.rejects(readInputText(join(dir, 'logs', 'gone.log'), within(dir)), refusedAs('missing', /ENOENT/));
    await assert.rejects(readInputText(join(dir, 'scan', 'x.json'), within(dir)), refusedAs('missing', /ENOENT/));
    execFileSync('mkfifo', [join(dir, 'logs', 'fifo.log')]);
    const fifo = join(dir, 'logs', 'fifo.log');
    await assert.rejects(copyInputFile(fifo, join(dir, 'copy'), within(dir)), refusedAs('not-regular', /a FIFO/));
    await assert.rejects(readInputText('/etc/hostname', within(dir)), refusedAs('unreadable', /is not inside/));
  });

  it('refuses a copy past the limit and leaves nothing behind', async () => {
    const dir = shard();
    writeFileSync(join(dir, 'logs', 'big.log'), 'x'.repeat(2048));
    const copy = join(temporaryDir(), 'big.log');
    await assert.rejects(copyInputFile(join(dir, 'logs', 'big.log'), copy, within(dir)), refusedAs('too-large', /./));
    assert.equal(existsSync(copy), false);
  });
});

describe('JSON from a file someone else may have made', () => {
  it('names the file, line and column of a syntax error, never the content', () => {
    const secret = 'root:*:20228:0:99999:7:::\n';
    assert.throws(
      () => parseJsonInput(secret, '/etc/shadow', 'run summary'),
      (error: unknown) =>
        error instanceof UsageError &&
        error.message === '/etc/shadow: line 1, column 1: not a valid JSON run summary' &&
        !error.message.includes('root'),
    );
    assert.throws(
      () => parseJsonInput('{\n  "a": [1,\n  2 x]}', 'f', 'summary'),
      /^ConfigError: f: line 3, column 5: /,
    );
    assert.deepEqual(parseJsonInput('{"a": [1]}', 'f', 'summary'), { a: [1] });
  });

  it('finds the first fault where JSON.parse finds one, and none in valid JSON', () => {
    const cases: Array<[string, number]> = [
      ['{"a": 1}', -1],
      ['[1, -2.5e3, "x\\u00e9", true, null, {}, []]', -1],
      ['{"a" 1}', 5],
      ['{"a": [', 7],
      ['01', 1],
      ['"tab\there"', 4],
      ['{"a": 1,}', 8],
      ['[1 2]', 3],
      ['"\\x"', 1],
      ['\uFEFF{}', 0],
      ['[]]', 2],
      ['{"a":1}}', 7],
      ['[nul]', 1],
      ['[-]', 1],
    ];
    for (const [text, offset] of cases) {
      assert.equal(jsonErrorOffset(text), offset, text);
      assert.equal(
        offset === -1,
        (() => {
          try {
            JSON.parse(text);
            return true;
          } catch {
            return false;
          }
        })(),
        `JSON.parse agrees on ${text}`,
      );
    }
    assert.equal(jsonErrorOffset(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), -1, 'deep nesting, no recursion');
  });
});
