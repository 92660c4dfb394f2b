import type { Descriptor, RawManifest, RegistryClient } from './client.js';
import { BlobMountRefusedError, RegistryProtocolError } from './errors.js';
import { manifestKind } from './media-types.js';

export type CopyOutcome = { outcome: 'copied'; digest: string } | { outcome: 'already-present'; digest: string };

/**
 * Copies `from:reference` to `to:reference` in the same registry without moving a layer:
 * blobs are mounted across repositories, then the manifest's exact bytes are put with their
 * original Content-Type (an index's child manifests first, by digest). A target that already
 * holds the same digest is left alone.
 */
export async function copyImage(
  client: RegistryClient,
  from: string,
  to: string,
  reference: string,
): Promise<CopyOutcome> {
  const source = await client.getRawManifest(from, reference);
  const present = await client.headManifest(to, reference);
  if (present?.digest === source.digest) return { outcome: 'already-present', digest: source.digest };
  await copyManifestContent(client, from, to, source);
  await client.putManifest(to, reference, source.bytes, source.mediaType);
  return { outcome: 'copied', digest: source.digest };
}

type ManifestBody = { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };

async function copyManifestContent(
  client: RegistryClient,
  from: string,
  to: string,
  manifest: RawManifest,
): Promise<void> {
  const kind = manifestKind(manifest.mediaType);
  const parsed = JSON.parse(manifest.bytes.toString('utf8')) as ManifestBody;
  switch (kind) {
    case 'index':
      for (const child of parsed.manifests ?? []) {
        if ((await client.headManifest(to, child.digest))?.digest === child.digest) continue;
        const childManifest = await client.getRawManifest(from, child.digest);
        await copyManifestContent(client, from, to, childManifest);
        await client.putManifest(to, child.digest, childManifest.bytes, childManifest.mediaType);
      }
      return;
    case 'image':
      for (const blob of uniqueBlobs([...(parsed.config ? [parsed.config] : []), ...(parsed.layers ?? [])])) {
        await mountBlob(client, from, to, blob.digest);
      }
      return;
    case undefined: {
      const message = `${from}@${manifest.digest}: unsupported manifest type "${manifest.mediaType}"`;
      throw new RegistryProtocolError(200, message);
    }
    default: {
      const never: never = kind;
      return never;
    }
  }
}

async function mountBlob(client: RegistryClient, from: string, to: string, digest: string): Promise<void> {
  if (await client.hasBlob(to, digest)) return;
  const outcome = await client.mountBlob(to, digest, from);
  if (outcome === 'not-mounted') {
    const refusal = `${to}: the registry would not mount ${digest} from ${from}`;
    throw new BlobMountRefusedError(`${refusal} (it wants an upload, and layers are never re-uploaded here)`);
  }
}

export function uniqueBlobs(blobs: readonly Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return blobs.filter((blob) => {
    if (seen.has(blob.digest)) return false;
    seen.add(blob.digest);
    return true;
  });
}
