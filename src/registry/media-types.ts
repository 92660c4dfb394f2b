export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

/** What a manifest request accepts: indexes and single-platform manifests, OCI and Docker v2. */
export const MANIFEST_MEDIA_TYPES = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST].join(', ');

export type ManifestKind = 'index' | 'image';

/** The kind of a manifest media type (parameters such as `; charset=utf-8` ignored); undefined when unsupported. */
export function manifestKind(mediaType: string): ManifestKind | undefined {
  const bare = mediaType.split(';')[0]?.trim() ?? '';
  if (bare === OCI_INDEX || bare === DOCKER_MANIFEST_LIST) return 'index';
  if (bare === OCI_MANIFEST || bare === DOCKER_MANIFEST) return 'image';
  return undefined;
}
