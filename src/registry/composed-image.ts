import { isPlainObject } from '../util/plain-object.js';
import type { ImageManifest, RegistryClient } from './client.js';
import { sha256Digest } from './client.js';
import { pushBlob, type BlobPushOptions, type LocalBlob } from './blob-upload.js';
import type { Descriptor } from './manifest-shape.js';
import { DOCKER_MANIFEST, OCI_MANIFEST } from './media-types.js';

/** An image as a registry holds it: its manifest and its config, whole. */
export interface RegistryImage {
  manifest: ImageManifest;
  config: Record<string, unknown>;
}

/** A layer made on this host, to go on top: the gzip'd blob's digest and size, the tar's digest. */
export interface NewLayer {
  digest: string;
  size: number;
  diffId: string;
}

/**
 * An image put together at the registry: `onto`'s layers, then the layers `image` has above `below` (the image it
 * was made from, which `onto` replaces: a patched parent), then one layer made here. The config is `image`'s,
 * with `labels` over its labels, its layers and history re-listed.
 */
export interface Composition {
  onto: RegistryImage;
  image: RegistryImage;
  /** Only its config is read (its diff ids and history): it need not be in the registry. */
  below: Pick<RegistryImage, 'config'>;
  layer: NewLayer;
  /** The history entry of the new layer: what made it. */
  createdBy: string;
  labels: Record<string, string>;
  /** RFC 3339, for the config and the new history entry. */
  created: string;
}

export interface Composed {
  mediaType: string;
  manifest: Buffer;
  config: Buffer;
  layers: Descriptor[];
  configDescriptor: Descriptor;
}

const LAYER_MEDIA_TYPE: Record<string, string> = {
  [OCI_MANIFEST]: 'application/vnd.oci.image.layer.v1.tar+gzip',
  [DOCKER_MANIFEST]: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
};

/** Pure: the composed manifest and config, or why the three images do not fit together. */
export function composeImage(parts: Composition): Composed | { refused: string } {
  const { onto, image, below } = parts;
  const mediaType = bare(image.manifest.mediaType);
  const layerMediaType = LAYER_MEDIA_TYPE[mediaType];
  if (layerMediaType === undefined) return { refused: `its manifest type ${mediaType} cannot be composed` };
  if (bare(onto.manifest.mediaType) !== mediaType) {
    return { refused: `its manifest is ${mediaType}, the image it goes onto ${bare(onto.manifest.mediaType)}` };
  }
  const diffIds = {
    onto: listOf(onto.config, 'rootfs', 'diff_ids'),
    image: listOf(image.config, 'rootfs', 'diff_ids'),
  };
  const belowDiffIds = listOf(below.config, 'rootfs', 'diff_ids');
  if (diffIds.onto === undefined || diffIds.image === undefined || belowDiffIds === undefined) {
    return { refused: 'an image config without rootfs.diff_ids' };
  }
  if (diffIds.onto.length !== onto.manifest.layers.length || diffIds.image.length !== image.manifest.layers.length) {
    return { refused: 'an image config whose diff_ids do not match its manifest' };
  }
  const belowLayers = belowDiffIds.length;
  if (diffIds.image.length < belowLayers || belowDiffIds.some((diffId, at) => diffIds.image?.[at] !== diffId)) {
    return { refused: 'its layers do not start with those of the image it was made from' };
  }
  const history = { onto: listOf(onto.config, 'history'), image: listOf(image.config, 'history') };
  const belowHistory = listOf(below.config, 'history') ?? [];

  const ownLayers = image.manifest.layers.slice(belowLayers);
  const newLayer: Descriptor = { mediaType: layerMediaType, digest: parts.layer.digest, size: parts.layer.size };
  const layers = [...onto.manifest.layers, ...ownLayers, newLayer];
  const imageSettings = isPlainObject(image.config.config) ? image.config.config : {};
  const labels = isPlainObject(imageSettings.Labels) ? imageSettings.Labels : {};
  const config = {
    ...image.config,
    created: parts.created,
    config: { ...imageSettings, Labels: { ...labels, ...parts.labels } },
    rootfs: { type: 'layers', diff_ids: [...diffIds.onto, ...diffIds.image.slice(belowLayers), parts.layer.diffId] },
    history: [
      ...(history.onto ?? []),
      ...(history.image ?? []).slice(belowHistory.length),
      { created: parts.created, created_by: parts.createdBy },
    ],
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDescriptor: Descriptor = {
    mediaType: image.manifest.config.mediaType,
    digest: sha256Digest(configBytes),
    size: configBytes.length,
  };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, config: configDescriptor, layers }));
  return { mediaType, manifest, config: configBytes, layers, configDescriptor };
}

/** Where the composed image's layers are to be found in the registry, and the new layer's file. */
export interface CompositionSources {
  /** The repository holding `onto`. */
  onto: string;
  /** The repository holding `image` (its own layers). */
  image: string;
  layer: LocalBlob;
}

/**
 * The composed image into `repository:tag`: every layer it shares is mounted from the repository that has it
 * (nothing sent), the new layer and the config uploaded, the manifest put last, so the tag never names an image
 * missing a blob. Returns the manifest's digest.
 */
export async function pushComposedImage(
  client: RegistryClient,
  target: { repository: string; tag: string },
  composed: Composed,
  sources: CompositionSources,
  options: BlobPushOptions,
): Promise<string> {
  const { repository } = target;
  // Each blob is its own few requests, none waiting on another's: all at once, so a registry far away costs
  // one round trip's wait per step, not one per layer. The manifest goes last, once every blob it names is there.
  const config = async () => {
    if (!(await client.hasBlob(repository, composed.configDescriptor.digest))) {
      await client.uploadBlob(repository, composed.config);
    }
  };
  await Promise.all([
    ...composed.layers.map((layer) =>
      layer.digest === sources.layer.digest
        ? pushBlob(client, repository, sources.layer, options)
        : linkSharedLayer(client, repository, layer.digest, [sources.image, sources.onto]),
    ),
    config(),
  ]);
  return client.putManifest(repository, target.tag, composed.manifest, composed.mediaType);
}

/** A layer the composed image shares: in the repository already, or mounted from one that has it; never sent. */
async function linkSharedLayer(client: RegistryClient, repository: string, digest: string, from: readonly string[]) {
  if (await client.hasBlob(repository, digest)) return;
  for (const source of from) {
    if (source === repository || !(await client.hasBlob(source, digest))) continue;
    if ((await client.mountBlob(repository, digest, source)) === 'mounted') return;
  }
  throw new Error(`layer ${digest} is in none of ${[repository, ...from].join(', ')}, nor could it be mounted`);
}

function bare(mediaType: string | undefined): string {
  return (mediaType ?? '').split(';')[0]?.trim() ?? '';
}

/** A list at a path of a config, or undefined where it is not one. */
function listOf(config: Record<string, unknown>, ...path: string[]): unknown[] | undefined {
  let value: unknown = config;
  for (const key of path) value = isPlainObject(value) ? value[key] : undefined;
  return Array.isArray(value) ? value : undefined;
}
