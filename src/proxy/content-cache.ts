import { randomBytes } from 'node:crypto';
import { close, createReadStream, createWriteStream, fstat, open, type ReadStream, type WriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { validateHeaderValue, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UsageError } from '../util/errors.js';
import { sha256Hex } from '../util/hash.js';
import { isIdentityRepresentation, mirrorPathPolicy, pulpPathPolicy, type CachePolicy } from './cache-policy.js';
import { CacheIndex } from './cache-prune.js';
import type { Route } from './routes.js';
import type { Upstream } from './upstream.js';

/** Headers worth replaying from a cached response. */
const KEPT = ['content-type', 'content-length', 'etag', 'last-modified', 'accept-ranges'];

/**
 * Read size for serving a hit: also what each hit being served may hold read ahead. 256 KiB
 * cost some 15% more CPU per MB than this; a small file is read whole in one go either way.
 */
const HIT_READ_BYTES = 1024 * 1024;

interface Meta {
  path: string;
  headers: Record<string, string>;
  size: number;
  /**
   * Always identity. Entries written before only plain bodies were stored lack it: they may hold
   * a compressed body that a client asked for, and immutable ones would never be asked about again.
   */
  representation: typeof IDENTITY;
}

const IDENTITY = 'identity';

export interface CacheHit {
  headers: OutgoingHttpHeaders;
  size: number;
  /** The body, read from a file already open: an entry removed meanwhile still reads whole. */
  open: () => ReadStream;
  /** Closes the file when the body is not served after all (upstream answered with a new copy). */
  discard: () => void;
}

export interface ContentCacheOptions {
  /** Pruned to this size, least recently used entries first (default DEFAULT_CACHE_MAX_GIB). */
  maxBytes?: number;
}

export const DEFAULT_CACHE_MAX_GIB = 20;
const GIB = 1024 ** 3;

export interface CacheWriter {
  stream: WriteStream;
  /** Commits the entry when the body came whole, else drops it; true once committed. Never rejects. */
  finish: (complete: boolean, bytes: number) => Promise<boolean>;
}

const openFile = promisify(open);
const fstatFile = promisify(fstat);
const closeFile = promisify(close);

function uniqueSuffix(): string {
  return `${process.pid}.${randomBytes(6).toString('hex')}`;
}

/** The error's code, for one-line messages: EACCES, ENOSPC, ENOTDIR... */
function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? (error instanceof Error ? error.message : String(error));
}

/** A metadata file as written by commit, or undefined for anything else (truncated, garbage, edited). */
export function parseMeta(text: string): Meta | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { path, headers, size, representation } = value as Record<string, unknown>;
  if (typeof path !== 'string' || typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (representation !== IDENTITY) return undefined;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return undefined;
  const kept: Record<string, string> = {};
  for (const [name, headerValue] of Object.entries(headers)) {
    if (!KEPT.includes(name) || typeof headerValue !== 'string') return undefined;
    try {
      validateHeaderValue(name, headerValue);
    } catch {
      return undefined;
    }
    kept[name] = headerValue;
  }
  return { path, headers: kept, size, representation: IDENTITY };
}

/**
 * Package repository content kept on disk: what never changes at its path (pinned Pulp
 * snapshots, pool and by-hash files, rpms) is served again without asking upstream; indexes
 * are kept with their validators for revalidation (cache-policy.ts). The cache only ever
 * saves upstream requests: an entry it cannot read is a miss, a body it cannot write is
 * served uncached. Entries are pruned, least recently used first, past the size limit.
 */
export class ContentCache {
  private warnedWriteFailure = false;
  private readonly index: CacheIndex;

  constructor(
    readonly dir: string,
    private readonly pinnedPrefixes: readonly string[],
    private readonly warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
    options: ContentCacheOptions = {},
  ) {
    this.index = new CacheIndex(dir, options.maxBytes ?? DEFAULT_CACHE_MAX_GIB * GIB);
  }

