import type { RawManifest, RegistryClient } from './client.js';
import { BlobMountRefusedError, RegistryProtocolError } from './errors.js';
import { parseManifest, type Descriptor, type ManifestContent } from './manifest-shape.js';

export type CopyOutcome = { outcome: 'copied'; digest: string } | { outcome: 'already-present'; digest: string };

/**
 * Indexes followed below the top manifest at most: OCI indexes nest one or two deep in
 * practice (a multi-platform index, an index of those), and each level costs requests, so a
 * chain a registry was made to hold 20,000 deep is refused, not walked.
 */
export const MAX_INDEX_DEPTH = 4;

/** One copy's fixed parts, handed down the recursion. */
interface CopyContext {
  client: RegistryClient;
  from: string;
  to: string;
  /** The reference asked for, named in every refusal. */
  name: string;
  /** Manifests already handled: a child listed twice (or by two indexes) is copied once. */
  seen: Set<string>;
  signal: AbortSignal | undefined;
}

/**
 * Copies `from:reference` to `to:reference` in the same registry without moving a layer:
 * blobs are mounted across repositories, then the manifest's exact bytes are put with their
 * original Content-Type (an index's child manifests first, by digest). A target that already
 * holds the same digest is left alone. Every manifest's shape is checked before anything is
 * put; `signal` stops the copy between any two requests (the client's own signal stops a request).
 */
export async function copyImage(
  client: RegistryClient,
  from: string,
  to: string,
  reference: string,
  signal?: AbortSignal,
): Promise<CopyOutcome> {
  const name = `${from}:${reference}`;
  const source = await client.getRawManifest(from, reference);
  const content = parseManifest(source.bytes, source.mediaType, name);
  signal?.throwIfAborted();
  const present = await client.headManifest(to, reference);
  if (present?.digest === source.digest) return { outcome: 'already-present', digest: source.digest };
  await copyContent({ client, from, to, name, seen: new Set([source.digest]), signal }, content, 0);
  signal?.throwIfAborted();
  await client.putManifest(to, reference, source.bytes, source.mediaType);
  return { outcome: 'copied', digest: source.digest };
}

/** What a manifest points at, copied into the target: child manifests (put by digest) or blobs (mounted). */
async function copyContent(context: CopyContext, content: ManifestContent, depth: number): Promise<void> {
  const { client, from, to, name, seen, signal } = context;
  switch (content.kind) {
    case 'index':
      if (depth >= MAX_INDEX_DEPTH) {
        const limit = `indexes nest more than ${MAX_INDEX_DEPTH} deep; not followed further`;
        throw new RegistryProtocolError(200, `${name}: ${limit}`);
      }
      for (const child of content.manifests) {
        if (seen.has(child.digest)) continue;
        seen.add(child.digest);
        signal?.throwIfAborted();
        if ((await client.headManifest(to, child.digest))?.digest === child.digest) continue;
        const manifest: RawManifest = await client.getRawManifest(from, child.digest);
        const childContent = parseManifest(manifest.bytes, manifest.mediaType, `${name} (${child.digest})`);
        await copyContent(context, childContent, depth + 1);
        signal?.throwIfAborted();
        await client.putManifest(to, child.digest, manifest.bytes, manifest.mediaType);
      }
      return;
    case 'image':
      for (const blob of [content.config, ...content.layers]) {
        if (seen.has(blob.digest)) continue;
        seen.add(blob.digest);
        signal?.throwIfAborted();
        await mountBlob(client, from, to, blob.digest);
      }
      return;
    default: {
      const never: never = content;
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
