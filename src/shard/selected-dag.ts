import { selectImages } from '../catalog/select.js';
import type { Catalog } from '../catalog/types.js';
import type { ShardableImage } from './partition.js';

/**
 * The images a run of these regexes builds for the distro (its unbuildable images left out), with
 * their parents: the DAG shards are cut from. A run plans exactly these images, so a partition of
 * them covers every run of the same selection.
 */
export function selectedDag(
  catalog: Catalog,
  regexes: readonly string[] | null,
  unbuildable: readonly string[],
): ShardableImage[] {
  const selection = selectImages(catalog, { regexes, unbuildable, skipParents: false });
  return selection.selected.map((name) => ({ name, parent: catalog.images.get(name)?.parent ?? null }));
}
