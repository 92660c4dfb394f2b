import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { readTar, type TarEntry } from './tar-stream.js';

/** A file as the image's merged filesystem shows it. */
export interface ImageFile {
  kind: TarEntry['kind'];
  linkTarget: string;
  content?: Buffer;
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/**
 * Overlays layers in order, keeping only the paths `wanted` accepts: a whiteout `.wh.x` hides `x`
 * (and what is under it) from the layers below, an opaque marker hides a folder's whole lower content.
 */
export class LayeredFiles {
  readonly files = new Map<string, ImageFile>();

  applyLayer(entries: readonly TarEntry[]): void {
    const hidden: string[] = [];
    const opaque: string[] = [];
    for (const entry of entries) {
      const slash = entry.path.lastIndexOf('/');
      const dir = slash >= 0 ? entry.path.slice(0, slash + 1) : '';
      const base = entry.path.slice(slash + 1);
      if (base === OPAQUE) opaque.push(dir);
      else if (base.startsWith(WHITEOUT)) hidden.push(dir + base.slice(WHITEOUT.length));
    }
    for (const path of [...this.files.keys()]) {
      const whitedOut = hidden.some((gone) => path === gone || path.startsWith(`${gone}/`));
      if (whitedOut || opaque.some((dir) => path.startsWith(dir))) {
        this.files.delete(path);
      }
    }
    const inLayer = new Map(entries.map((entry) => [entry.path, entry]));
    for (const entry of entries) {
      const base = entry.path.slice(entry.path.lastIndexOf('/') + 1);
      if (base.startsWith(WHITEOUT)) continue;
      // A hard link's content is its target's, from the same layer.
      const content = entry.kind === 'hardlink' ? inLayer.get(entry.linkTarget)?.content : entry.content;
      this.files.set(entry.path, { kind: content ? 'file' : entry.kind, linkTarget: entry.linkTarget, content });
    }
  }
}

interface Descriptor {
  mediaType?: string;
  digest: string;
}

export class ImageLayoutError extends Error {}

/** The layer blobs of the (first) image in an OCI image layout, lowest first. */
export async function layoutLayers(dir: string): Promise<string[]> {
  const blob = (digest: string) => join(dir, 'blobs', ...digest.split(':'));
  const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T;
  let descriptor = (await readJson<{ manifests?: Descriptor[] }>(join(dir, 'index.json'))).manifests?.[0];
  for (let depth = 0; descriptor && depth < 4; depth++) {
    const document = await readJson<{ manifests?: Descriptor[]; layers?: Descriptor[] }>(blob(descriptor.digest));
    if (document.layers) return document.layers.map((layer) => blob(layer.digest));
    descriptor = document.manifests?.[0];
  }
  throw new ImageLayoutError(`${dir}: no image manifest in the OCI layout`);
}

async function layerStream(path: string): Promise<Readable> {
  const handle = await open(path, 'r');
  const head = Buffer.alloc(4);
  await handle.read(head, 0, 4, 0);
  await handle.close();
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (head[0] === 0x1f && head[1] === 0x8b) return raw.pipe(createGunzip({ chunkSize: 1 << 20 }));
  if (head.readUInt32LE(0) === 0xfd2fb528) {
    raw.destroy();
    throw new ImageLayoutError(`${path}: zstd-compressed layers cannot be read (gzip or plain tar only)`);
  }
  return raw;
}

/**
 * The entries read from layers, by blob digest: images of one run share their lower layers, and an
 * engine exports a layer as the same blob each time, so each is read once. One cache per `wanted`.
 */
export type LayerCache = Map<string, readonly TarEntry[]>;

/** The wanted files of an OCI layout's image, as its merged filesystem shows them. */
export async function readLayoutFiles(
  dir: string,
  wanted: (path: string) => boolean,
  cache: LayerCache = new Map(),
): Promise<Map<string, ImageFile>> {
  const merged = new LayeredFiles();
  const keep = (path: string) => wanted(path) || path.slice(path.lastIndexOf('/') + 1).startsWith(WHITEOUT);
  for (const layer of await layoutLayers(dir)) {
    const digest = layer.slice(layer.lastIndexOf('blobs/'));
    let entries = cache.get(digest);
    if (!entries) {
      const read: TarEntry[] = [];
      await readTar(await layerStream(layer), wanted, (entry) => {
        if (keep(entry.path)) read.push(entry);
      });
      cache.set(digest, read);
      entries = read;
    }
    merged.applyLayer(entries);
  }
  return merged.files;
}
