import { RegistryConnectionError, RegistryProtocolError } from './errors.js';
import { seconds } from './transport.js';

/** What registries accept as a manifest (distribution's own limit): a larger answer is not one. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Tag pages, image configs, token answers, error bodies: JSON well below this. */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;

export interface BodyLimits {
  maxBytes: number;
  /** The longest pause between two chunks. */
  idleMs: number;
  /** The request, for messages: `GET /v2/…`. */
  what: string;
}

/**
 * An answer's body, read whole but never past `maxBytes` (announced or not: reading stops
 * there) and never waiting more than `idleMs` for the next chunk. One-line typed errors.
 */
export async function readAnswer(response: Response, limits: BodyLimits): Promise<Buffer> {
  const { maxBytes, idleMs, what } = limits;
  const tooLarge = () =>
    new RegistryProtocolError(response.status, `${what}: the answer is larger than ${size(maxBytes)}`);
  const announced = Number(response.headers.get('content-length') ?? NaN);
  if (announced > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (response.body === null) return Buffer.alloc(0);
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), idleMs)));
    const next = await Promise.race([reader.read(), stalled]).finally(() => clearTimeout(timer));
    if (next === 'stalled') {
      await reader.cancel().catch(() => undefined);
      const message = `${what}: the answer stalled (nothing for ${seconds(idleMs)} s)`;
      throw new RegistryConnectionError(message, undefined);
    }
    if (next.done) break;
    total += next.value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(next.value);
  }
  return Buffer.concat(chunks);
}

/** An answer's body as JSON (unknown: the caller checks its shape); not JSON is one line. */
export async function readJsonAnswer(response: Response, limits: BodyLimits): Promise<unknown> {
  const text = (await readAnswer(response, limits)).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RegistryProtocolError(response.status, `${limits.what}: the answer is not JSON`);
  }
}

function size(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
