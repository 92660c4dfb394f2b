import { RegistryConnectionError } from './errors.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Wait before the second attempt; doubled for each further one. */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, backoffMs: 250 };

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
 * nothing listens, and waiting would only delay the answer.
 */
export async function fetchWithRetry(
  url: string,
  init: RequestInit,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<Response> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    if (attempt > 1) await sleep(policy.backoffMs * 2 ** (attempt - 2));
    let response: Response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      lastError = error;
      if (!isRetryableConnectionError(error) || attempt === policy.attempts) break;
      continue;
    }
    if (!isRetryableStatus(response.status) || attempt === policy.attempts) return response;
    await response.body?.cancel();
  }
  const { origin, pathname } = new URL(url);
  const what = `${init.method ?? 'GET'} ${origin}${pathname}`;
  throw new RegistryConnectionError(`${what}: ${describeConnectionError(lastError)}`, causeOf(lastError));
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
