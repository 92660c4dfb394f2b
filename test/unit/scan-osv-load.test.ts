import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { loadVulnerabilityDatabase } from '../../src/scan/vulnerability-db.js';
import { InterruptedError, UsageError } from '../../src/util/errors.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { osvRecord } from '../helpers/osv-fixture.js';
import { rawZip, zeroBomb } from '../helpers/zip-builder.js';

/** A refusal the command-line contract accepts: a UsageError (exit 2) whose one line matches. */
const inputError = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof UsageError, `not a UsageError: ${String(error)}`);
  assert.ok(!error.message.includes('\n'), `more than one line: ${error.message}`);
  assert.match(error.message, pattern);
  return true;
};

const deflated = (name: string, text: string) => {
  const data = Buffer.from(text);
  return { name, data: deflateRawSync(data), declaredSize: data.length };
};

describe('loading a vulnerability database someone else made', () => {
  it('refuses a malformed OSV record with one line naming the file, the record and the field', async () => {
    const dir = writeTree(temporaryDir(), {
      'null-affected.json': '{"id":"DSA-1-1","affected":[null]}',
      'ranges.json': JSON.stringify({
        id: 'DSA-2-1',
        affected: [{ package: { ecosystem: 'Debian:12', name: 'curl' }, ranges: { type: 'ECOSYSTEM' } }],
      }),
      'events.json': JSON.stringify({ id: 'DSA-3-1', affected: [{ ranges: [{ type: 'ECOSYSTEM', events: [7] }] }] }),
      'aliases.json': '{"id":"DSA-4-1","aliases":"CVE-1"}',
      'id.json': '{"id":12}',
    });
    const load = (file: string) => loadVulnerabilityDatabase([join(dir, file)]);
    await assert.rejects(
      load('null-affected.json'),
      inputError(/null-affected\.json: OSV record DSA-1-1: record\.affected\[0\] is not an object$/),
    );
    await assert.rejects(
      load('ranges.json'),
      inputError(/ranges\.json: OSV record DSA-2-1: record\.affected\[0\]\.ranges is not a list$/),
    );
    await assert.rejects(
      load('events.json'),
      inputError(/events\.json: OSV record DSA-3-1: record\.affected\[0\]\.ranges\[0\]\.events\[0\] is not an object$/),
    );
    await assert.rejects(
      load('aliases.json'),
      inputError(/aliases\.json: OSV record DSA-4-1: record\.aliases is not a list$/),
    );
    await assert.rejects(load('id.json'), inputError(/id\.json: OSV record: record\.id is not a string$/));
  });

  it('names the zip member of a malformed record, and refuses a damaged member as bad input', async () => {
    const dir = temporaryDir();
    const good = JSON.stringify(osvRecord({ id: 'DSA-5-1', ecosystem: 'Debian:12', name: 'curl', fixed: '1' }));
    writeFileSync(
      join(dir, 'all.zip'),
      rawZip([
        deflated('DSA-5-1.json', good),
        deflated('DSA-6-1.json', '{"id":"DSA-6-1","severity":[{"type":"CVSS_V3"}]}'),
      ]),
    );
    await assert.rejects(
      loadVulnerabilityDatabase([join(dir, 'all.zip')]),
      inputError(/all\.zip:DSA-6-1\.json: OSV record DSA-6-1: record\.severity\[0\]\.score is missing$/),
    );
    writeFileSync(join(dir, 'bomb.zip'), rawZip([{ name: 'DSA-7-1.json', data: zeroBomb(64), declaredSize: 2 }]));
    await assert.rejects(
      loadVulnerabilityDatabase([join(dir, 'bomb.zip')]),
      inputError(/bomb\.zip: DSA-7-1\.json inflates past the 2 bytes its header declares$/),
    );
  });

  it('refuses a malformed Debian tracker dump naming the package, issue and release', async () => {
    const dir = writeTree(temporaryDir(), {
      'tracker.json': JSON.stringify({
        curl: { 'CVE-2099-1': { releases: { bookworm: { status: 'open' } } } },
        openssl: { 'CVE-2099-2': { releases: { bookworm: { status: 'resolved', fixed_version: 3 } } } },
      }),
    });
    await assert.rejects(
      loadVulnerabilityDatabase([join(dir, 'tracker.json')]),
      inputError(
        /tracker\.json: Debian tracker dump: openssl\.CVE-2099-2\.releases\.bookworm\.fixed_version is not a string$/,
      ),
    );
  });

  it('refuses nesting deeper than any real document instead of overflowing the stack', async () => {
    const depth = 200_000;
    const dir = writeTree(temporaryDir(), {
      'lists.json': `${'['.repeat(depth)}${']'.repeat(depth)}`,
      'record.json': `{"id":"DSA-8-1","database_specific":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
    });
    for (const file of ['lists.json', 'record.json']) {
      await assert.rejects(
        loadVulnerabilityDatabase([join(dir, file)]),
        inputError(new RegExp(`${file.replace('.', '\\.')}: nested deeper than the 64 levels allowed`)),
      );
    }
  });

  it(
    'refuses a FIFO given as a database file at once, instead of waiting for a writer',
    { timeout: 10_000 },
    async () => {
      const fifo = join(temporaryDir(), 'tracker.json');
      execFileSync('mkfifo', [fifo]);
      await assert.rejects(
        loadVulnerabilityDatabase([fifo]),
        inputError(/tracker\.json: .* is a FIFO, not a regular file$/),
      );
    },
  );

  it('stops loading a large archive soon after the signal aborts, the event loop turning meanwhile', async () => {
    const members = Array.from({ length: 40_000 }, (_, index) => {
      const record = osvRecord({ id: `DSA-${index}-1`, ecosystem: 'Debian:12', name: `p${index}`, fixed: '1' });
      const data = Buffer.from(JSON.stringify(record));
      return { name: `DSA-${index}-1.json`, data, method: 0 as const, declaredSize: data.length };
    });
    const file = join(temporaryDir(), 'all.zip');
    writeFileSync(file, rawZip(members));
    const controller = new AbortController();
    let ticks = 0;
    const ticking = setInterval(() => ticks++, 5);
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    try {
      await assert.rejects(loadVulnerabilityDatabase([file], controller.signal), InterruptedError);
    } finally {
      clearInterval(ticking);
    }
    const seconds = (performance.now() - started) / 1000;
    assert.ok(seconds < 1, `stopped after ${seconds.toFixed(2)} s`);
    // The abort itself fired during the load (it was heard, not found at the end); on a loaded host the 5 ms
    // timer may get only a turn or two in the 100 ms before it, so one turn is what this asks.
    assert.ok(ticks > 0, `timers ran ${ticks} times while loading`);
  });
});
