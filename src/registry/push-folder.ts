import { errorMessage } from '../util/errors.js';
import { Limiter } from '../util/limiter.js';
import { backOff, pushBlob, type BlobPushOptions, type BlobPushed } from './blob-upload.js';
import { sha256Digest, type RegistryClient } from './client.js';
import type { Descriptor } from './manifest-shape.js';
import { RegistryAuthError, RegistryConnectionError, RegistryError } from './errors.js';
import { readImageFolder } from './image-folder.js';
import type { RetryPolicy } from './transport.js';

export interface FolderPushRequest {
  /** One image as an engine exported it: an OCI layout or a `dir:` folder (readImageFolder). */
  folder: string;
  repository: string;
  tag: string;
  /** Blobs on their way at once. */
  parallelBlobs: number;
  blobs: BlobPushOptions;
}

export interface FolderPushed {
  /** The manifest's digest, as stored under the tag. */
  digest: string;
  /** The tag named this image (its config) already: nothing was sent. */
  already: boolean;
  /** How many blobs the repository had, got by mount, or were uploaded. */
  blobs: Record<BlobPushed['how'], number>;
  /** Blob tries after the first, over all blobs; and how many of them resumed a session. */
  retries: number;
  resumed: number;
}

/** The manifest PUT is sent once per try: a resent PUT whose first answer was lost would store it twice. */
const ONE_SEND: RetryPolicy = { attempts: 1, backoffMs: 0 };

/**
 * Pushes an exported image: every blob on its own (present, mounted or uploaded, each
 * retried without redoing the others), then the manifest's exact bytes, put once. A tag that
 * names this image already is left alone. A blob that fails after its tries fails the push only
 * once the others have finished, so a later try of the image finds them in the registry.
 */
export async function pushImageFolder(client: RegistryClient, request: FolderPushRequest): Promise<FolderPushed> {
  const image = await readImageFolder(request.folder);
  const blobCounts: Record<BlobPushed['how'], number> = { present: 0, mounted: 0, uploaded: 0 };
  const tagged = await taggedImage(client, request.repository, request.tag);
  if (tagged !== undefined && tagged.config === image.config) {
    return { digest: tagged.digest, already: true, blobs: blobCounts, retries: 0, resumed: 0 };
  }
  const limiter = new Limiter(request.parallelBlobs);
  const outcomes = await Promise.allSettled(
    image.blobs.map((blob) => limiter.add(() => pushBlob(client, request.repository, blob, request.blobs))),
  );
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  const pushed = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const digest = await putManifestOnce(client, request, image.manifest, image.mediaType);
  let retries = 0;
  let resumed = 0;
  for (const outcome of pushed) {
    blobCounts[outcome.how]++;
    if (outcome.how === 'uploaded') {
      retries += outcome.retries;
      resumed += outcome.resumed;
    }
  }
  return { digest, already: false, blobs: blobCounts, retries, resumed };
}

/** The manifest digest and config digest the tag names now, if it names an image. */
async function taggedImage(
  client: RegistryClient,
  repository: string,
  tag: string,
): Promise<{ digest: string; config: string | undefined } | undefined> {
  const head = await client.headManifest(repository, tag);
  if (head === undefined) return undefined;
  const manifest = (await client.getManifest(repository, head.digest)) as { config?: Descriptor };
  return { digest: head.digest, config: manifest.config?.digest };
}

/**
 * PUTs the manifest, sent once per try. After a failed try the tag is asked first: when it
 * already names this manifest, the earlier PUT landed and only its answer was lost.
 */
async function putManifestOnce(
  client: RegistryClient,
  request: FolderPushRequest,
  manifest: Buffer,
  mediaType: string,
): Promise<string> {
  const { repository, tag, blobs: options } = request;
  const digest = sha256Digest(manifest);
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.putManifest(repository, tag, manifest, mediaType, ONE_SEND);
    } catch (error) {
      const retryable =
        error instanceof RegistryConnectionError ||
        (error instanceof RegistryError && !(error instanceof RegistryAuthError) && error.status >= 500);
      if (!retryable || attempt >= options.attempts || options.signal.aborted) throw error;
      options.onLine(`manifest: try ${attempt + 1} of ${options.attempts} after: ${errorMessage(error)}`);
      await backOff(options.backoffMs * 2 ** (attempt - 1), options.signal);
      const stored = await client.headManifest(repository, tag).catch(() => undefined);
      if (stored?.digest === digest) return digest;
    }
  }
}
