/** What placement knows of one builder at the moment an image is ready. */
export interface BuilderLoad {
  name: string;
  slots: number;
  /** Images (or the base image) running on it now. */
  running: number;
  lost: boolean;
  /** Images this builder holds: built there or pulled there during the run (the base image by its reference). */
  holds: ReadonlySet<string>;
}

/** An image ready to run: what it needs first (its parent, or the base image), if anything. */
export interface ReadyImage {
  needs: string | null;
}

/**
 * Pure: the builder a ready image goes to, or undefined when none has a free slot. Only builders that
 * are not lost and have a free slot are candidates; among them one that already holds what the image
 * needs wins (no pull), then the one with the fewest running images, then the lower share of its slots
 * in use, then the earlier in the list (so the same state always gives the same answer).
 */
export function placeImage(image: ReadyImage, builders: readonly BuilderLoad[]): string | undefined {
  const candidates = builders
    .map((builder, order) => ({ builder, order }))
    .filter(({ builder }) => !builder.lost && builder.running < builder.slots);
  const holdsNeed = (builder: BuilderLoad) => (image.needs !== null && builder.holds.has(image.needs) ? 0 : 1);
  candidates.sort(
    (a, b) =>
      holdsNeed(a.builder) - holdsNeed(b.builder) ||
      a.builder.running - b.builder.running ||
      a.builder.running / a.builder.slots - b.builder.running / b.builder.slots ||
      a.order - b.order,
  );
  return candidates[0]?.builder.name;
}