  /** Creates the folder and proves it writable, so a bad cache_dir stops the proxy before it serves. */
  async prepare(): Promise<void> {
    const probe = join(this.dir, `.write-test-${process.pid}`);
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFile(probe, '');
      await rm(probe, { force: true });
    } catch (error) {
      const fix = 'set proxy.cache_dir (or proxy serve --cache-dir) to a writable folder, or build --no-package-cache';
      throw new UsageError(`the proxy cache folder ${this.dir} is not usable (${codeOf(error)}): ${fix}`);
    }
    await this.index.load();
  }

  /** How a routed request may be served from the cache. */
  policyFor(route: Route): CachePolicy {
    switch (route.kind) {
      case 'pulp-content':
        return pulpPathPolicy(route.upstreamPath, this.pinnedPrefixes);
      case 'pulp-status':
        return 'none';
      case 'mirror':
        return mirrorPathPolicy(route.upstreamPath);
      default: {
        const never: never = route;
        return never;
      }
    }
  }

  /**
   * The entry's name: Pulp content by its path (the one Pulp), a mirror's by its full upstream
   * URL, so a repository pointed at another mirror never serves the old one's files.
   */
  keyFor(route: Route, upstream: Upstream): string {
    return route.kind === 'mirror' ? upstream.href(route.upstreamPath) : route.upstreamPath;
  }

  /** Waits for a prune under way (tests, shutdown). */
  settled(): Promise<void> {
    return this.index.idle();
  }

  /** The entry for a path, or undefined; an entry that is not whole and well-formed is removed. */
  async lookup(path: string): Promise<CacheHit | undefined> {
    const files = this.files(path);
    let text: string;
    try {
      text = await readFile(files.meta, 'utf8');
    } catch {
      return undefined;
    }
    const meta = parseMeta(text);
    let fd: number | undefined;
    try {
      if (meta === undefined || meta.path !== path) throw new Error('unreadable metadata');
      fd = await openFile(files.body, 'r');
      if ((await fstatFile(fd)).size !== meta.size) throw new Error('body size differs from its metadata');
    } catch {
      if (fd !== undefined) await closeFile(fd).catch(() => undefined);
      await this.forget(files);
      return undefined;
    }
    // A plain descriptor, not a FileHandle: its streams read with callbacks, without a promise per chunk.
    const opened = fd;
    // Large reads: a 64 MiB body in 1 MiB chunks is 64 reads and writes, not 1024 of each.
    // The known end keeps a small body's read buffer small and spares the read that finds end of file.
    const bounds = meta.size > 0 ? { start: 0, end: meta.size - 1 } : {};
    const read = () => createReadStream('', { fd: opened, autoClose: true, highWaterMark: HIT_READ_BYTES, ...bounds });
    const discard = () => close(opened, () => undefined);
    this.index.used(files.key);
    return { headers: meta.headers, size: meta.size, open: read, discard };
  }

  /**
   * A sink for a 200 response body; the entry appears only once the whole body arrived.
   * Undefined when the cache cannot or will not take it (an encoded body): the response is then served uncached.
   */
  async writer(path: string, headers: IncomingHttpHeaders): Promise<CacheWriter | undefined> {
    if (!isIdentityRepresentation(headers)) return undefined;
    const files = this.files(path);
    const partial = `${files.body}.${uniqueSuffix()}.partial`;
    let stream: WriteStream;
    try {
      await mkdir(this.dir, { recursive: true });
      stream = createWriteStream('', { fd: await openFile(partial, 'wx'), autoClose: true });
    } catch (error) {
      this.writeFailed(error);
      return undefined;
    }
    let failure: unknown;
    stream.on('error', (error) => (failure ??= error));
    const kept: Record<string, string> = {};
    for (const name of KEPT) {
      const value = headers[name];
      if (typeof value === 'string') kept[name] = value;
    }
    const expected = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
    const finish = async (complete: boolean, bytes: number): Promise<boolean> => {
      await new Promise<void>((resolve) => {
        if (stream.closed) return resolve();
        stream.once('close', () => resolve());
        stream.end();
      });
      if (failure !== undefined) this.writeFailed(failure);
      if (failure !== undefined || !complete || (expected !== undefined && bytes !== expected)) {
        await rm(partial, { force: true }).catch(() => undefined);
        return false;
      }
      const meta: Meta = {
        path,
        headers: { ...kept, 'content-length': String(bytes) },
        size: bytes,
        representation: IDENTITY,
      };
      // Readers see the old entry or the new one; two misses of one path may both commit.
      const metaPartial = `${files.meta}.${uniqueSuffix()}.partial`;
      try {
        const metaText = JSON.stringify(meta);
        await writeFile(metaPartial, metaText);
        await rename(partial, files.body);
        await rename(metaPartial, files.meta);
        this.index.written(files.key, bytes + Buffer.byteLength(metaText));
        return true;
      } catch (error) {
        this.writeFailed(error);
        const leftovers = [rm(partial, { force: true }), rm(metaPartial, { force: true }), this.forget(files)];
        await Promise.all(leftovers).catch(() => undefined);
        return false;
      }
    };
    return { stream, finish };
  }

  /** One warning for the life of the proxy: a full disk would otherwise log every request. */
  private writeFailed(error: unknown): void {
    if (this.warnedWriteFailure) return;
    this.warnedWriteFailure = true;
    const consequence = 'serving without caching what fails';
    this.warn(`auth proxy: cannot write to the cache folder ${this.dir} (${codeOf(error)}); ${consequence}`);
  }

  private async forget(files: { key: string; body: string; meta: string }): Promise<void> {
    this.index.forgotten(files.key);
    await Promise.all([rm(files.meta, { force: true }), rm(files.body, { force: true })]).catch(() => undefined);
  }

  private files(path: string): { key: string; body: string; meta: string } {
    const key = sha256Hex(path);
    return { key, body: join(this.dir, `${key}.body`), meta: join(this.dir, `${key}.json`) };
  }
}
