import { join } from 'node:path';
import { UsageError } from './errors.js';
import { JsonTextError, parseJsonPaced } from './json-text.js';
import { MiB, readInputText } from './read-input.js';

/**
 * Reading an OCI image layout an engine exported from an image someone else may have made: its
 * index and manifests are small JSON documents (registries refuse manifests over 4 MiB, as the
 * distribution spec lets them), and a digest names a file under blobs/, never a path out of it.
 */
export const MAX_MANIFEST_BYTES = 4 * MiB;

export class ImageLayoutError extends Error {}

export interface Descriptor {
  mediaType?: string;
  digest: string;
}

/** An index (manifests) or an image manifest (config, layers): the parts ci-builder follows. */
export interface LayoutDocument {
  manifests?: Descriptor[];
  layers?: Descriptor[];
  config?: Descriptor;
}

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function blobPath(dir: string, digest: string): string {
  const [algorithm = '', encoded = ''] = digest.split(':');
  return join(dir, 'blobs', algorithm, encoded);
}

function descriptorFault(value: unknown, at: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${at} is not an object`;
  const digest = (value as Record<string, unknown>).digest;
  if (typeof digest !== 'string' || !DIGEST.test(digest)) return `${at}.digest is not a sha256 or sha512 digest`;
  return undefined;
}

function documentFault(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const document = value as Record<string, unknown>;
  for (const key of ['manifests', 'layers'] as const) {
    const list = document[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) return `${key} is not a list`;
    for (let index = 0; index < list.length; index++) {
      const fault = descriptorFault(list[index], `${key}[${index}]`);
      if (fault) return fault;
    }
  }
  return document.config === undefined ? undefined : descriptorFault(document.config, 'config');
}

/** index.json or a manifest blob, capped in size, its descriptors checked; ImageLayoutError otherwise. */
export async function readLayoutDocument(path: string): Promise<LayoutDocument> {
  let value: unknown;
  try {
    const text = await readInputText(path, { what: 'OCI index or manifest', maxBytes: MAX_MANIFEST_BYTES });
    value = await parseJsonPaced(text, () => Promise.resolve());
  } catch (error) {
    if (error instanceof UsageError) throw new ImageLayoutError(error.message);
    if (error instanceof JsonTextError) throw new ImageLayoutError(`${path}: ${error.message}`);
    throw error;
  }
  const fault = documentFault(value);
  if (fault !== undefined) throw new ImageLayoutError(`${path}: ${fault}`);
  return value as LayoutDocument;
}
