import { inflateRawSync } from 'node:zlib';
import { lineSafe } from '../util/line-safe.js';
import { MiB, readInputBytes } from '../util/read-input.js';
import { sizeText } from '../util/size-text.js';

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

/** What one archive may make this process hold: a few KiB of deflate can claim or inflate to gigabytes. */
export interface ZipLimits {
  maxEntries: number;
  /** Per member, by what it really inflates to, whatever its header says. */
  maxEntryBytes: number;
  /** All members together, counted as they are inflated. */
  maxTotalBytes: number;
}

/**
 * Sized for OSV's per-ecosystem dumps: the largest records (a kernel advisory listing every affected
 * version of every release) are a few MiB, the largest dumps hold a few hundred thousand records, and
 * more than 2 GiB of record text would not fit Node's default heap once parsed anyway.
 */
export const ZIP_LIMITS: ZipLimits = { maxEntries: 2_000_000, maxEntryBytes: 32 * MiB, maxTotalBytes: 2048 * MiB };

/** Largest archive file read: it is held whole while its members are read. */
export const MAX_ZIP_FILE_BYTES = 1024 * MiB;

/**
 * The members of a zip archive (stored or deflated; zip64 included, as archives of more
 * than 65,535 advisories need), from its central directory.
 */
export async function readZip(path: string, limits: ZipLimits = ZIP_LIMITS): Promise<ZipEntry[]> {
  return zipEntries(await readInputBytes(path, { what: 'zip archive', maxBytes: MAX_ZIP_FILE_BYTES }), path, limits);
}

export function zipEntries(data: Buffer, label = 'zip', limits: ZipLimits = ZIP_LIMITS): ZipEntry[] {
  const fail = (why: string): never => {
    throw new ZipFormatError(`${label}: not a readable zip archive (${why})`);
  };
  const refuse = (why: string): never => {
    throw new ZipFormatError(`${label}: ${why}`);
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
  if (count > limits.maxEntries) refuse(`${count} members, more than the ${limits.maxEntries} an archive may hold`);
  let inflatedTotal = 0;
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
    const shown = lineSafe(name);
    // zip64 sizes and offset stand in the extra field, in this order, only for fields that overflowed.
    const extra = data.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    for (let field = 0; field + 4 <= extra.length;) {
      const id = extra.readUInt16LE(field);
      const length = extra.readUInt16LE(field + 2);
      if (id === ZIP64_EXTRA) {
        let value = field + 4;
        const next = () => {
          if (value + 8 > Math.min(field + 4 + length, extra.length))
            fail(`${shown}: its zip64 extra field is cut short`);
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
    if (method !== 0 && method !== 8) fail(`${shown}: compression method ${method} is neither stored nor deflate`);
    if (flags & 0x1) fail(`${shown} is encrypted`);
    const entrySize = size;
    const entryCompressed = compressedSize;
    const entryOffset = localOffset;
    entries.push({
      name,
      size: entrySize,
      read: () => {
        const headerPresent = entryOffset + 30 <= data.length && data.readUInt32LE(entryOffset) === LOCAL_HEADER;
        if (!headerPresent) fail(`${shown}: local header is damaged`);
        const start = entryOffset + 30 + data.readUInt16LE(entryOffset + 26) + data.readUInt16LE(entryOffset + 28);
        const raw = data.subarray(start, start + entryCompressed);
        if (raw.length !== entryCompressed) fail(`${shown} is cut short`);
        if (entrySize > limits.maxEntryBytes) {
          refuse(
            `${shown} is ${sizeText(entrySize)}, more than the ${sizeText(limits.maxEntryBytes)} a member may hold`,
          );
        }
        const content = method === 0 ? raw : inflateAtMost(raw, entrySize, shown, refuse);
        if (content.length !== entrySize) fail(`${shown} inflates to ${content.length} bytes, not ${entrySize}`);
        inflatedTotal += content.length;
        if (inflatedTotal > limits.maxTotalBytes) {
          const limit = sizeText(limits.maxTotalBytes);
          refuse(`${shown}: the members inflate to more than the ${limit} an archive may hold`);
        }
        return content;
      },
    });
  }
  return entries;
}

/**
 * Inflates no further than the declared size: the header's claim bounds the work, and a member
 * that inflates past it is refused the moment it does, not once it has filled memory.
 */
function inflateAtMost(raw: Buffer, declared: number, name: string, refuse: (why: string) => never): Buffer {
  try {
    return inflateRawSync(raw, { maxOutputLength: Math.max(1, declared) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE')
      return refuse(`${name} inflates past the ${sizeText(declared)} its header declares`);
    return refuse(`${name} does not inflate (${(error as Error).message})`);
  }
}

/** The end record sits in the last 22 bytes plus a comment of at most 65,535 bytes. */
function findEndOfDirectory(data: Buffer): number | undefined {
  const lowest = Math.max(0, data.length - 22 - MAX16);
  for (let at = data.length - 22; at >= lowest; at--) {
    if (data.readUInt32LE(at) === END_OF_DIRECTORY) return at;
  }
  return undefined;
}
