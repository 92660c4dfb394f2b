import { RegistryConnectionError } from './errors.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Wait before the second attempt; doubled for each further one. */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, backoffMs: 250 };

/**
 * How long a request may take: the connection and the answer's status and headers within
 * `answerMs` (a request body is allowed 1 s per MiB on top), then no pause longer than `idleMs`
 * while its body is read. undici's own limit is 300 s of silence; a registry or token server
 * that says nothing for 30 s is down for this purpose.
 */
export interface RequestTimeouts {
  answerMs: number;
  idleMs: number;
}

export const DEFAULT_TIMEOUTS: RequestTimeouts = { answerMs: 30_000, idleMs: 30_000 };

/** The slowest upload a request body is given time for, on top of the answer time. */
const MIN_UPLOAD_BYTES_PER_SECOND = 1024 * 1024;

/** Errors where the request may not have reached the server's handler, so sending it again is safe and useful. */
const RETRYABLE_CONNECTION_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * fetch with bounded retries on 5xx, 429 and connection resets, with doubling back-off.
 * Bodies must be re-sendable (strings or buffers). A refused connection is not retried:
 * nothing listens, and waiting would only delay the answer. Nor is an answer that did not
 * come in time: a server that hangs once hangs again. `init.signal` (an interruption) stops
 * the request and the waits between attempts, and is thrown as it is.
 */
export async function fetchWithRetry(
  url: string,
  init: RequestInit,
  policy: RetryPolicy = DEFAULT_RETRY,
  answerMs: number = DEFAULT_TIMEOUTS.answerMs,
): Promise<Response> {
  const { origin, pathname } = new URL(url);
  const what = `${init.method ?? 'GET'} ${origin}${pathname}`;
  const interruption = init.signal ?? undefined;
  const allowedMs = answerMs + uploadAllowanceMs(init.body);
  let lastError: unknown;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    if (attempt > 1) await sleep(policy.backoffMs * 2 ** (attempt - 2), interruption);
    interruption?.throwIfAborted();
    const late = new AbortController();
    const deadline = setTimeout(() => late.abort(), allowedMs);
    let response: Response;
    try {
      const signal = interruption ? AbortSignal.any([interruption, late.signal]) : late.signal;
      response = await fetch(url, { ...init, signal });
    } catch (error) {
      if (interruption?.aborted) throw error;
      if (late.signal.aborted) {
        throw new RegistryConnectionError(`${what}: no answer within ${seconds(allowedMs)} s`, error);
      }
      lastError = error;
      if (!isRetryableConnectionError(error) || attempt === policy.attempts) break;
      continue;
    } finally {
      // The body is read under the idle limit of whoever reads it.
      clearTimeout(deadline);
    }
    if (!isRetryableStatus(response.status) || attempt === policy.attempts) return response;
    await response.body?.cancel();
  }
  throw new RegistryConnectionError(`${what}: ${describeConnectionError(lastError)}`, causeOf(lastError));
}

/** Seconds for a message: whole ones, or tenths below ten. */
export function seconds(ms: number): string {
  return ms >= 10_000 ? String(Math.round(ms / 1000)) : String(Math.round(ms / 100) / 10);
}

function uploadAllowanceMs(body: RequestInit['body']): number {
  const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.length : 0;
  return Math.ceil((bytes / MIN_UPLOAD_BYTES_PER_SECOND) * 1000);
}

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

export function isRetryableConnectionError(error: unknown): boolean {
  const code = (causeOf(error) as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && RETRYABLE_CONNECTION_CODES.has(code);
}

/** fetch wraps the system error: the code lives on `cause`. */
function causeOf(error: unknown): unknown {
  return (error as { cause?: unknown } | undefined)?.cause ?? error;
}

function describeConnectionError(error: unknown): string {
  const cause = causeOf(error) as { code?: unknown; message?: unknown } | undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return String(error);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      try {
        signal?.throwIfAborted();
        resolve();
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
