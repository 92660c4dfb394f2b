import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, type Result } from '../util/result.js';
import { parseJson } from './failure.js';
import type { EngineFailure } from './types.js';

/**
 * Where containers-storage (buildah's and podman's store) keeps images, containers and layers with its overlay
 * driver: JSON records beside one folder per layer, whose `diff` holds that layer's own changes in overlayfs's
 * form (a deletion is a 0:0 character device, a folder emptied and refilled carries trusted.overlay.opaque).
 * Those records are written whole and renamed into place by the store, so reading them needs no lock.
 */
interface LayerRecord {
  id: string;
  parent?: string;
  'diff-digest'?: string;
}

interface ImageRecord {
  id: string;
  layer?: string;
}

interface ContainerRecord {
  id: string;
  names?: string[];
  layer: string;
}

async function readRecords<T>(file: string): Promise<T[]> {
  const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
  if (!Array.isArray(parsed)) throw new Error(`${file} is not a list`);
  return parsed as T[];
}

/** A layer's own changes, as overlayfs reads them. */
export const layerDiffDir = (graphRoot: string, layerId: string): string => join(graphRoot, 'overlay', layerId, 'diff');

/**
 * The store's image and layer records, read once: a stack asks several questions of the same chains of layers.
 */
export class LayerRecords {
  private constructor(
    private readonly graphRoot: string,
    private readonly images: ReadonlyMap<string, ImageRecord>,
    private readonly layers: ReadonlyMap<string, LayerRecord>,
  ) {}

  static async read(graphRoot: string): Promise<LayerRecords> {
    const [images, layers] = await Promise.all([
      readRecords<ImageRecord>(join(graphRoot, 'overlay-images', 'images.json')),
      readRecords<LayerRecord>(join(graphRoot, 'overlay-layers', 'layers.json')),
    ]);
    const byId = <T extends { id: string }>(records: T[]) => new Map(records.map((record) => [record.id, record]));
    return new LayerRecords(graphRoot, byId(images), byId(layers));
  }

  /** The layers `image` has above `ancestor`'s, bottom first; undefined when `image` was not made from `ancestor`. */
  above(image: string, ancestor: string): string[] | undefined {
    const [own, below] = [this.chain(image), this.chain(ancestor)];
    if (below.length > own.length || below.some((layer, index) => own[index]?.id !== layer.id)) return undefined;
    return own.slice(below.length).map((layer) => layer.id);
  }

  /**
   * The layers that make `other` differ from `image`, bottom first: those above the bottom the two share, less
   * copies of `image`'s own layers there (the same digest: a child's layers carried onto a patched parent).
   */
  differing(other: string, image: string): string[] {
    const [theirs, mine] = [this.chain(other), this.chain(image)];
    let shared = 0;
    while (shared < theirs.length && theirs[shared]?.id === mine[shared]?.id) shared += 1;
    const carried = new Set(mine.slice(shared).map((layer) => layer.digest));
    return theirs
      .slice(shared)
      .filter((layer) => !carried.has(layer.digest))
      .map((layer) => layer.id);
  }

  /** The image's layers, bottom first. */
  layersOf(image: string): string[] {
    return this.chain(image).map((layer) => layer.id);
  }

  /** The image's layers, bottom first, each with the digest of its changes (its id where the store has none). */
  private chain(imageId: string): Array<{ id: string; digest: string }> {
    const image = this.images.get(imageId);
    if (image === undefined) throw new Error(`image ${imageId} is not in ${this.graphRoot}`);
    const chain: Array<{ id: string; digest: string }> = [];
    for (let id = image.layer; id !== undefined && id !== ''; id = this.layers.get(id)?.parent) {
      const layer = this.layers.get(id);
      if (layer === undefined) throw new Error(`layer ${id} of image ${imageId} is not in ${this.graphRoot}`);
      chain.push({ id, digest: layer['diff-digest'] ?? id });
    }
    return chain.reverse();
  }
}

/** The folder a working container's own layer writes to. */
export async function containerDiffDir(graphRoot: string, containerName: string): Promise<string> {
  const containers = await readRecords<ContainerRecord>(join(graphRoot, 'overlay-containers', 'containers.json'));
  const container = containers.find((record) => record.names?.includes(containerName) === true);
  if (container === undefined) throw new Error(`container ${containerName} is not in ${graphRoot}`);
  return layerDiffDir(graphRoot, container.layer);
}

/**
 * A layer's folder as overlayfs mount options name it: `l/<short name>` under the driver's folder. The store
 * keeps these short links so that a mount naming many layers fits the kernel's one page of options.
 */
export async function layerShortLink(graphRoot: string, layerId: string): Promise<string> {
  const short = (await readFile(join(graphRoot, 'overlay', layerId, 'link'), 'utf8')).trim();
  if (!/^[A-Z0-9]+$/.test(short)) throw new Error(`layer ${layerId} has no short link`);
  return `l/${short}`;
}

/** Layers' short links (layerShortLink), top first as overlayfs's lowerdir lists them, from a chain bottom first. */
export function shortLinksTopFirst(graphRoot: string, layerIds: readonly string[]): Promise<string[]> {
  return Promise.all([...layerIds].reverse().map((id) => layerShortLink(graphRoot, id)));
}

/** Whether a layer changes nothing (a metadata-only step's layer). */
export async function isEmptyLayer(graphRoot: string, layerId: string): Promise<boolean> {
  return (await readdir(layerDiffDir(graphRoot, layerId))).length === 0;
}

/** The store an engine keeps its images in: one folder of layers, one of run state, one driver. */
export interface StoreSite {
  graphRoot: string;
  runRoot: string;
  driver: string;
}

/** How each engine's info names its store's parts (podman's JSON in camel case, buildah's capitalised). */
const STORE_KEYS = {
  podman: { graphRoot: 'graphRoot', runRoot: 'runRoot', driver: 'graphDriverName' },
  buildah: { graphRoot: 'GraphRoot', runRoot: 'RunRoot', driver: 'GraphDriverName' },
} as const;

/** The store an engine's info answer names (`podman info --format json`, `buildah info`). */
export function storeSite(engine: keyof typeof STORE_KEYS, answer: string): Result<StoreSite, EngineFailure> {
  const parsed = parseJson<{ store?: Record<string, string | undefined> }>(answer, `${engine} info`);
  if (!parsed.ok) return parsed;
  const store = parsed.value.store ?? {};
  const keys = STORE_KEYS[engine];
  return ok({
    graphRoot: store[keys.graphRoot] ?? '',
    runRoot: store[keys.runRoot] ?? '',
    driver: store[keys.driver] ?? '',
  });
}
