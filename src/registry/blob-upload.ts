import type { RegistryClient, UploadSession } from './client.js';
import { RegistryAuthError, RegistryConnectionError, RegistryError } from './errors.js';
import { fileBytes, withIdleLimit } from './upload-watchdog.js';

/** A blob as a file on this host (an OCI layout's `blobs/sha256/<hex>`). */
export interface LocalBlob {
  digest: string;
  size: number;
  file: string;
}

export interface BlobPushOptions {
  /** Repositories of the same registry that may hold the blob already (an ancestor's), to mount it from. */
  mountFrom: readonly string[];
  /** Blobs up to this size go in one PUT; larger ones in PATCH requests of this size, then the PUT. */
  chunkBytes: number;
  /** Tries per blob, the first included. */
  attempts: number;
  /** Wait before the second try; doubled for each further one. */
  backoffMs: number;
  /** No byte of a body taken for this long: the try is given up. */
  idleMs: number;
  /** No answer this long after the whole body was taken (a registry may take a while to store a large blob). */
  answerMs: number;
  signal: AbortSignal;
  onLine: (line: string) => void;
}

export type BlobPushed =
  | { how: 'present' | 'mounted' }
  /** `retries`: tries after the first; `resumed`: how many of them went on from where the registry stood. */
  | { how: 'uploaded'; retries: number; resumed: number };

/** The run was interrupted while a blob was on its way. */
export class BlobUploadInterruptedError extends Error {
  constructor(digest: string) {
    super(`${shortDigest(digest)}: interrupted`);
    this.name = 'BlobUploadInterruptedError';
  }
}

/**
 * Gets one blob into a repository, doing as little as the registry lets it: nothing when the
 * repository has it, a mount when an ancestor's repository has it, else an upload. An upload
 * that breaks (503, a cut connection, a stall) is tried again after a back-off without touching
 * any other blob: from where the registry says the session stands when it still knows it, from
 * the start in a new session when it does not (docker-registry drops a session whose bytes no
 * longer match its state), and not at all when the blob turns out to have arrived.
 */
export async function pushBlob(
  client: RegistryClient,
  repository: string,
  blob: LocalBlob,
  options: BlobPushOptions,
): Promise<BlobPushed> {
  if (await client.hasBlob(repository, blob.digest)) return { how: 'present' };
  for (const from of options.mountFrom) {
    if (from === repository || !(await client.hasBlob(from, blob.digest))) continue;
    if ((await client.mountBlob(repository, blob.digest, from)) === 'mounted') return { how: 'mounted' };
  }
  return uploadWithRetries(client, repository, blob, options);
}

async function uploadWithRetries(
  client: RegistryClient,
  repository: string,
  blob: LocalBlob,
  options: BlobPushOptions,
): Promise<BlobPushed> {
  const name = shortDigest(blob.digest);
  const progress: { session: UploadSession | undefined } = { session: undefined };
  let resumed = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      progress.session ??= await client.startUpload(repository, { signal: options.signal });
      await sendRest(client, repository, blob, progress, options);
      return { how: 'uploaded', retries: attempt - 1, resumed };
    } catch (error) {
      if (options.signal.aborted) throw new BlobUploadInterruptedError(blob.digest);
      const retry = retryable(error, progress.session !== undefined);
      if (!retry || attempt >= options.attempts) throw error;
      options.onLine(`blob ${name}: try ${attempt + 1} of ${options.attempts} after: ${describeUploadError(error)}`);
      await backOff(options.backoffMs * 2 ** (attempt - 1), options.signal);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- it can turn true during the wait
      if (options.signal.aborted) throw new BlobUploadInterruptedError(blob.digest);
      const hadSession = progress.session !== undefined;
      const stands = progress.session && (await whereUploadStands(client, repository, progress.session, options));
      if (stands !== undefined && stands.offset <= blob.size) {
        progress.session = stands;
        resumed++;
        options.onLine(`blob ${name}: the registry holds ${stands.offset} of ${blob.size} bytes, going on from there`);
        continue;
      }
      progress.session = undefined;
      // A final PUT whose answer was lost may still have landed.
      if (await client.hasBlob(repository, blob.digest).catch(() => false)) {
        return { how: 'uploaded', retries: attempt, resumed };
      }
      if (hadSession) options.onLine(`blob ${name}: the registry kept nothing of the upload, starting it again`);
    }
  }
}

/** Sends the blob from the session's offset: whole chunks by PATCH, the rest with the closing PUT. */
async function sendRest(
  client: RegistryClient,
  repository: string,
  blob: LocalBlob,
  progress: { session: UploadSession | undefined },
  options: BlobPushOptions,
): Promise<void> {
  for (;;) {
    const session = progress.session;
    if (session === undefined) throw new Error('internal: no upload session to send to');
    const rest = blob.size - session.offset;
    if (rest <= options.chunkBytes) {
      await withIdleLimit(options, (signal, touch) =>
        client.finishUpload(
          repository,
          session,
          blob.digest,
          fileBytes(blob.file, session.offset, rest, options, touch),
          {
            signal,
          },
        ),
      );
      return;
    }
    progress.session = await withIdleLimit(options, (signal, touch) =>
      client.appendToUpload(
        repository,
        session,
        fileBytes(blob.file, session.offset, options.chunkBytes, options, touch),
        {
          signal,
        },
      ),
    );
  }
}

/** Where the upload stands, or undefined when the registry no longer knows it (or cannot say). */
async function whereUploadStands(
  client: RegistryClient,
  repository: string,
  session: UploadSession,
  options: BlobPushOptions,
): Promise<UploadSession | undefined> {
  try {
    return await client.uploadStatus(repository, session, { signal: options.signal });
  } catch {
    return undefined;
  }
}

/**
 * Whether another try may help. Auth refusals never do. A refused start (4xx to the POST) is
 * final; a session the registry refuses later (404 unknown, 416 range, 400 digest) is started again.
 */
function retryable(error: unknown, hadSession: boolean): boolean {
  if (error instanceof RegistryAuthError) return false;
  if (error instanceof RegistryConnectionError) return true;
  if (!(error instanceof RegistryError)) return false;
  if (error.status >= 500 || error.status === 429) return true;
  return hadSession && [400, 404, 416].includes(error.status);
}

/** The error's message with upload locations named without their `?_state=…` query: long, and of no use to a reader. */
export function describeUploadError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\?_state=\S*?(?=:\s|\s|$)/g, '');
}

export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** Waits, or ends the wait early when the run is interrupted. */
export function backOff(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
