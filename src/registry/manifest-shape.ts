import { isPlainObject } from '../util/plain-object.js';
import { RegistryProtocolError } from './errors.js';
import { manifestKind } from './media-types.js';

/** A content descriptor of the OCI image spec: what a manifest or an index points at. */
export interface Descriptor {
  digest: string;
  mediaType: string;
  size: number;
}

/** A manifest read for what it points at: an index's manifests, or an image's config and layers. */
export type ManifestContent =
  { kind: 'index'; manifests: Descriptor[] } | { kind: 'image'; config: Descriptor; layers: Descriptor[] };

/**
 * The OCI digest grammar, with the algorithms registries use. A digest goes into request
 * paths, so nothing else may pass (`../`, a query, a slash).
 */
const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/**
 * Pure: a manifest's bytes checked against the shape its media type promises (OCI image
 * manifest or index, Docker v2 manifest or list), down to each descriptor. A registry may
 * answer anything: a string where a list belongs would be walked character by character.
 * Every refusal is one line naming `reference` and the key.
 */
export function parseManifest(bytes: Uint8Array, mediaType: string, reference: string): ManifestContent {
  const refuse = (why: string) => new RegistryProtocolError(200, `${reference}: ${why}`);
  const kind = manifestKind(mediaType);
  if (kind === undefined) throw refuse(`unsupported manifest type "${mediaType}"`);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw refuse('not JSON');
  }
  if (!isPlainObject(body)) throw refuse('not a JSON object');
  if (body.schemaVersion !== 2) throw refuse('schemaVersion: not 2');
  // The body's own type, where it says one, must be the answer's: an index read as an image copies nothing below it.
  if (body.mediaType !== undefined) {
    const said = typeof body.mediaType === 'string' ? body.mediaType : JSON.stringify(body.mediaType);
    if (manifestKind(said) !== kind) throw refuse(`mediaType: ${said} in the body, ${mediaType} in the answer`);
  }
  const descriptorAt = (value: unknown, key: string): Descriptor => {
    if (!isPlainObject(value)) throw refuse(`${key}: not a descriptor`);
    const { digest, size, mediaType: type } = value;
    if (typeof digest !== 'string' || !DIGEST.test(digest)) throw refuse(`${key}.digest: not a digest`);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw refuse(`${key}.size: not a size`);
    if (typeof type !== 'string' || type === '') throw refuse(`${key}.mediaType: not a media type`);
    return { digest, size, mediaType: type };
  };
  const listAt = (key: 'manifests' | 'layers'): Descriptor[] => {
    const list = body[key];
    if (!Array.isArray(list)) throw refuse(`${key}: not a list`);
    return list.map((entry: unknown, position) => descriptorAt(entry, `${key}[${position}]`));
  };
  switch (kind) {
    case 'index':
      return { kind, manifests: listAt('manifests') };
    case 'image':
      return { kind, config: descriptorAt(body.config, 'config'), layers: listAt('layers') };
    default: {
      const never: never = kind;
      return never;
    }
  }
}
