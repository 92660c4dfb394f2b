import type { RegistryClient } from '../registry/client.js';
import { copyImage } from '../registry/copy.js';
import { RegistryAuthError, RegistryNotFoundError } from '../registry/errors.js';
import { errorMessage } from '../util/errors.js';
import { Limiter } from '../util/limiter.js';
import type { ReferencedImage } from './registry-images.js';

export type PromotionOutcome = 'copied' | 'already-present' | 'failed';

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
 * the others; a refused credential stops them all.
 */
export async function promoteImages(
  client: RegistryClient,
  images: readonly ReferencedImage[],
  repositories: { from: (image: string) => string; to: (image: string) => string },
  concurrency: number,
): Promise<PromotedImage[]> {
  const limiter = new Limiter(concurrency);
  return Promise.all(
    images.map((image) =>
      limiter.add(async (): Promise<PromotedImage> => {
        const from = repositories.from(image.image);
        const to = repositories.to(image.image);
        try {
          const copied = await copyImage(client, from, to, image.tag);
          return { ...image, from, to, outcome: copied.outcome, digest: copied.digest };
        } catch (error) {
          if (error instanceof RegistryAuthError) throw error;
          const missing = error instanceof RegistryNotFoundError;
          const detail = missing ? `${from}:${image.tag} does not exist` : errorMessage(error);
          return { ...image, from, to, outcome: 'failed', detail };
        }
      }),
    ),
  );
}
