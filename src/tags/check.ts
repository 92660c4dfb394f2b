import type { RegistryClient } from '../registry/client.js';
import { RegistryAuthError, RegistryNotFoundError } from '../registry/errors.js';
import { errorMessage } from '../util/errors.js';
import { Limiter } from '../util/limiter.js';
import type { ReferencedImage } from './registry-images.js';

export type CheckState = 'present' | 'missing' | 'unknown';

export interface CheckedImage extends ReferencedImage {
  repository: string;
  state: CheckState;
  /** Why the state is unknown. */
  detail?: string;
}

/**
 * Asks the registry for every image:tag, a bounded number at a time. A refused credential
 * stops the check (every answer would be the same); other errors mark that one image unknown.
 */
export async function checkImages(
  client: RegistryClient,
  images: readonly ReferencedImage[],
  repositoryOf: (image: string) => string,
  concurrency: number,
): Promise<CheckedImage[]> {
  const limiter = new Limiter(concurrency);
  return Promise.all(
    images.map((image) =>
      limiter.add(async (): Promise<CheckedImage> => {
        const repository = repositoryOf(image.image);
        try {
          const head = await client.headManifest(repository, image.tag);
          return { ...image, repository, state: head ? 'present' : 'missing' };
        } catch (error) {
          if (error instanceof RegistryNotFoundError) return { ...image, repository, state: 'missing' };
          if (error instanceof RegistryAuthError) throw error;
          return { ...image, repository, state: 'unknown', detail: errorMessage(error) };
        }
      }),
    ),
  );
}
