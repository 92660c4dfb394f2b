import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobUploadInterruptedError, describeUploadError } from '../registry/blob-upload.js';
import { RegistryClient } from '../registry/client.js';
import { RegistryConnectionError, RegistryError } from '../registry/errors.js';
import { ImageFolderError } from '../registry/image-folder.js';
import { pushImageFolder, type FolderPushed } from '../registry/push-folder.js';
import { splitReference } from '../registry/reference.js';
import { fail, ok } from '../util/result.js';
import type { EngineFailure, EngineResult, ExportOptions, PushRequest } from './types.js';

/**
 * How blobs travel. Up to 32 MiB in one PUT (config and small layers), larger in 32 MiB PATCHes;
 * three at once, as the engines' own pushes do; six tries a blob, 1 s back-off doubling (31 s in
 * all), which rides out a registry restart; a minute without a byte taken, or ten without an answer
 * once the body is sent (a registry on object storage may take that long to store a large blob),
 * gives a try up.
 */
export const BLOB_UPLOAD = {
  chunkBytes: 32 * 1024 * 1024,
  attempts: 6,
  backoffMs: 1000,
  idleMs: 60_000,
  answerMs: 600_000,
} as const;
const PARALLEL_BLOBS = 3;

/** Writes the image into a folder not there yet, as readImageFolder reads it. */
export type ExportImage = (reference: string, dir: string, options: ExportOptions) => EngineResult<void>;

export interface PushPaths {
  /** The engine's own push (`buildah push`, `podman push`, `docker push`). */
  engine: () => EngineResult<void>;
  exportImage: ExportImage;
}

/**
 * The engine's own push first: where the network holds it is the cheapest, since the engine knows
 * which layers the registry has and compresses only the others (an export compresses every layer
 * again). One refused upload or cut connection fails it whole, though, and a retry of it starts
 * over; so when it fails at a registry that still answers, what is missing goes blob by blob
 * through the registry client (pushExported), which skips every blob the engine got there. Where
 * the registry does not answer (or the engine itself is gone), the engine's failure is the answer.
 */
export async function pushResiliently(request: PushRequest, paths: PushPaths): EngineResult<void> {
  const first = await paths.engine();
  if (first.ok || request.signal.aborted) return first;
  if (first.failure.kind !== 'push' && first.failure.kind !== 'connection') return first;
  const target = registryTarget(request);
  if (target === undefined || !(await answers(target))) return first;
  request.onLine(`the engine's push failed (${first.failure.message}); pushing blob by blob instead`);
  return pushExported(paths.exportImage, request, target);
}

interface RegistryTarget {
  client: RegistryClient;
  repository: string;
  tag: string;
}

/** The registry client for the reference, with the run's login where it is for that registry. */
function registryTarget(request: PushRequest): RegistryTarget | undefined {
  const parts = splitReference(request.reference);
  if (parts === undefined) return undefined;
  const login = request.login?.registry === parts.registry ? request.login : undefined;
  const client = new RegistryClient(parts.registry, login, { insecure: request.insecure });
  return { client, repository: parts.repository, tag: parts.tag };
}

/** Whether the registry can be reached and takes the login (asked about the tag). */
async function answers(target: RegistryTarget): Promise<boolean> {
  try {
    await target.client.headManifest(target.repository, target.tag);
    return true;
  } catch {
    return false;
  }
}

/**
 * The push that rides out a faulty network: the engine hands the image over as a folder (an OCI
 * layout, or a `dir:` folder for docker), and the registry client uploads it blob by blob, each
 * retried and resumed on its own, then puts the manifest once. The folder is removed whatever happens.
 */
export async function pushExported(
  exportImage: ExportImage,
  request: PushRequest,
  target = registryTarget(request),
): EngineResult<void> {
  const { reference, signal, onLine } = request;
  if (target === undefined)
    return fail({ kind: 'push', message: `${reference}: no registry/repository:tag to push to` });
  const scratch = await mkdtemp(join(tmpdir(), 'ci-builder-push-'));
  try {
    const folder = join(scratch, 'image');
    let started = performance.now();
    const exported = await exportImage(reference, folder, { signal, onLine });
    if (!exported.ok) return exported;
    onLine(`exported ${reference} in ${seconds(started)} s`);
    started = performance.now();
    const pushed = await pushImageFolder(target.client, {
      folder,
      repository: target.repository,
      tag: target.tag,
      parallelBlobs: PARALLEL_BLOBS,
      blobs: { ...BLOB_UPLOAD, mountFrom: request.mountFrom ?? [], signal, onLine },
    });
    onLine(`pushed ${reference}@${pushed.digest} in ${seconds(started)} s: ${describeBlobs(pushed)}`);
    return ok(undefined);
  } catch (error) {
    return fail(pushFailure(reference, error, signal));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The kind of a push that did not make it; anything not listed here is a bug and stays thrown. */
function pushFailure(reference: string, error: unknown, signal: AbortSignal): EngineFailure {
  const message = `push of ${reference}: ${describeUploadError(error)}`;
  if (signal.aborted || error instanceof BlobUploadInterruptedError) return { kind: 'interrupted', message };
  if (error instanceof RegistryConnectionError) return { kind: 'connection', message };
  if (error instanceof RegistryError) return { kind: 'push', message };
  if (error instanceof ImageFolderError) return { kind: 'engine', message };
  // Reading the export failed (a full disk, a file gone): the engine's side of the push.
  if (typeof (error as NodeJS.ErrnoException | undefined)?.code === 'string') return { kind: 'engine', message };
  throw error;
}

function describeBlobs(pushed: FolderPushed): string {
  if (pushed.already) return 'the tag named this image already';
  const { uploaded, mounted, present } = pushed.blobs;
  const retried = pushed.retries > 0 ? ` (${pushed.retries} retries, ${pushed.resumed} resumed)` : '';
  return `${uploaded} blobs uploaded${retried}, ${mounted} mounted, ${present} already there`;
}

function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
}
