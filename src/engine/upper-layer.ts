import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { padding, tarEnd, tarHeader, type TarMember } from '../util/tar-header.js';
import { readUpperXattrs, type UpperXattrs } from './overlay-xattrs.js';

/** A layer written as a registry takes it: gzip'd tar, with the digests of both forms. */
export interface LayerBlob {
  /** The gzip'd tar. */
  file: string;
  /** sha256 of the gzip'd bytes: the blob's digest in a manifest. */
  digest: string;
  /** Its size in bytes. */
  size: number;
  /** sha256 of the tar: the layer's diff_id in an image config. */
  diffId: string;
}

export interface UpperLayerOptions {
  /** gzip's level: 1 writes several times faster than the default 6 for a tenth more bytes. */
  level?: number;
  signal?: AbortSignal;
}

const WHITEOUT = '.wh.';
const OPAQUE_MARK = '.wh..wh..opq';

/**
 * The layer an overlayfs upper folder makes, in the OCI form: overlayfs's deletions (0:0 character devices)
 * become `.wh.<name>` entries, a folder it marked opaque gets `.wh..wh..opq`, file capabilities go as pax
 * records, files linked together within the folder are one file and hard links. Members in name order, parents
 * first. The upper folder must not change while it is written (its overlay unmounted or idle).
 */
export async function writeUpperLayer(
  upper: string,
  file: string,
  options: UpperLayerOptions = {},
): Promise<LayerBlob> {
  const xattrs = await readUpperXattrs(upper, options.signal);
  const tarHash = createHash('sha256');
  const gzipHash = createHash('sha256');
  let size = 0;
  await pipeline(
    Readable.from(tarChunks(upper, xattrs)),
    hashing(tarHash),
    createGzip({ level: options.level ?? 6 }),
    hashing(gzipHash, (bytes) => (size += bytes)),
    createWriteStream(file, { flags: 'wx' }),
    ...(options.signal ? [{ signal: options.signal }] : []),
  );
  return { file, digest: `sha256:${gzipHash.digest('hex')}`, size, diffId: `sha256:${tarHash.digest('hex')}` };
}

/** A pass-through that feeds every chunk to a hash (and counts its bytes). */
function hashing(hash: Hash, count?: (bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      hash.update(chunk);
      count?.(chunk.length);
      done(null, chunk);
    },
  });
}

/** Members are gathered into chunks of about this size: a stream step per 512-byte header would cost more than the gzip. */
const CHUNK_BYTES = 1 << 20;
/** Files up to this size are read whole; larger ones are streamed, so memory stays bounded. */
const READ_WHOLE_BYTES = 1 << 20;
/**
 * Small files read ahead of the one being written: each read is several round trips to libuv's threads, and a
 * layer of byte-compiled Python is thousands of small files, so reading them one at a time leaves the writer idle.
 */
const READS_AHEAD = 32;

interface Entry {
  path: string;
  stats: Stats;
  /** For a later name of a file linked within the folder: its first name, which the tar member links to. */
  firstName?: string;
}

