import { selectImages } from '../catalog/select.js';
import type { Catalog } from '../catalog/types.js';
import type { Config } from '../config/schema.js';
import { isDeployableImage } from './naming.js';

/**
 * The deployable images of the image trees for a distro key (`debian-bookworm`): all of them
 * but the intermediate `-base` images and what the matching configured distro cannot build.
 */
export function deployableImages(catalog: Catalog, config: Pick<Config, 'distros'>, distroKey: string): string[] {
  const configured = Object.entries(config.distros).find(([name, distro]) => `${name}-${distro.version}` === distroKey);
  const unbuildable = configured?.[1].unbuildable ?? [];
  const selection = selectImages(catalog, { regexes: null, unbuildable, skipParents: false });
  return selection.selected.filter(isDeployableImage).sort();
}

/** `--distro` values name a distro (`rocky`) or a distro key (`rocky-9`). */
export function matchesDistro(distroKey: string, asked: readonly string[]): boolean {
  return asked.length === 0 || asked.some((name) => name === distroKey || distroKey.startsWith(`${name}-`));
}
