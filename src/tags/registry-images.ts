import type { ImageTag } from './resolve.js';

/** One image at one tag in the registry, with the distros that reference it. */
export interface ReferencedImage {
  image: string;
  tag: string;
  distros: string[];
}

/** The distinct image:tag pairs of the resolved rows (several distros may share one). */
export function referencedImages(rows: readonly ImageTag[]): ReferencedImage[] {
  const byReference = new Map<string, ReferencedImage>();
  for (const row of rows) {
    const id = `${row.image}:${row.tag}`;
    const entry = byReference.get(id) ?? { image: row.image, tag: row.tag, distros: [] };
    if (!entry.distros.includes(row.distro)) entry.distros.push(row.distro);
    byReference.set(id, entry);
  }
  return [...byReference.values()];
}

/** `<namespace>/<prefix><image>`, as the build pushed it. */
export function repositoryOf(namespace: string, imagePrefix: string, image: string): string {
  return `${namespace}/${imagePrefix}${image}`;
}
