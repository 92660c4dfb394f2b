import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllowList, readAllowList } from '../../src/scan/allow-list.js';
import { loadVulnerabilityDatabase } from '../../src/scan/vulnerability-db.js';
import { UsageError } from '../../src/util/errors.js';
import { runCliBounded } from '../helpers/cli.js';
import { temporaryDir } from '../helpers/files.js';

/** One line, naming what it should, and none of the file's content. */
const oneLine =
  (pattern: RegExp, secret = 'SECRET') =>
  (error: unknown) =>
    error instanceof UsageError &&
    pattern.test(error.message) &&
    !error.message.includes('\n') &&
    !error.message.includes(secret);

describe("the scan's input files, made by someone else", { timeout: 30_000 }, () => {
  it('refuses a FIFO in a folder of OSV records, and one named by --osv-db, at once', async () => {
    const dir = temporaryDir();
    mkdirSync(join(dir, 'osv'));
    writeFileSync(join(dir, 'osv', 'DSA-1.json'), JSON.stringify({ id: 'DSA-1', affected: [] }));
    execFileSync('mkfifo', [join(dir, 'osv', 'DSA-2.json')]);
    execFileSync('mkfifo', [join(dir, 'all.zip')]);
    await assert.rejects(
      loadVulnerabilityDatabase([join(dir, 'osv')]),
      oneLine(/DSA-2\.json: vulnerability database file is a FIFO, not a regular file$/),
    );
    await assert.rejects(loadVulnerabilityDatabase([join(dir, 'all.zip')]), oneLine(/all\.zip: .* is a FIFO/));
  });

  it('names the place of a JSON error in a record, never its content', async () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, 'record.json'), '{"id": "DSA-1",\n "affected": SECRET-VALUE}');
    await assert.rejects(
      loadVulnerabilityDatabase([join(dir, 'record.json')]),
      oneLine(/record\.json: line 2, column 14: not a valid JSON vulnerability document$/),
    );
  });

  it('refuses an allowed-vulnerabilities FIFO or an oversized one, at once', () => {
    const dir = temporaryDir();
    execFileSync('mkfifo', [join(dir, 'allowed.yml')]);
    assert.throws(() => readAllowList(join(dir, 'allowed.yml')), oneLine(/allowed vulnerabilities file is a FIFO/));
    writeFileSync(join(dir, 'big.yml'), `# ${'x'.repeat(5 * 1024 * 1024)}\n`);
    assert.throws(
      () => readAllowList(join(dir, 'big.yml')),
      oneLine(/big\.yml: .* is 5\.0 MiB, more than the 4\.0 MiB/),
    );
  });

  it('names the place of a YAML error in an allow-list, never its content, and prints no warning quoting it', () => {
    assert.throws(
      () => parseAllowList('a: b: SECRET\n', 'a.yml'),
      oneLine(/^a\.yml: line 1, column 4: not valid YAML \(block as implicit key\)$/),
    );
    assert.throws(
      () => parseAllowList('a: *SECRET\n', 'a.yml'),
      oneLine(/^a\.yml: \(top level\): not valid YAML \(an alias without its anchor\)$/),
    );
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      parseAllowList('global_allowed_vulnerabilities: !SECRET [CVE-1]\n', 'a.yml');
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
  });

  it('refuses an --out it cannot write before scanning anything, in one line', async () => {
    const dir = temporaryDir();
    const result = await runCliBounded(['scan', 'localhost/none:t', '--osv-db', dir, '--out', '/sys/x'], { cwd: dir });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(
      result.stderr,
      'ci-builder: error: --out /sys/x: is in /sys, a kernel file system, not a place for output\n',
    );
  });
});
