import { createHash } from 'node:crypto';
import { isPlainObject } from '../util/plain-object.js';
import { MAX_JSON_BYTES, MAX_MANIFEST_BYTES, readAnswer, readJsonAnswer } from './answer-body.js';
import { RegistryAuthenticator, type RegistryCredentials } from './auth.js';
import { RegistryAuthError, RegistryError, RegistryNotFoundError, RegistryProtocolError } from './errors.js';
import { parseManifest, type Descriptor } from './manifest-shape.js';
import { MANIFEST_MEDIA_TYPES } from './media-types.js';
import {
  DEFAULT_RETRY,
  DEFAULT_TIMEOUTS,
  fetchWithRetry,
  type RequestTimeouts,
  type RetryPolicy,
} from './transport.js';

export { MANIFEST_MEDIA_TYPES } from './media-types.js';
export { RegistryError } from './errors.js';
export type { RegistryCredentials } from './auth.js';

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

/** A manifest as the registry stored it: its exact bytes are what its digest names. */
export interface RawManifest extends ManifestHead {
  bytes: Buffer;
}

export interface ImageManifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageConfig {
  config?: { Labels?: Record<string, string> | null };
  history?: Array<{ created_by?: string }>;
}

export interface RegistryClientOptions {
  /** Plain HTTP (loopback registries). */
  insecure?: boolean;
  retry?: RetryPolicy;
  /** Overrides of DEFAULT_TIMEOUTS: every request and every body read is bounded. */
  timeouts?: Partial<RequestTimeouts>;
  /** Stops every request of this client, token requests and waits between retries included. */
  signal?: AbortSignal;
}

export type MountOutcome = 'mounted' | 'not-mounted';

/** Where an upload goes on, and how many of the blob's bytes the registry holds. */
export interface UploadSession {
  /** The path and query the registry named for the upload's next request. */
  location: string;
  offset: number;
}

/** Bytes of a blob to send, opened afresh for every send (answering a 401 sends them again). */
export interface UploadBytes {
  length: number;
  open: () => ReadableStream<Uint8Array>;
}

export interface UploadRequestOptions {
  signal?: AbortSignal;
}

/**
 * A request whose body may have partly reached the registry is sent once: sending it again from the
 * start would append bytes the registry may already hold. The caller asks where the upload stands.
 */
const ONCE: RetryPolicy = { attempts: 1, backoffMs: 0 };

/** Per request: a retry policy of its own, and a body made for each send (a stream is read only once). */
interface SendOptions {
  retry?: RetryPolicy;
  body?: () => RequestInit['body'];
}

/** setTimeout's longest delay: in effect none, for a body its sender watches itself. */
const STREAMED_BODY_ANSWER_MS = 2 ** 31 - 1;

const pull = (repository: string) => `repository:${repository}:pull`;
const pushPull = (repository: string) => `repository:${repository}:pull,push`;

/**
 * A small OCI distribution client: answers Basic and Bearer challenges (tokens cached per
 * scope set), reads manifests, configs and tag lists, and copies between repositories by
 * blob mount and manifest put. Never logs or returns credentials.
 */
export class RegistryClient {
  private readonly base: string;
  private readonly auth: RegistryAuthenticator;
  private readonly retry: RetryPolicy;
  private readonly timeouts: RequestTimeouts;
  private readonly signal: AbortSignal | undefined;

  constructor(
    readonly registry: string,
    credentials?: RegistryCredentials,
    options: RegistryClientOptions = {},
  ) {
    this.base = `${options.insecure ? 'http' : 'https'}://${registry}`;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.signal = options.signal;
    const { retry, timeouts, signal } = this;
    this.auth = new RegistryAuthenticator(credentials, { registry, retry, timeouts, signal });
  }

  async ping(): Promise<void> {
    const response = await this.request('/v2/', ['registry:catalog:*']);
    await response.body?.cancel();
  }

