import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { UsageError } from './errors.js';

/**
 * Reading a file someone else may have made: a FIFO or a device would block (or never end),
 * and a huge file would be read whole into memory. Opened without blocking, judged by what the
 * open descriptor is (so a swap between check and read cannot fool it), capped in size; every
 * refusal is one line naming the file and the limit (exit 2).
 */
export interface InputLimits {
  /** What the file is, for the error line: "tags file", "OSV record". */
  what: string;
  /** Largest size accepted, in bytes. */
  maxBytes: number;
}

/** 1 MiB, 16 MiB...: limits read as sizes. */
export const MiB = 1024 * 1024;

function describeKind(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isDirectory()) return 'a folder';
  return 'not a regular file';
}

function formatSize(bytes: number): string {
  return bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${bytes} bytes`;
}

function judge(path: string, stats: Stats, limits: InputLimits): void {
  if (!stats.isFile()) throw new UsageError(`${path}: ${limits.what} is ${describeKind(stats)}, not a regular file`);
  if (stats.size > limits.maxBytes) {
    throw new UsageError(
      `${path}: ${limits.what} is ${formatSize(stats.size)}, more than the ${formatSize(limits.maxBytes)} allowed`,
    );
  }
}

function grewPastLimit(path: string, limits: InputLimits): UsageError {
  return new UsageError(`${path}: ${limits.what} is more than the ${formatSize(limits.maxBytes)} allowed`);
}

function cannotRead(path: string, limits: InputLimits, error: unknown): UsageError {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  return new UsageError(`${path}: cannot read the ${limits.what} (${code})`);
}

// O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** A regular file's bytes, at most `maxBytes` of them. */
export async function readInputBytes(path: string, limits: InputLimits): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error) {
    throw cannotRead(path, limits, error);
  }
  try {
    const stats = await handle.stat();
    judge(path, stats, limits);
    // One byte past the limit is read: a file that grew after the stat is still refused.
    const buffer = Buffer.alloc(Math.min(limits.maxBytes + 1, stats.size + 1));
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0 || (filled += bytesRead) === buffer.length) break;
    }
    if (filled > limits.maxBytes) throw grewPastLimit(path, limits);
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** A regular file's text (UTF-8), at most `maxBytes` of it. */
export async function readInputText(path: string, limits: InputLimits): Promise<string> {
  return (await readInputBytes(path, limits)).toString('utf8');
}

/** readInputBytes for the places that read synchronously (config loading). */
export function readInputBytesSync(path: string, limits: InputLimits): Buffer {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    throw cannotRead(path, limits, error);
  }
  try {
    const stats = fstatSync(fd);
    judge(path, stats, limits);
    const buffer = Buffer.alloc(Math.min(limits.maxBytes + 1, stats.size + 1));
    let filled = 0;
    for (;;) {
      const bytesRead = readSync(fd, buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0 || (filled += bytesRead) === buffer.length) break;
    }
    if (filled > limits.maxBytes) throw grewPastLimit(path, limits);
    return buffer.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

export function readInputTextSync(path: string, limits: InputLimits): string {
  return readInputBytesSync(path, limits).toString('utf8');
}
