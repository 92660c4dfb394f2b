import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { blobPath, ImageLayoutError, readLayoutDocument, type Descriptor } from '../util/oci-layout.js';
import { pacer } from '../util/pace.js';
import {
  InventoryLimitError,
  inventoryFileLimit,
  MAX_IMAGE_INVENTORY_BYTES,
  MAX_LAYER_KEPT_ENTRIES,
} from './inventory-limits.js';
import { readTar, type TarEntry } from '../util/tar-stream.js';
import { sizeText } from '../util/size-text.js';

export { ImageLayoutError };

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
    const hidden = new Set<string>();
    const opaque = new Set<string>();
    for (const entry of entries) {
      const slash = entry.path.lastIndexOf('/');
      const dir = slash >= 0 ? entry.path.slice(0, slash + 1) : '';
      const base = entry.path.slice(slash + 1);
      if (base === OPAQUE) opaque.add(dir);
      else if (base.startsWith(WHITEOUT)) hidden.add(dir + base.slice(WHITEOUT.length));
    }
    // Each path is looked up by its own folders (sets), never against every marker: a layer of a
    // hundred thousand whiteouts over as many files stays linear.
    const hides = (path: string): boolean => {
      if (hidden.has(path) || opaque.has('')) return true;
      for (let slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1)) {
        if (hidden.has(path.slice(0, slash)) || opaque.has(path.slice(0, slash + 1))) return true;
      }
      return false;
    };
    for (const path of [...this.files.keys()]) if (hides(path)) this.files.delete(path);
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

/** The layer blobs of the (first) image in an OCI image layout, lowest first. */
export async function layoutLayers(dir: string): Promise<string[]> {
  let descriptor: Descriptor | undefined = (await readLayoutDocument(join(dir, 'index.json'))).manifests?.[0];
  for (let depth = 0; descriptor && depth < 4; depth++) {
    const document = await readLayoutDocument(blobPath(dir, descriptor.digest));
    if (document.layers) return document.layers.map((layer) => blobPath(dir, layer.digest));
    descriptor = document.manifests?.[0];
  }
  throw new ImageLayoutError(`${dir}: no image manifest in the OCI layout`);
}

async function layerStream(path: string, label: string): Promise<Readable> {
  const head = Buffer.alloc(4);
  try {
    const handle = await open(path, 'r');
    await handle.read(head, 0, 4, 0).finally(() => handle.close());
  } catch (error) {
    throw new ImageLayoutError(`${label}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip({ chunkSize: 1 << 20 });
    // pipe() does not pass on the file's errors: the reader would wait for the gzip's end forever.
    raw.on('error', (error) => gunzip.destroy(error));
    return raw.pipe(gunzip);
  }
  if (head.readUInt32LE(0) === 0xfd2fb528) {
    raw.destroy();
    throw new ImageLayoutError(`${label}: zstd-compressed layers cannot be read (gzip or plain tar only)`);
  }
  return raw;
}

export interface LayoutReadOptions {
  /** Largest content read for one wanted file (default: the inventory's limits). */
  maxFileBytes?: (path: string) => number;
  /** Largest total of wanted content across the image's layers. */
  maxImageBytes?: number;
  /** Most entries (wanted files and whiteouts) kept from one layer. */
  maxLayerEntries?: number;
  /** Stops the reading: the layers are streamed and the loop turns often enough to hear it. */
  signal?: AbortSignal;
}

/**
 * The entries read from layers, by blob digest: images of one run share their lower layers, and an
 * engine exports a layer as the same blob each time, so each is read once. One cache per `wanted`.
 */
export type LayerCache = Map<string, readonly TarEntry[]>;

/**
 * The wanted files of an OCI layout's image, as its merged filesystem shows them. Each wanted file,
 * the image's total and each layer's kept entries are capped: a refusal names the layer and the path.
 */
export async function readLayoutFiles(
  dir: string,
  wanted: (path: string) => boolean,
  cache: LayerCache = new Map(),
  options: LayoutReadOptions = {},
): Promise<Map<string, ImageFile>> {
  const maxImageBytes = options.maxImageBytes ?? MAX_IMAGE_INVENTORY_BYTES;
  const maxLayerEntries = options.maxLayerEntries ?? MAX_LAYER_KEPT_ENTRIES;
  const pace = pacer(options.signal);
  const merged = new LayeredFiles();
  const keep = (path: string) => wanted(path) || path.slice(path.lastIndexOf('/') + 1).startsWith(WHITEOUT);
  let imageBytes = 0;
  for (const layer of await layoutLayers(dir)) {
    const digest = layer.slice(layer.lastIndexOf('blobs/'));
    const label = `layer ${digest
      .slice('blobs/'.length)
      .replace('/', ':')
      .slice(0, 7 + 16)}`;
    let entries = cache.get(digest);
    if (!entries) {
      const read: TarEntry[] = [];
      const onEntry = (entry: TarEntry) => {
        if (!keep(entry.path)) return;
        if (read.length >= maxLayerEntries) {
          throw new InventoryLimitError(`${label}: more than the ${maxLayerEntries} files and whiteouts allowed`);
        }
        read.push(entry);
      };
      const maxFileBytes = options.maxFileBytes ?? inventoryFileLimit;
      await readTar(await layerStream(layer, label), wanted, onEntry, { label, maxFileBytes, pace });
      cache.set(digest, read);
      entries = read;
    }
    for (const entry of entries) imageBytes += entry.content?.length ?? 0;
    if (imageBytes > maxImageBytes) {
      const limit = sizeText(maxImageBytes);
      throw new InventoryLimitError(`${label}: the files read from the image add up to more than the ${limit} allowed`);
    }
    await pace();
    merged.applyLayer(entries);
  }
  return merged.files;
}
