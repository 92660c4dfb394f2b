import { join } from 'node:path';
import { writeBuildContext } from '../render/context.js';
import type { Plan, PlannedImage } from './plan.js';

/** An image of a plan that could not be written, and why (its plan failure). */
export interface UnwrittenImage {
  name: string;
  reason: string;
}

/**
 * Writes the Dockerfile and build context of every planned image that can be built under `outDir`, at the
 * folder `placeOf` gives it (its name for `images render`, its place in the tree for kolla-build's
 * --template-only). Returns the images that were not written, with why.
 */
export async function writePlanContexts(
  plan: Plan,
  outDir: string,
  placeOf: (image: PlannedImage) => string | undefined,
): Promise<UnwrittenImage[]> {
  const unwritten: UnwrittenImage[] = [];
  const writing: Array<Promise<void>> = [];
  for (const image of plan.images) {
    const place = placeOf(image);
    if (image.failure !== undefined || place === undefined) {
      unwritten.push({ name: image.name, reason: image.failure?.message ?? 'not in the tree' });
      continue;
    }
    writing.push(writeBuildContext(join(outDir, place), image.dockerfile, image.contextFiles, image.emptyDirs));
  }
  await Promise.all(writing);
  return unwritten;
}
