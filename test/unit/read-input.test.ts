import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/util/errors.js';
import { readInputText, readInputTextSync } from '../../src/util/read-input.js';
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
