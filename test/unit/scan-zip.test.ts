import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readZip, zipEntries, ZipFormatError } from '../../src/scan/zip-reader.js';
import { temporaryDir } from '../helpers/files.js';

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