/** The tar's bytes in chunks of about CHUNK_BYTES: each member's header, then a regular file's content. */
async function* tarChunks(upper: string, xattrs: UpperXattrs): AsyncGenerator<Buffer> {
  const entries = markHardLinks(await walk(upper, ''));
  const wholeReads = new ReadsAhead(upper, entries);
  let parts: Buffer[] = [];
  let gathered = 0;
  const add = (part: Buffer) => {
    parts.push(part);
    gathered += part.length;
  };
  const take = () => {
    const chunk = Buffer.concat(parts, gathered);
    parts = [];
    gathered = 0;
    return chunk;
  };
  for (const [index, entry] of entries.entries()) {
    const { path } = entry;
    const member = await memberOf(upper, entry, xattrs);
    add(tarHeader(member));
    if (member.kind === 'file' && member.size > 0) {
      let read = 0;
      if (member.size <= READ_WHOLE_BYTES) {
        const content = await wholeReads.take(index);
        read = content.length;
        add(content);
      } else {
        yield take();
        for await (const chunk of createReadStream(join(upper, path))) {
          read += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      }
      if (read !== member.size) throw new Error(`${path} changed while its layer was written`);
      add(padding(member.size));
    } else if (member.kind === 'directory' && xattrs.opaque.has(path)) {
      add(tarHeader({ ...member, path: `${path}/${OPAQUE_MARK}`, kind: 'file', size: 0, mode: 0 }));
    }
    if (gathered >= CHUNK_BYTES) yield take();
  }
  add(tarEnd());
  yield take();
}

/** The contents of the small regular files among the entries, read up to READS_AHEAD files before they are taken. */
class ReadsAhead {
  private readonly pending = new Map<number, Promise<Buffer>>();
  private readonly wanted: number[];
  private next = 0;

  constructor(
    private readonly root: string,
    private readonly entries: readonly Entry[],
  ) {
    // A file's later names are written as hard links to its first: only the first is read.
    this.wanted = entries.flatMap(({ stats, firstName }, index) =>
      stats.isFile() && firstName === undefined && stats.size > 0 && stats.size <= READ_WHOLE_BYTES ? [index] : [],
    );
  }

  /** The content of the entry at `index`, one of the small files, taken in order. */
  async take(index: number): Promise<Buffer> {
    while (this.next < this.wanted.length && this.pending.size < READS_AHEAD) {
      const ahead = this.wanted[this.next++] as number;
      const read = readFile(join(this.root, (this.entries[ahead] as Entry).path));
      // A read ahead whose file is never taken (the writing failed first) must not be an unhandled rejection.
      read.catch(() => undefined);
      this.pending.set(ahead, read);
    }
    const read = this.pending.get(index);
    if (read === undefined) throw new Error(`internal: ${this.entries[index]?.path ?? index} was not read ahead`);
    this.pending.delete(index);
    return read;
  }
}

/** Every entry under the folder, parents before what they hold, names in byte order; a folder's entries lstat'ed at once. */
async function walk(root: string, path: string): Promise<Entry[]> {
  const names = (await readdir(join(root, path))).sort(byBytes);
  for (const name of names) {
    if (name.includes('\uFFFD')) throw new Error(`${join(path, name)}: a name that is not UTF-8 cannot be written`);
  }
  const paths = names.map((name) => (path === '' ? name : `${path}/${name}`));
  const stats = await Promise.all(paths.map((entry) => lstat(join(root, entry))));
  const entries: Entry[] = [];
  for (const [index, entry] of paths.entries()) {
    const entryStats = stats[index] as Stats;
    entries.push({ path: entry, stats: entryStats });
    if (entryStats.isDirectory()) entries.push(...(await walk(root, entry)));
  }
  return entries;
}

/** The entries, each later name of a file linked within the folder marked with the first, in the entries' order. */
function markHardLinks(entries: Entry[]): Entry[] {
  const firstOfInode = new Map<string, string>();
  for (const entry of entries) {
    const { stats } = entry;
    if (!stats.isFile() || stats.nlink < 2) continue;
    const inode = `${stats.dev}:${stats.ino}`;
    const first = firstOfInode.get(inode);
    if (first === undefined) firstOfInode.set(inode, entry.path);
    else entry.firstName = first;
  }
  return entries;
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** One entry of the upper folder as its tar member, overlayfs's forms turned into OCI's. */
async function memberOf(upper: string, entry: Entry, xattrs: UpperXattrs): Promise<TarMember> {
  const { path, stats } = entry;
  const common = { path, mode: stats.mode, uid: stats.uid, gid: stats.gid, size: 0, mtime: stats.mtimeMs / 1000 };
  if (stats.isCharacterDevice() && stats.rdev === 0) {
    const at = path.lastIndexOf('/');
    return { ...common, path: `${path.slice(0, at + 1)}${WHITEOUT}${path.slice(at + 1)}`, kind: 'file', mode: 0 };
  }
  if (stats.isDirectory()) return { ...common, kind: 'directory' };
  if (stats.isSymbolicLink()) return { ...common, kind: 'symlink', linkName: await readlink(join(upper, path)) };
  if (stats.isFIFO()) return { ...common, kind: 'fifo' };
  if (stats.isCharacterDevice() || stats.isBlockDevice()) {
    // Linux's device number: the major in bits 8–19, the minor in bits 0–7 and 20–31.
    const device = {
      devMajor: (stats.rdev >> 8) & 0xfff,
      devMinor: (stats.rdev & 0xff) | ((stats.rdev >> 12) & 0xfff00),
    };
    return { ...common, ...device, kind: stats.isCharacterDevice() ? 'char' : 'block' };
  }
  if (!stats.isFile()) throw new Error(`${path}: a socket cannot be part of a layer`);
  if (entry.firstName !== undefined) return { ...common, kind: 'hardlink', linkName: entry.firstName };
  const capability = xattrs.capabilities.get(path);
  return {
    ...common,
    kind: 'file',
    size: stats.size,
    ...(capability ? { xattrs: new Map([['security.capability', capability]]) } : {}),
  };
}
