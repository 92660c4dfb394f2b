import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

/** Which needles (by index) occur in a stream; chunks overlap so a needle split across two is found. */
export async function searchStream(stream: Readable, needles: readonly Buffer[]): Promise<Set<number>> {
  const found = new Set<number>();
  const overlap = Math.max(0, ...needles.map((needle) => needle.length)) - 1;
  let tail = Buffer.alloc(0);
  for await (const chunk of stream) {
    const window = Buffer.concat([tail, chunk as Buffer]);
    needles.forEach((needle, index) => {
      if (!found.has(index) && window.includes(needle)) found.add(index);
    });
    tail = overlap > 0 ? window.subarray(Math.max(0, window.length - overlap)) : Buffer.alloc(0);
  }
  return found;
}

/** Searches a blob file, decompressing it first when it is gzip (image layers usually are). */
export async function searchBlob(path: string, needles: readonly Buffer[]): Promise<Set<number>> {
  const head = await readHead(path);
  const raw = createReadStream(path);
  return searchStream(head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(createGunzip()) : raw, needles);
}

async function readHead(path: string): Promise<Buffer> {
  for await (const chunk of createReadStream(path, { start: 0, end: 1 })) return chunk as Buffer;
  return Buffer.alloc(0);
}
