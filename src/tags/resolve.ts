import { DEFAULT_KEY, parentExceptionOf, tagKeysOfImage } from './naming.js';
import type { KollaImageTags } from './tags-file.js';

export interface ResolvedTag {
  tag: string;
  /** The key the tag came from: the container's own, a service prefix, or `openstack`. */
  from: string;
}

/**
 * A key's effective tag for a distro: its own, else its parent's, where the parent is the
 * named exception when the file has it for this distro, else the longest key that prefixes it
 * at a `_` boundary, else `openstack`. undefined when not even `openstack` has the distro.
 */
export function effectiveTag(tags: KollaImageTags, distro: string, key: string): ResolvedTag | undefined {
  const own = tags[key]?.[distro];
  if (own !== undefined) return { tag: own, from: key };
  if (key === DEFAULT_KEY) return undefined;
  const exception = parentExceptionOf(key);
  const start = exception ?? key;
  const exceptional = exception !== undefined ? tags[exception]?.[distro] : undefined;
  if (exception !== undefined && exceptional !== undefined) return { tag: exceptional, from: exception };
  const prefix = Object.keys(tags)
    .filter((candidate) => candidate !== DEFAULT_KEY && start.startsWith(`${candidate}_`))
    .filter((candidate) => tags[candidate]?.[distro] !== undefined)
    .sort((a, b) => b.length - a.length)[0];
  const parent = prefix ?? DEFAULT_KEY;
  const tag = tags[parent]?.[distro];
  return tag === undefined ? undefined : { tag, from: parent };
}

export interface ImageTag {
  image: string;
  distro: string;
  tag: string;
  /** The image's tag keys that resolve to this tag. */
  keys: string[];
  /** The keys of the file the tag came from. */
  from: string[];
}

export interface ResolvedImages {
  rows: ImageTag[];
  /** Images without any tag for a distro (the file has no `openstack` tag for it). */
  unresolved: Array<{ image: string; distro: string }>;
}

/** One row per image, distro and distinct tag (an image serving several keys may need several tags). */
export function imageTags(tags: KollaImageTags, images: readonly string[], distros: readonly string[]): ResolvedImages {
  const rows: ImageTag[] = [];
  const unresolved: ResolvedImages['unresolved'] = [];
  for (const distro of distros) {
    for (const image of images) {
      const byTag = new Map<string, ImageTag>();
      for (const key of tagKeysOfImage(image)) {
        const resolved = effectiveTag(tags, distro, key);
        if (resolved === undefined) continue;
        const row = byTag.get(resolved.tag) ?? { image, distro, tag: resolved.tag, keys: [], from: [] };
        row.keys.push(key);
        if (!row.from.includes(resolved.from)) row.from.push(resolved.from);
        byTag.set(resolved.tag, row);
      }
      if (byTag.size === 0) unresolved.push({ image, distro });
      rows.push(...byTag.values());
    }
  }
  rows.sort((a, b) => a.image.localeCompare(b.image) || a.distro.localeCompare(b.distro) || a.tag.localeCompare(b.tag));
  return { rows, unresolved };
}
