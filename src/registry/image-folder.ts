import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalBlob } from './blob-upload.js';
import { sha256Digest } from './client.js';
import type { Descriptor } from './manifest-shape.js';
import { uniqueBlobs } from './copy.js';
import { manifestKind, OCI_MANIFEST } from './media-types.js';

/** One image as an engine exported it to a folder: its manifest's exact bytes and its blobs as files. */
export interface ImageFolder {
  manifest: Buffer;
  mediaType: string;
  /** The config's digest: what the image is, however its layers are compressed (the image id of every engine). */
  config: string;
  /** The config, then the layers, each once. */
  blobs: LocalBlob[];
}

/** The engine's export is not the one-image folder a push needs. */
export class ImageFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageFolderError';
  }
}

/** Registries refuse larger manifests (docker-registry's limit is 4 MiB). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * Reads an exported image: an OCI image layout (`index.json`, `blobs/<algorithm>/<hex>`), or a
 * containers/image `dir:` folder (`manifest.json`, `<hex>`), which keeps a Docker image's manifest
 * type and its config byte for byte, where an OCI layout would convert both.
 */
export async function readImageFolder(dir: string): Promise<ImageFolder> {
  const ociIndex = join(dir, 'index.json');
  const exists = await stat(ociIndex).then(
    () => true,
    () => false,
  );
  return exists ? readOciLayout(dir, ociIndex) : readDirFolder(dir);
}

async function readOciLayout(dir: string, indexFile: string): Promise<ImageFolder> {
  const index = parseJson<{ manifests?: Descriptor[] }>(await readFile(indexFile, 'utf8'), indexFile);
  const entries = index.manifests ?? [];
  const [entry] = entries;
  if (entry === undefined || entries.length !== 1) {
    throw new ImageFolderError(`${indexFile}: ${entries.length} manifests, where one image was exported`);
  }
  if (entry.size > MAX_MANIFEST_BYTES) throw new ImageFolderError(`${indexFile}: a manifest of ${entry.size} bytes`);
  const manifestFile = ociBlobFile(dir, entry.digest);
  const manifest = await readFile(manifestFile);
  if (sha256Digest(manifest) !== entry.digest) {
    throw new ImageFolderError(`${manifestFile}: its bytes are not the manifest ${entry.digest}`);
  }
  return imageOf(manifest, entry.mediaType, manifestFile, (digest) => ociBlobFile(dir, digest));
}

async function readDirFolder(dir: string): Promise<ImageFolder> {
  const manifestFile = join(dir, 'manifest.json');
  const manifest = await readFile(manifestFile).catch(() => {
    throw new ImageFolderError(`${dir}: neither an OCI layout (index.json) nor a dir: folder (manifest.json)`);
  });
  if (manifest.length > MAX_MANIFEST_BYTES) throw new ImageFolderError(`${manifestFile}: ${manifest.length} bytes`);
  const { mediaType } = parseJson<{ mediaType?: string }>(manifest.toString('utf8'), manifestFile);
  return imageOf(manifest, mediaType ?? OCI_MANIFEST, manifestFile, (digest) => join(dir, hexOf(dir, digest).hex));
}

async function imageOf(
  manifest: Buffer,
  mediaType: string,
  manifestFile: string,
  fileOf: (digest: string) => string,
): Promise<ImageFolder> {
  if (manifestKind(mediaType) !== 'image') {
    throw new ImageFolderError(`${manifestFile}: a "${mediaType}", not an image manifest`);
  }
  const parsed = parseJson<{ config?: Descriptor; layers?: Descriptor[] }>(manifest.toString('utf8'), manifestFile);
  if (parsed.config === undefined) throw new ImageFolderError(`${manifestFile}: no config`);
  const descriptors = uniqueBlobs([parsed.config, ...(parsed.layers ?? [])]);
  const blobs = await Promise.all(descriptors.map((blob) => localBlob(fileOf(blob.digest), blob)));
  return { manifest, mediaType, config: parsed.config.digest, blobs };
}

/** The blob's file, which must have the size the manifest gives (the registry checks the digest). */
async function localBlob(file: string, blob: Descriptor): Promise<LocalBlob> {
  const size = await stat(file).then(
    (stats) => stats.size,
    () => undefined,
  );
  if (size !== blob.size) {
    const found = size === undefined ? 'missing' : `${size} bytes`;
    throw new ImageFolderError(`${file}: ${found}, where the manifest says ${blob.size} bytes`);
  }
  return { digest: blob.digest, size: blob.size, file };
}

function ociBlobFile(dir: string, digest: string): string {
  const { algorithm, hex } = hexOf(dir, digest);
  return join(dir, 'blobs', algorithm, hex);
}

function hexOf(dir: string, digest: string): { algorithm: string; hex: string } {
  const match = /^(sha256|sha512):([a-f0-9]{64,128})$/.exec(digest);
  if (!match?.[1] || !match[2]) throw new ImageFolderError(`${dir}: a blob named "${digest}"`);
  return { algorithm: match[1], hex: match[2] };
}

function parseJson<T>(text: string, file: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ImageFolderError(`${file}: not JSON`);
  }
}