  /** Every tag, following `Link: <…>; rel="next"` until there is none (a short page is not the end). */
  async listTags(repository: string, pageSize = 100): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repository}/tags/list?n=${pageSize}`;
    const pages = new Set([path]);
    while (path !== undefined) {
      const response = await this.request(path, [pull(repository)]);
      const body = await this.readJson(response, `GET ${path}`);
      const listed = isPlainObject(body) ? body.tags : undefined;
      if (listed !== undefined && listed !== null && !isListOfStrings(listed)) {
        throw new RegistryProtocolError(response.status, `GET ${path}: tags is not a list of names`);
      }
      tags.push(...(listed ?? []));
      const next = nextLink(response.headers.get('link'), `GET ${path}`);
      // A registry that links back to a page it gave would be read forever.
      if (next !== undefined && pages.has(next)) {
        throw new RegistryProtocolError(response.status, `GET ${path}: the next page is one already read`);
      }
      if (next !== undefined) pages.add(next);
      path = next;
    }
    return tags;
  }

  /** undefined when the manifest does not exist. */
  async headManifest(repository: string, reference: string): Promise<ManifestHead | undefined> {
    const path = `/v2/${repository}/manifests/${reference}`;
    const init = { method: 'HEAD', headers: { accept: MANIFEST_MEDIA_TYPES } };
    const response = await this.request(path, [pull(repository)], init, [404]);
    if (response.status === 404) return undefined;
    const digest = response.headers.get('docker-content-digest');
    // Without the header the digest can only come from the bytes themselves.
    if (!digest) {
      const { digest: hashed, mediaType, size } = await this.getRawManifest(repository, reference);
      return { digest: hashed, mediaType, size };
    }
    return {
      digest,
      mediaType: response.headers.get('content-type') ?? '',
      size: Number(response.headers.get('content-length') ?? 0),
    };
  }

  /** The manifest's exact bytes, Content-Type and digest (checked against the bytes). */
  async getRawManifest(repository: string, reference: string): Promise<RawManifest> {
    const path = `/v2/${repository}/manifests/${reference}`;
    const response = await this.request(path, [pull(repository)], { headers: { accept: MANIFEST_MEDIA_TYPES } });
    const limits = { maxBytes: MAX_MANIFEST_BYTES, idleMs: this.timeouts.idleMs, what: `GET ${path}` };
    const bytes = await readAnswer(response, limits);
    const digest = sha256Digest(bytes);
    const announced = response.headers.get('docker-content-digest');
    if (announced && announced !== digest) {
      const message = `GET ${path}: Docker-Content-Digest ${announced} is not the body's ${digest}`;
      throw new RegistryProtocolError(response.status, message);
    }
    if (reference.startsWith('sha256:') && reference !== digest) {
      throw new RegistryProtocolError(response.status, `GET ${path}: the body's digest is ${digest}`);
    }
    return { bytes, digest, mediaType: response.headers.get('content-type') ?? '', size: bytes.length };
  }

  /** An image manifest, its shape checked; an index is refused. */
  async getManifest(repository: string, reference: string): Promise<ImageManifest> {
    const raw = await this.getRawManifest(repository, reference);
    const name = `${repository}:${reference}`;
    const content = parseManifest(raw.bytes, raw.mediaType, name);
    if (content.kind !== 'image') throw new RegistryProtocolError(200, `${name}: an index, not an image manifest`);
    return { mediaType: raw.mediaType, config: content.config, layers: content.layers };
  }

  async getImageConfig(repository: string, reference: string): Promise<ImageConfig> {
    const manifest = await this.getManifest(repository, reference);
    return this.getConfigBlob(repository, manifest.config.digest);
  }

  /** An image config blob by its digest, whole: every key the registry stored, not only those read here. */
  async getConfigBlob(repository: string, digest: string): Promise<Record<string, unknown>> {
    const path = `/v2/${repository}/blobs/${digest}`;
    const response = await this.request(path, [pull(repository)]);
    const config = await this.readJson(response, `GET ${path}`);
    if (!isPlainObject(config)) throw new RegistryProtocolError(response.status, `GET ${path}: not an image config`);
    return config;
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const path = `/v2/${repository}/blobs/${digest}`;
    const response = await this.request(path, [pull(repository)], { method: 'HEAD' }, [404]);
    await response.body?.cancel();
    return response.status !== 404;
  }

  /**
   * Asks the registry to link a blob of `from` into `repository` without any upload.
   * 202 means it would rather receive the blob: the upload session it opened is closed again.
   */
  async mountBlob(repository: string, digest: string, from: string): Promise<MountOutcome> {
    const query = new URLSearchParams({ mount: digest, from });
    const scopes = [pushPull(repository), pull(from)];
    const path = `/v2/${repository}/blobs/uploads/?${query.toString()}`;
    const response = await this.request(path, scopes, { method: 'POST', headers: { 'content-length': '0' } }, [202]);
    await response.body?.cancel();
    if (response.status === 201) return 'mounted';
    const location = response.headers.get('location');
    if (location) {
      const session = pathAndQuery(location, this.base, `POST ${path}: Location`);
      const cancelled = await this.request(session, scopes, { method: 'DELETE' }, [404, 405]);
      await cancelled.body?.cancel();
    }
    return 'not-mounted';
  }

  /** Uploads a blob in one request (POST for a session, PUT with the digest); returns its digest. */
  async uploadBlob(repository: string, bytes: Uint8Array): Promise<string> {
    const digest = sha256Digest(bytes);
    const scopes = [pushPull(repository)];
    const path = `/v2/${repository}/blobs/uploads/`;
    const started = await this.request(path, scopes, { method: 'POST', headers: { 'content-length': '0' } });
    await started.body?.cancel();
    const location = started.headers.get('location');
    if (!location) throw new RegistryProtocolError(started.status, `POST ${path}: no Location for the upload`);
    const target = new URL(location, this.base);
    target.searchParams.set('digest', digest);
    const init = { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes };
    const put = await this.request(`${target.pathname}${target.search}`, scopes, init);
    await put.body?.cancel();
    return digest;
  }

  /** Opens an upload session (POST); 5xx answers are retried as any request's. */
  async startUpload(repository: string, options: UploadRequestOptions = {}): Promise<UploadSession> {
    const path = `/v2/${repository}/blobs/uploads/`;
    const init = { method: 'POST', headers: { 'content-length': '0' }, signal: options.signal };
    const response = await this.request(path, [pushPull(repository)], init);
    await response.body?.cancel();
    return this.sessionFrom(response, `POST ${path}`, 0);
  }

  /**
   * Where an upload stands (GET on its location): undefined when the registry no longer knows it
   * (finished, cancelled, or dropped because its bytes no longer match the session).
   */
  async uploadStatus(
    repository: string,
    session: UploadSession,
    options: UploadRequestOptions = {},
  ): Promise<UploadSession | undefined> {
    const init = { signal: options.signal };
    const response = await this.request(session.location, [pushPull(repository)], init, [404]);
    await response.body?.cancel();
    if (response.status === 404) return undefined;
    return this.sessionFrom(response, `GET ${withoutQuery(session.location)}`, receivedBytes(response));
  }

  /** Sends the next bytes of an upload (PATCH at the session's offset); the registry's Range says where it now stands. */
  async appendToUpload(
    repository: string,
    session: UploadSession,
    bytes: UploadBytes,
    options: UploadRequestOptions = {},
  ): Promise<UploadSession> {
    const last = session.offset + bytes.length - 1;
    const headers = {
      'content-type': 'application/octet-stream',
      'content-length': String(bytes.length),
      'content-range': `${session.offset}-${last}`,
    };
    const init = { method: 'PATCH', headers, signal: options.signal };
    const response = await this.request(session.location, [pushPull(repository)], init, [], {
      retry: ONCE,
      body: bytes.open,
    });
    await response.body?.cancel();
    const offset = response.headers.has('range') ? receivedBytes(response) : last + 1;
    return this.sessionFrom(response, `PATCH ${withoutQuery(session.location)}`, offset);
  }

  /** Ends an upload (PUT with its digest), sending its last bytes, if any, with it. */
  async finishUpload(
    repository: string,
    session: UploadSession,
    digest: string,
    bytes: UploadBytes,
    options: UploadRequestOptions = {},
  ): Promise<void> {
    const target = new URL(session.location, this.base);
    target.searchParams.set('digest', digest);
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'content-length': String(bytes.length),
    };
    if (bytes.length > 0) headers['content-range'] = `${session.offset}-${session.offset + bytes.length - 1}`;
    const init = { method: 'PUT', headers, signal: options.signal };
    const response = await this.request(`${target.pathname}${target.search}`, [pushPull(repository)], init, [], {
      retry: ONCE,
      body: bytes.open,
    });
    await response.body?.cancel();
    const stored = response.headers.get('docker-content-digest');
    if (stored && stored !== digest) {
      const message = `PUT ${target.pathname}: the registry stored ${stored}, not ${digest}`;
      throw new RegistryProtocolError(response.status, message);
    }
  }

  private sessionFrom(response: Response, what: string, offset: number): UploadSession {
    const location = response.headers.get('location');
    if (!location) throw new RegistryProtocolError(response.status, `${what}: no Location for the upload`);
    return { location: pathAndQuery(location, this.base, `${what}: Location`), offset };
  }

  /**
   * Stores a manifest from its exact bytes under a tag or its digest; returns the digest.
   * `retry` replaces the client's policy, e.g. one attempt where the caller checks what landed.
   */
  async putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
    retry?: RetryPolicy,
  ): Promise<string> {
    const path = `/v2/${repository}/manifests/${reference}`;
    const digest = sha256Digest(bytes);
    const init = { method: 'PUT', headers: { 'content-type': mediaType }, body: bytes };
    const response = await this.request(path, [pushPull(repository)], init, [], retry ? { retry } : {});
    await response.body?.cancel();
    const stored = response.headers.get('docker-content-digest');
    if (stored && stored !== digest) {
      throw new RegistryProtocolError(response.status, `PUT ${path}: the registry stored ${stored}, not ${digest}`);
    }
    return digest;
  }

  /** One request with the authorization its scopes need; a 401 is answered once, then it is an error. */
  private async request(
    path: string,
    scopes: readonly string[],
    init: RequestInit = {},
    allowedStatuses: readonly number[] = [],
    options: SendOptions = {},
  ): Promise<Response> {
    const url = `${this.base}${path}`;
    // The request's own signal (an upload's watchdog) and the client's interrupt both end it.
    const signals = [init.signal, this.signal].filter((signal) => signal instanceof AbortSignal);
    const signal = signals.length > 0 ? { signal: AbortSignal.any(signals) } : {};
    const send = async () => {
      const headers = { ...(init.headers as Record<string, string>), ...(await this.auth.headersFor(scopes)) };
      // A stream body needs half duplex; a body made per send is fresh for the send after a 401.
      const body = options.body ? { body: options.body(), duplex: 'half' as const } : {};
      const sent = { ...init, ...body, headers, redirect: 'follow' as const, ...signal };
      // A streamed body is watched by its sender's idle limit (upload-watchdog.ts), not by one answer deadline.
      const answerMs = options.body ? STREAMED_BODY_ANSWER_MS : this.timeouts.answerMs;
      return fetchWithRetry(url, sent, options.retry ?? this.retry, answerMs);
    };
    let response = await send();
    if (response.status === 401) {
      await response.body?.cancel();
      this.auth.answerChallenge(response.headers.get('www-authenticate'), scopes);
      response = await send();
    }
    const method = init.method ?? 'GET';
    if (response.ok || allowedStatuses.includes(response.status)) return response;
    const message = `${method} ${path}: HTTP ${response.status}${await registryErrorDetail(response, this.timeouts)}`;
    if (response.status === 401 || response.status === 403) throw new RegistryAuthError(response.status, message);
    if (response.status === 404) throw new RegistryNotFoundError(message);
    throw new RegistryError(response.status, message);
  }

  private readJson(response: Response, what: string): Promise<unknown> {
    return readJsonAnswer(response, { maxBytes: MAX_JSON_BYTES, idleMs: this.timeouts.idleMs, what });
  }
}

function isListOfStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((entry) => typeof entry === 'string');
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The registry's own error code (MANIFEST_UNKNOWN, DENIED…), which says more than the status. */
async function registryErrorDetail(response: Response, timeouts: RequestTimeouts): Promise<string> {
  const limits = { maxBytes: 64 * 1024, idleMs: timeouts.idleMs, what: 'an error answer' };
  const text = await readAnswer(response, limits).then(String, () => '');
  try {
    const code = (JSON.parse(text) as { errors?: Array<{ code?: unknown }> }).errors?.[0]?.code;
    return typeof code === 'string' && /^[A-Z_]{1,64}$/.test(code) ? ` (${code})` : '';
  } catch {
    return '';
  }
}

/** The path and query of a `Link: <…>; rel="next"` header (registries may put their own host in it). */
function nextLink(header: string | null, what: string): string | undefined {
  const match = header?.match(/<([^>]+)>\s*;\s*rel="?next"?/);
  if (!match?.[1]) return undefined;
  return pathAndQuery(match[1], 'http://placeholder', `${what}: Link`);
}

/**
 * How many bytes an upload holds, from `Range: 0-<last byte>`. docker-registry says `0-0` for an
 * empty upload too: taken as none, since a wrong guess only costs a digest mismatch and a fresh upload.
 */
function receivedBytes(response: Response): number {
  const match = /^0-(\d+)$/.exec(response.headers.get('range')?.trim() ?? '');
  const last = Number(match?.[1] ?? 0);
  return last === 0 ? 0 : last + 1;
}

/** A location without its query: upload locations carry the registry's state token, long and of no use in a message. */
function withoutQuery(location: string): string {
  return location.split('?')[0] ?? location;
}

/** The path and query of a URL a registry answered with; one that is no URL is a protocol error naming `what`. */
function pathAndQuery(location: string, base: string, what: string): string {
  let url: URL;
  try {
    url = new URL(location, base);
  } catch {
    throw new RegistryProtocolError(200, `${what} ${JSON.stringify(location.slice(0, 100))} is not a URL`);
  }
  return `${url.pathname}${url.search}`;
}
