import { createReadStream, createWriteStream, existsSync, type ReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import type { OutgoingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { writeFileAtomic } from '../util/atomic-write.js';
import { sha256Hex } from '../util/hash.js';

/** Headers worth replaying from a cached response. */
const KEPT = ['content-type', 'content-length', 'etag', 'last-modified', 'accept-ranges'];

interface Meta {
  path: string;
  headers: OutgoingHttpHeaders;
  size: number;
}

/**
 * Content of pinned snapshot versions never changes, so it can be kept on disk and served
 * again without asking Pulp. Anything outside the pinned prefixes (moving distributions,
 * the status endpoint) is never cached.
 */
export class ContentCache {
  constructor(
    private readonly dir: string,
    private readonly pinnedPrefixes: readonly string[],
  ) {}

  isCacheable(path: string): boolean {
    const pathOnly = path.split('?')[0] ?? '';
    return this.pinnedPrefixes.some((prefix) => pathOnly.startsWith(prefix) && pathOnly.length > prefix.length);
  }

  async lookup(path: string): Promise<{ headers: OutgoingHttpHeaders; size: number; open: () => ReadStream } | undefined> {
    const files = this.files(path);
    if (!existsSync(files.meta) || !existsSync(files.body)) return undefined;
    const meta = JSON.parse(await readFile(files.meta, 'utf8')) as Meta;
    if (meta.path !== path || (await stat(files.body)).size !== meta.size) return undefined;
    return { headers: meta.headers, size: meta.size, open: () => createReadStream(files.body) };
  }

  /** A sink for a 200 response body; the entry appears only once the whole body arrived. */
  async writer(path: string, headers: Record<string, string | string[] | undefined>): Promise<{ stream: Writable; commit: (bytes: number) => Promise<void>; abandon: () => Promise<void> }> {
    await mkdir(this.dir, { recursive: true });
    const files = this.files(path);
    const partial = `${files.body}.${process.pid}.${Date.now()}.partial`;
    const stream = createWriteStream(partial);
    const kept: OutgoingHttpHeaders = {};
    for (const name of KEPT) if (headers[name] !== undefined) kept[name] = headers[name];
    const expected = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
    return {
      stream,
      commit: async (bytes) => {
        if (expected !== undefined && bytes !== expected) return rm(partial, { force: true });
        const meta: Meta = { path, headers: { ...kept, 'content-length': String(bytes) }, size: bytes };
        await rename(partial, files.body);
        await writeFileAtomic(files.meta, JSON.stringify(meta));
      },
      abandon: () => rm(partial, { force: true }),
    };
  }

  private files(path: string): { body: string; meta: string } {
    const key = sha256Hex(path);
    return { body: join(this.dir, `${key}.body`), meta: join(this.dir, `${key}.json`) };
  }
}
