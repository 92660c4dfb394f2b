import type { RegistryClient } from '../registry/client.js';
import { copyImage } from '../registry/copy.js';
import { RegistryAuthError, RegistryNotFoundError } from '../registry/errors.js';
import { errorMessage } from '../util/errors.js';
import { Limiter } from '../util/limiter.js';
import type { ReferencedImage } from './registry-images.js';

/** `interrupted`: the signal stopped the promotion before this image was copied. */
export type PromotionOutcome = 'copied' | 'already-present' | 'failed' | 'interrupted';

export interface PromotedImage extends ReferencedImage {
  from: string;
  to: string;
  outcome: PromotionOutcome;
  digest?: string;
  detail?: string;
}

/**
 * Copies every referenced image:tag from one namespace to another in the same registry, by
 * blob mount and manifest put, a bounded number at a time. One image failing does not stop
 * the others; a refused credential stops them all. Once `signal` aborts, no image starts and
 * those under way stop (the client should carry the same signal, so its requests stop too).
 */
export async function promoteImages(
  client: RegistryClient,
  images: readonly ReferencedImage[],
  repositories: { from: (image: string) => string; to: (image: string) => string },
  concurrency: number,
  signal?: AbortSignal,
): Promise<PromotedImage[]> {
  const limiter = new Limiter(concurrency);
  return Promise.all(
    images.map((image) =>
      limiter.add(async (): Promise<PromotedImage> => {
        const from = repositories.from(image.image);
        const to = repositories.to(image.image);
        if (signal?.aborted) return { ...image, from, to, outcome: 'interrupted' };
        try {
          const copied = await copyImage(client, from, to, image.tag, signal);
          return { ...image, from, to, outcome: copied.outcome, digest: copied.digest };
        } catch (error) {
          if (signal?.aborted) return { ...image, from, to, outcome: 'interrupted' };
          if (error instanceof RegistryAuthError) throw error;
          const missing = error instanceof RegistryNotFoundError;
          const detail = missing ? `${from}:${image.tag} does not exist` : errorMessage(error);
          return { ...image, from, to, outcome: 'failed', detail };
        }
      }),
    ),
  );
}
