import type { Readable } from 'node:stream';
import { errorMessage } from './errors.js';
import { lineSafe } from './line-safe.js';
import { sizeText } from './size-text.js';

export interface TarEntry {
  /** Relative, without a leading `./` or `/`. */
  path: string;
  kind: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  linkTarget: string;
  /** The bytes, only for regular files the caller asked for. */
  content?: Buffer;
}

export class TarFormatError extends Error {}

/** A member the caller wants is larger than it allows: refused before its bytes are read. */
export class TarLimitError extends Error {}

export interface TarReadOptions {
  /** What the stream is, at the start of every error (`layer sha256:…`). */
  label?: string;
  /** The largest content read for a wanted file. */
  maxFileBytes?: (path: string) => number;
  /** Awaited between members and while skipping: turns the event loop, throws to stop. */
  pace?: () => Promise<void>;
}

/** Pax records and GNU long names: a few KiB in any real layer; their content is held whole. */
const MAX_HEADER_RECORD_BYTES = 1024 * 1024;

/** Buffers a stream's chunks so the reader can take or skip exact byte counts. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private length = 0;
  private readonly iterator: AsyncIterator<unknown>;

  /** `where` starts the error when the stream itself fails (a gzip cut short, a blob that cannot be read). */
  constructor(
    stream: Readable,
    private readonly where: string,
  ) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  private async next(): Promise<IteratorResult<unknown>> {
    try {
      return await this.iterator.next();
    } catch (error) {
      throw new TarFormatError(`${this.where}cannot be read to its end (${errorMessage(error)})`);
    }
  }

  /** Whether `count` bytes are (now) buffered; false when the stream ends first. */
  async fill(count: number): Promise<boolean> {
    while (this.length < count) {
      const next = await this.next();
      if (next.done) return false;
      const chunk = next.value as Buffer;
      this.chunks.push(chunk);
      this.length += chunk.length;
    }
    return true;
  }

  take(count: number): Buffer {
    const joined = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    const taken = joined.subarray(0, count);
    const rest = joined.subarray(count);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    return taken;
  }

  /** Drops `count` bytes without holding them all at once. */
  async skip(count: number, pace: () => Promise<void>): Promise<boolean> {
    let left = count;
    while (left > 0) {
      await pace();
      if (this.length === 0 && !(await this.fill(1))) return false;
      const step = Math.min(left, this.length);
      this.take(step);
      left -= step;
    }
    return true;
  }

  get buffered(): number {
    return this.length;
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

const BLOCK = 512;

/** The header checksum: the sum of its bytes with the checksum field itself read as spaces. */
function checksumMatches(header: Buffer): boolean {
  let sum = 0;
  for (let index = 0; index < BLOCK; index++) sum += index >= 148 && index < 156 ? 0x20 : (header[index] ?? 0);
  return sum === number(header, 148, 8);
}

function text(header: Buffer, start: number, length: number): string {
  const field = header.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.toString('utf8', 0, end >= 0 ? end : field.length);
}

function number(header: Buffer, start: number, length: number): number {
  const field = header.subarray(start, start + length);
  // GNU base-256: the high bit of the first byte marks a big-endian binary number.
  if ((field[0] ?? 0) & 0x80) {
    let value = (field[0] ?? 0) & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return value;
  }
  const digits = text(header, start, length).trim();
  return digits === '' ? 0 : parseInt(digits, 8);
}

function normalise(path: string): string {
  return path.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number(data.toString('utf8', at, space));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = data.toString('utf8', space + 1, at + length - 1);
    const equals = record.indexOf('=');
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    at += length;
  }
  return records;
}

const HEADER_RECORDS: Record<string, string> = {
  L: 'GNU long name',
  K: 'GNU long link',
  x: 'pax header',
  g: 'pax global header',
};

const KINDS: Record<string, TarEntry['kind']> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '5': 'directory',
};

/**
 * Reads a tar stream (ustar, GNU long names, pax paths), calling `onEntry` for every member and
 * reading the content only of regular files `wanted` accepts: a layer is streamed, never held whole.
 * Every error is one line starting with the stream's label.
 */
export async function readTar(
  stream: Readable,
  wanted: (path: string) => boolean,
  onEntry: (entry: TarEntry) => void,
  options: TarReadOptions = {},
): Promise<void> {
  const where = options.label === undefined ? '' : `${options.label}: `;
  const pace = options.pace ?? (() => Promise.resolve());
  const queue = new ByteQueue(stream, where);
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();
  try {
    for (;;) {
      await pace();
      if (!(await queue.fill(BLOCK))) {
        if (queue.buffered > 0) throw new TarFormatError(`${where}tar stream ends inside a header`);
        return;
      }
      const header = queue.take(BLOCK);
      if (header.every((byte) => byte === 0)) return;
      if (!checksumMatches(header)) {
        throw new TarFormatError(`${where}not a tar stream (a header checksum does not match)`);
      }
      const type = String.fromCharCode(header[156] ?? 0);
      const size = pax.has('size') ? Number(pax.get('size')) : number(header, 124, 12);
      if (!Number.isSafeInteger(size) || size < 0) throw new TarFormatError(`${where}a member's size is not a size`);
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      const readBody = async (): Promise<Buffer> => {
        if (!(await queue.fill(padded))) throw new TarFormatError(`${where}tar stream ends inside a member`);
        return queue.take(padded).subarray(0, size);
      };
      const record = HEADER_RECORDS[type];
      if (record !== undefined) {
        if (size > MAX_HEADER_RECORD_BYTES) {
          const limit = sizeText(MAX_HEADER_RECORD_BYTES);
          throw new TarLimitError(`${where}a ${record} of ${sizeText(size)}, more than the ${limit} allowed`);
        }
        const body = await readBody();
        if (type === 'L') longName = body.toString('utf8').replace(/\0+$/, '');
        if (type === 'K') longLink = body.toString('utf8').replace(/\0+$/, '');
        if (type === 'x') pax = parsePax(body);
        continue;
      }
      const prefix = text(header, 345, 155);
      const shortName = text(header, 0, 100);
      const headerName = text(header, 257, 5) === 'ustar' && prefix !== '' ? `${prefix}/${shortName}` : shortName;
      const path = normalise(pax.get('path') ?? longName ?? headerName);
      const linkTarget = pax.get('linkpath') ?? longLink ?? text(header, 157, 100);
      const kind = KINDS[type] ?? 'other';
      longName = undefined;
      longLink = undefined;
      pax = new Map();
      if (kind === 'file' && wanted(path)) {
        const limit = options.maxFileBytes?.(path) ?? Number.POSITIVE_INFINITY;
        if (size > limit) {
          const shown = lineSafe(path);
          throw new TarLimitError(`${where}${shown} is ${sizeText(size)}, more than the ${sizeText(limit)} allowed`);
        }
        onEntry({ path, kind, linkTarget, content: await readBody() });
      } else {
        if (!(await queue.skip(padded, pace))) throw new TarFormatError(`${where}tar stream ends inside a member`);
        onEntry({ path, kind, linkTarget: kind === 'hardlink' ? normalise(linkTarget) : linkTarget });
      }
    }
  } finally {
    await queue.close();
  }
}
