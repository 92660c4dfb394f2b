import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readZip, zipEntries, ZipFormatError } from '../../src/scan/zip-reader.js';
import { temporaryDir } from '../helpers/files.js';
import { rawZip, zeroBomb } from '../helpers/zip-builder.js';

/** Archives written by Python's zipfile: an independent writer, with the options under test. */
function pythonZip(
  target: string,
  members: Record<string, string>,
  options: { compression: 'stored' | 'deflated'; zip64?: boolean },
): string {
  const script = `
import json, sys, zipfile
members = json.loads(sys.argv[2])
mode = zipfile.ZIP_DEFLATED if sys.argv[3] == 'deflated' else zipfile.ZIP_STORED
with zipfile.ZipFile(sys.argv[1], 'w', compression=mode) as archive:
    for name, text in members.items():
        with archive.open(zipfile.ZipInfo(name), 'w', force_zip64=sys.argv[4] == 'yes') as member:
            member.write(text.encode())
`;
  const zip64 = options.zip64 ? 'yes' : 'no';
  execFileSync('python3', ['-c', script, target, JSON.stringify(members), options.compression, zip64]);
  return target;
}

describe('zip reader', () => {
  const members = {
    'DSA-1-1.json': '{"id":"DSA-1-1"}',
    'nested/DLA-2-1.json': JSON.stringify({ id: 'DLA-2-1', text: 'x'.repeat(5000) }),
    'empty.json': '',
  };

  for (const compression of ['stored', 'deflated'] as const) {
    it(`reads ${compression} members by name`, async () => {
      const file = pythonZip(join(temporaryDir(), 'all.zip'), members, { compression });
      const entries = await readZip(file);
      assert.deepEqual(Object.fromEntries(entries.map((entry) => [entry.name, entry.read().toString()])), members);
    });
  }

  it('reads zip64 records (sizes and offsets in the extra field)', async () => {
    const file = pythonZip(join(temporaryDir(), 'all.zip'), members, { compression: 'deflated', zip64: true });
    const entries = await readZip(file);
    assert.deepEqual(
      entries.map((entry) => entry.name),
      Object.keys(members),
    );
    assert.equal(entries[1]?.read().length, members['nested/DLA-2-1.json'].length);
  });

  it('reads archives of more than 65,535 members (zip64 end of directory)', async () => {
    const file = join(temporaryDir(), 'many.zip');
    execFileSync('python3', [
      '-c',
      `
import zipfile
with zipfile.ZipFile('${file}', 'w') as archive:
    for index in range(65600):
        archive.writestr(f'R-{index}.json', str(index))
`,
    ]);
    const entries = await readZip(file);
    assert.equal(entries.length, 65600);
    assert.equal(entries[65599]?.read().toString(), '65599');
  });

  it('refuses what is not a zip, and a cut archive, with a ZipFormatError', async () => {
    assert.throws(() => zipEntries(Buffer.from('not a zip at all, just some text'), 'text.zip'), ZipFormatError);
    const file = pythonZip(join(temporaryDir(), 'all.zip'), members, { compression: 'deflated' });
    const data = readFileSync(file);
    const damaged = Buffer.from(data);
    damaged.writeUInt32LE(0, 0); // the first local header
    writeFileSync(file, damaged);
    const entries = await readZip(file);
    assert.throws(() => entries[0]?.read(), /local header is damaged/);
    assert.throws(() => zipEntries(data.subarray(0, data.length - 30), 'cut.zip'), ZipFormatError);
  });
});

describe('zip limits: what an archive may make this process hold', () => {
  const MiB = 1024 * 1024;
  const refused = (pattern: RegExp) => (error: unknown) =>
    error instanceof ZipFormatError && pattern.test(error.message) && !error.message.includes('\n');

  it('stops inflating a member at the size its header declares: a bomb claiming 100 bytes', () => {
    const [bomb] = zipEntries(rawZip([{ name: 'DSA-1.json', data: zeroBomb(1024), declaredSize: 100 }]), 'all.zip');
    const before = process.resourceUsage().maxRSS;
    assert.throws(
      () => bomb?.read(),
      refused(/^all\.zip: DSA-1\.json inflates past the 100 bytes its header declares$/),
    );
    const grownKiB = process.resourceUsage().maxRSS - before;
    assert.ok(grownKiB < 64 * 1024, `inflating 1 GiB of zeros grew the process by ${grownKiB} KiB`);
  });

  it('refuses a member that declares more than a member may hold, before inflating it', () => {
    const [big] = zipEntries(rawZip([{ name: 'big.json', data: zeroBomb(40), declaredSize: 40 * MiB }]), 'all.zip');
    assert.throws(
      () => big?.read(),
      refused(/^all\.zip: big\.json is 40\.0 MiB, more than the 32\.0 MiB a member may hold$/),
    );
  });

  it("caps the archive's total by what its members really inflate to", () => {
    const member = (name: string) => ({ name, data: zeroBomb(2), declaredSize: 2 * MiB });
    const limits = { maxEntries: 10, maxEntryBytes: 4 * MiB, maxTotalBytes: 5 * MiB };
    const entries = zipEntries(rawZip([member('a.json'), member('b.json'), member('c.json')]), 'all.zip', limits);
    assert.equal(entries[0]?.read().length, 2 * MiB);
    assert.equal(entries[1]?.read().length, 2 * MiB);
    assert.throws(
      () => entries[2]?.read(),
      refused(/^all\.zip: c\.json: the members inflate to more than the 5\.0 MiB an archive may hold$/),
    );
  });

  it('refuses an archive of more members than allowed, from its directory alone', () => {
    const members = ['a', 'b', 'c'].map((name) => ({
      name,
      data: Buffer.alloc(0),
      method: 0 as const,
      declaredSize: 0,
    }));
    const limits = { maxEntries: 2, maxEntryBytes: MiB, maxTotalBytes: MiB };
    assert.throws(
      () => zipEntries(rawZip(members), 'all.zip', limits),
      refused(/^all\.zip: 3 members, more than the 2 an archive may hold$/),
    );
  });

  it('refuses a zip64 field cut short and a damaged deflate stream with a ZipFormatError naming the member', () => {
    const zip64 = Buffer.from([0x01, 0x00, 0x04, 0x00, 0, 0, 0, 0]);
    const short = rawZip([
      { name: 'z.json', data: Buffer.from('{}'), method: 0, declaredSize: 0xffffffff, extra: zip64 },
    ]);
    assert.throws(
      () => zipEntries(short, 'all.zip'),
      refused(/^all\.zip: not a readable zip archive \(z\.json: its zip64 extra field is cut short\)$/),
    );
    const [damaged] = zipEntries(
      rawZip([{ name: 'd.json', data: Buffer.from('garbage'), declaredSize: 7 }]),
      'all.zip',
    );
    assert.throws(() => damaged?.read(), refused(/^all\.zip: d\.json does not inflate \(invalid .*\)$/));
  });
});
