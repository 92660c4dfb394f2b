import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { errorMessage } from '../util/errors.js';
import { stripUserinfo } from '../util/url-login.js';
import { SourceError } from './types.js';

export interface DownloadRequest {
  section: string;
  url: string;
  /** Written as it arrives, so a large file never sits in memory. */
  target: string;
  /** The hex sha256 the file must have, when the config gives one for this architecture. */
  expectedSha256?: string;
  /** How long the server may stay silent (connecting, or between two pieces of the body). */
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * `user:password@` in a URL is a login, as for kolla-build's HTTP client; fetch refuses such
 * URLs, so it travels as a Basic header instead (fetch drops it on a redirect to another origin).
 */
function withoutCredentials(location: string): { url: URL; headers: Record<string, string> } {
  const url = new URL(location);
  const headers: Record<string, string> = {};
  if (url.username !== '' || url.password !== '') {
    const login = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.authorization = `Basic ${Buffer.from(login).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  return { url, headers };
}

/** Downloads a url source to `target`, hashing while it streams; returns the hex sha256. */
export async function downloadUrl(request: DownloadRequest): Promise<string> {
  const { section } = request;
  const shown = stripUserinfo(request.url);
  let parsed: ReturnType<typeof withoutCredentials>;
  try {
    parsed = withoutCredentials(request.url);
  } catch {
    throw new SourceError(section, `${shown} is not a valid URL`);
  }

  const controller = new AbortController();
  const interrupt = () => controller.abort();
  request.signal?.addEventListener('abort', interrupt, { once: true });
  let silentTooLong = false;
  let timer: NodeJS.Timeout | undefined;
  const stillAlive = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      silentTooLong = true;
      controller.abort();
    }, request.timeoutMs);
  };

  const hash = createHash('sha256');
  try {
    stillAlive();
    const response = await fetch(parsed.url, {
      headers: parsed.headers,
      signal: controller.signal,
      redirect: 'follow',
    });
    if (response.status !== 200 || response.body === null) {
      await response.body?.cancel();
      throw new SourceError(section, `GET ${shown} answered ${response.status} ${response.statusText}`.trim());
    }
    const hashing = async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        stillAlive();
        hash.update(chunk);
        yield chunk;
      }
    };
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      hashing,
      createWriteStream(request.target),
    );
  } catch (error) {
    if (error instanceof SourceError) throw error;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by the stall timer's callback
    if (silentTooLong) throw new SourceError(section, `${shown} sent nothing for ${request.timeoutMs / 1000}s`);
    if (request.signal?.aborted) throw new SourceError(section, `download of ${shown} interrupted`);
    throw new SourceError(section, `downloading ${shown} failed: ${describeFetchError(error)}`);
  } finally {
    clearTimeout(timer);
    request.signal?.removeEventListener('abort', interrupt);
  }

  const actual = hash.digest('hex');
  const expected = request.expectedSha256?.trim().toLowerCase();
  if (expected !== undefined && actual !== expected) {
    throw new SourceError(section, `${shown} has sha256 ${actual}, but the config expects ${expected}`);
  }
  return actual;
}

/** fetch only says "fetch failed"; the cause says why (refused, unknown host, reset). */
function describeFetchError(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause === undefined ? errorMessage(error) : `${errorMessage(error)} (${errorMessage(cause)})`;
}
