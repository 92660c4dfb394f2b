import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { UploadBytes } from './client.js';
import { RegistryConnectionError } from './errors.js';

/** How long an upload try may stand still (BlobPushOptions), and the run's interrupt. */
export interface WatchLimits {
  idleMs: number;
  answerMs: number;
  signal: AbortSignal;
}

/**
 * Runs one request with a watchdog: every byte of the body taken resets it, and after the body it
 * waits for the answer. A registry or network that stops moving fails the try instead of holding it.
 */
export async function withIdleLimit<T>(
  options: WatchLimits,
  request: (signal: AbortSignal, touch: (limitMs?: number) => void) => Promise<T>,
): Promise<T> {
  const idle = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let limit = options.idleMs;
  let ended = false;
  const touch = (limitMs = options.idleMs) => {
    // The body's reader may still be pulled once the answer came (a registry that answers early): a
    // watchdog set then would outlive the try and hold the process up to answerMs after its work ended.
    if (ended) return;
    clearTimeout(timer);
    limit = limitMs;
    // The request in flight keeps the process alive while it matters; the watchdog alone never does.
    timer = setTimeout(() => idle.abort(), limitMs).unref();
  };
  touch();
  try {
    return await request(AbortSignal.any([options.signal, idle.signal]), touch);
  } catch (error) {
    if (idle.signal.aborted && !options.signal.aborted) {
      throw new RegistryConnectionError(`no progress for ${limit / 1000} s`, error);
    }
    throw error;
  } finally {
    ended = true;
    clearTimeout(timer);
  }
}

/**
 * `length` bytes of a file from `start`, read only as fast as the request sends them; `touch` hears
 * of every chunk taken, and of the end of the body with the time the answer may take.
 */
export function fileBytes(
  file: string,
  start: number,
  length: number,
  options: WatchLimits,
  touch: (limitMs?: number) => void,
): UploadBytes {
  return {
    length,
    open: () => {
      const source = length === 0 ? Readable.from([]) : createReadStream(file, { start, end: start + length - 1 });
      async function* counted(): AsyncGenerator<Uint8Array> {
        for await (const chunk of source) {
          touch();
          yield chunk;
        }
        touch(options.answerMs);
      }
      return Readable.toWeb(Readable.from(counted()));
    },
  };
}
