import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readlinkSync,
  readSync,
  realpathSync,
  type Stats,
} from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
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
  /**
   * A folder the file must be inside with no symbolic link on the way, the file itself included
   * (a shard's `logs/`: a link there could hand over any file of the host). The folder itself
   * may be reached through links: it is what the user named.
   */
  within?: string;
}

/** 1 MiB, 16 MiB...: limits read as sizes. */
export const MiB = 1024 * 1024;

/** Why a file was refused: a caller may pass over a missing one, or warn about another and go on. */
export type InputRefusal = 'missing' | 'not-regular' | 'link' | 'too-large' | 'unreadable';

export class InputRefusedError extends UsageError {
  constructor(
    message: string,
    readonly refusal: InputRefusal,
  ) {
    super(message);
    this.name = 'InputRefusedError';
  }
}

/** What a file that is not a regular one is, for an error line: "a FIFO", "a device". */
export function describeKind(stats: Stats): string {
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
  if (!stats.isFile()) {
    throw new InputRefusedError(`${path}: ${limits.what} is ${describeKind(stats)}, not a regular file`, 'not-regular');
  }
  if (stats.size > limits.maxBytes) {
    throw new InputRefusedError(
      `${path}: ${limits.what} is ${formatSize(stats.size)}, more than the ${formatSize(limits.maxBytes)} allowed`,
      'too-large',
    );
  }
}

function grewPastLimit(path: string, limits: InputLimits): InputRefusedError {
  const message = `${path}: ${limits.what} is more than the ${formatSize(limits.maxBytes)} allowed`;
  return new InputRefusedError(message, 'too-large');
}

function linkRefused(path: string, limits: InputLimits, link: string): InputRefusedError {
  const where = link === resolve(path) ? 'is a symbolic link' : `is reached through the symbolic link ${link}`;
  return new InputRefusedError(`${path}: ${limits.what} ${where}, not followed`, 'link');
}

function cannotRead(path: string, limits: InputLimits, error: unknown): InputRefusedError {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  // O_NOFOLLOW answers ELOOP for a link in the last place.
  if (code === 'ELOOP' && limits.within !== undefined) return linkRefused(path, limits, resolve(path));
  const refusal = code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'unreadable';
  return new InputRefusedError(`${path}: cannot read the ${limits.what} (${code})`, refusal);
}

/** Where a file read `within` a folder must be once opened. */
interface Place {
  within: string;
  below: string;
}

/** The path below `within`, each folder on the way checked to be one and not a link. */
function checkWayIn(path: string, limits: InputLimits, within: string): Place {
  const below = relative(resolve(within), resolve(path));
  if (below === '' || below === '..' || below.startsWith(`..${sep}`) || isAbsolute(below)) {
    throw new InputRefusedError(`${path}: ${limits.what} is not inside ${within}`, 'unreadable');
  }
  let folder = resolve(within);
  for (const part of below.split(sep).slice(0, -1)) {
    folder = join(folder, part);
    let stats: Stats;
    try {
      stats = lstatSync(folder);
    } catch (error) {
      throw cannotRead(path, limits, error);
    }
    if (stats.isSymbolicLink()) throw linkRefused(path, limits, folder);
    if (!stats.isDirectory()) {
      throw new InputRefusedError(`${path}: cannot read the ${limits.what} (${folder} is not a folder)`, 'missing');
    }
  }
  return { within, below };
}

const placeOf = (path: string, limits: InputLimits): Place | undefined =>
  limits.within === undefined ? undefined : checkWayIn(path, limits, limits.within);

/**
 * What the open descriptor really is, from the kernel: a folder swapped for a link between the
 * checks and the open still shows here. Without /proc the checks on the way in stand alone.
 */
function checkOpened(fd: number, path: string, limits: InputLimits, place: Place | undefined): void {
  if (place === undefined) return;
  let opened: string;
  try {
    opened = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return;
  }
  let expected: string;
  try {
    expected = join(realpathSync(place.within), place.below);
  } catch (error) {
    throw cannotRead(path, limits, error);
  }
  if (opened !== expected) {
    throw new InputRefusedError(`${path}: ${limits.what} moved behind a symbolic link while opened, not read`, 'link');
  }
}

// O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;
const flagsFor = (limits: InputLimits) => OPEN_FLAGS | (limits.within === undefined ? 0 : constants.O_NOFOLLOW);

/** A regular file within the limits, opened for reading (the caller closes it), and its size. */
export async function openInput(path: string, limits: InputLimits): Promise<{ handle: FileHandle; size: number }> {
  const place = placeOf(path, limits);
  let handle;
  try {
    handle = await open(path, flagsFor(limits));
  } catch (error) {
    throw cannotRead(path, limits, error);
  }
  try {
    checkOpened(handle.fd, path, limits, place);
    const stats = await handle.stat();
    judge(path, stats, limits);
    return { handle, size: stats.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** A regular file's bytes, at most `maxBytes` of them. */
export async function readInputBytes(path: string, limits: InputLimits): Promise<Buffer> {
  const { handle, size } = await openInput(path, limits);
  try {
    // One byte past the limit is read: a file that grew after the stat is still refused.
    const buffer = Buffer.alloc(Math.min(limits.maxBytes + 1, size + 1));
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

const CHUNK_BYTES = 1 << 16;

/** An opened input's content in chunks, refused past the limit: for files streamed, not held whole. */
export async function* inputChunks(handle: FileHandle, path: string, limits: InputLimits): AsyncGenerator<Buffer> {
  let total = 0;
  for (;;) {
    const chunk = Buffer.alloc(CHUNK_BYTES);
    const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, total);
    if (bytesRead === 0) return;
    if ((total += bytesRead) > limits.maxBytes) throw grewPastLimit(path, limits);
    yield chunk.subarray(0, bytesRead);
  }
}

/** Copies a regular file within the limits to `destination`, streamed and atomically (whole or not at all). */
export async function copyInputFile(path: string, destination: string, limits: InputLimits): Promise<void> {
  const { handle } = await openInput(path, limits);
  try {
    await writeFileAtomic(destination, inputChunks(handle, path, limits));
  } finally {
    await handle.close();
  }
}

/** readInputBytes for the places that read synchronously (config loading). */
export function readInputBytesSync(path: string, limits: InputLimits): Buffer {
  const place = placeOf(path, limits);
  let fd: number;
  try {
    fd = openSync(path, flagsFor(limits));
  } catch (error) {
    throw cannotRead(path, limits, error);
  }
  try {
    checkOpened(fd, path, limits, place);
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
