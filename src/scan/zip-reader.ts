import { readFile } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';

/** One member of a zip archive, read on demand. */
export interface ZipEntry {
  name: string;
  size: number;
  read(): Buffer;
}

const END_OF_DIRECTORY = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_END_OF_DIRECTORY = 0x06064b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const ZIP64_EXTRA = 0x0001;
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;

export class ZipFormatError extends Error {}

/**
 * The members of a zip archive (stored or deflated; zip64 included, as archives of more
 * than 65,535 advisories need), from its central directory.
 */
export async function readZip(path: string): Promise<ZipEntry[]> {
  return zipEntries(await readFile(path), path);
}

export function zipEntries(data: Buffer, label = 'zip'): ZipEntry[] {
  const fail = (why: string): never => {
    throw new ZipFormatError(`${label}: not a readable zip archive (${why})`);
  };
  const end = findEndOfDirectory(data) ?? fail('no end of central directory');
  let count = data.readUInt16LE(end + 10);
  let directorySize = data.readUInt32LE(end + 12);
  let directoryOffset = data.readUInt32LE(end + 16);
  if (count === MAX16 || directoryOffset === MAX32 || directorySize === MAX32) {
    const locator = end - 20;
    if (locator < 0 || data.readUInt32LE(locator) !== ZIP64_LOCATOR) fail('zip64 locator missing');
    const zip64End = Number(data.readBigUInt64LE(locator + 8));
    const zip64Present = zip64End + 56 <= data.length && data.readUInt32LE(zip64End) === ZIP64_END_OF_DIRECTORY;
    if (!zip64Present) fail('zip64 end record missing');
    count = Number(data.readBigUInt64LE(zip64End + 32));
    directorySize = Number(data.readBigUInt64LE(zip64End + 40));
    directoryOffset = Number(data.readBigUInt64LE(zip64End + 48));
  }
  if (directoryOffset + directorySize > data.length) fail('central directory past the end');
  const entries: ZipEntry[] = [];
  let at = directoryOffset;
  for (let index = 0; index < count; index++) {
    if (at + 46 > data.length || data.readUInt32LE(at) !== DIRECTORY_ENTRY) fail(`directory entry ${index} is damaged`);
    const flags = data.readUInt16LE(at + 8);
    const method = data.readUInt16LE(at + 10);
    let compressedSize = data.readUInt32LE(at + 20);
    let size = data.readUInt32LE(at + 24);
    const nameLength = data.readUInt16LE(at + 28);
    const extraLength = data.readUInt16LE(at + 30);
    const commentLength = data.readUInt16LE(at + 32);
    let localOffset = data.readUInt32LE(at + 42);
    const name = data.toString(flags & 0x800 ? 'utf8' : 'latin1', at + 46, at + 46 + nameLength);
    // zip64 sizes and offset stand in the extra field, in this order, only for fields that overflowed.
    const extra = data.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    for (let field = 0; field + 4 <= extra.length;) {
      const id = extra.readUInt16LE(field);
      const length = extra.readUInt16LE(field + 2);
      if (id === ZIP64_EXTRA) {
        let value = field + 4;
        const next = () => {
          const read = Number(extra.readBigUInt64LE(value));
          value += 8;
          return read;
        };
        if (size === MAX32) size = next();
        if (compressedSize === MAX32) compressedSize = next();
        if (localOffset === MAX32) localOffset = next();
      }
      field += 4 + length;
    }
    at += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/')) continue;
    if (method !== 0 && method !== 8) fail(`${name}: compression method ${method} is neither stored nor deflate`);
    if (flags & 0x1) fail(`${name} is encrypted`);
    const entrySize = size;
    const entryCompressed = compressedSize;
    const entryOffset = localOffset;
    entries.push({
      name,
      size: entrySize,
      read: () => {
        const headerPresent = entryOffset + 30 <= data.length && data.readUInt32LE(entryOffset) === LOCAL_HEADER;
        if (!headerPresent) fail(`${name}: local header is damaged`);
        const start = entryOffset + 30 + data.readUInt16LE(entryOffset + 26) + data.readUInt16LE(entryOffset + 28);
        const raw = data.subarray(start, start + entryCompressed);
        if (raw.length !== entryCompressed) fail(`${name} is cut short`);
        const content = method === 0 ? raw : inflateRawSync(raw);
        if (content.length !== entrySize) fail(`${name} inflates to ${content.length} bytes, not ${entrySize}`);
        return content;
      },
    });
  }
  return entries;
}

/** The end record sits in the last 22 bytes plus a comment of at most 65,535 bytes. */
function findEndOfDirectory(data: Buffer): number | undefined {
  const lowest = Math.max(0, data.length - 22 - MAX16);
  for (let at = data.length - 22; at >= lowest; at--) {
    if (data.readUInt32LE(at) === END_OF_DIRECTORY) return at;
  }
  return undefined;
}
