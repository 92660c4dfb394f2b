import type { PlannedImage } from '../plan/plan.js';
import type { ImageWork, RebuildReason } from '../report/events.js';

/** An image's work as the plan has it: a patch may be set to stack onto its patched parent (image-work.ts). */
type PlannedWork = ImageWork & { onto?: { ownPackages: readonly unknown[] } };

/**
 * The packages each image of the respin holds in its earlier self (name:architecture), where they were read:
 * what a build of an image installs on its parent is what it holds that its parent does not.
 */
export type HeldPackages = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * A child of a patched parent that is patched as a whole (its engine cannot stack its own layers onto the
 * patched parent, or its pins decide its parent's packages otherwise) upgrades again, over its old layers, every
 * package its parent's patch upgrades. Built on the patched parent instead, it installs only what it adds to the
 * parent. Such a child is rebuilt where that is less package work, counted in packages for it and every image
 * below it (a rebuilt child's children are rebuilt too): building installs each one's own packages; keeping the
 * patch upgrades its moved ones, each child below deciding the same way for itself. dpkg unpacks and configures a
 * package either way; the count is what differs, tens of packages against a few in a leaf.
 */
export function cheaperRebuilt(
  images: readonly PlannedImage[],
  work: ReadonlyMap<string, PlannedWork>,
  held: HeldPackages,
): Map<string, RebuildReason> {
  const costs = new PackageWork(images, work, held);
  const rebuilt = new Map<string, RebuildReason>();
  // Images below one rebuilt here: rebuilt anyway, as every child of a rebuilt parent is (parents come first).
  const below = new Set<string>();
  for (const image of images) {
    if (image.parent === null) continue;
    if (rebuilt.has(image.parent) || below.has(image.parent)) {
      below.add(image.name);
      continue;
    }
    const own = work.get(image.name);
    if (own?.kind !== 'patch' || own.onto !== undefined || work.get(image.parent)?.kind !== 'patch') continue;
    const installs = costs.rebuilt(image);
    const upgrades = costs.kept(image);
    if (installs === undefined || upgrades === undefined || installs >= upgrades) continue;
    rebuilt.set(image.name, { kind: 'parent-patched', parent: image.parent, installs, upgrades });
  }
  return rebuilt;
}

/** Packages installed or upgraded for an image and everything below it, as the plan stands; undefined: unknown. */
class PackageWork {
  private readonly children = new Map<string, PlannedImage[]>();

  constructor(
    images: readonly PlannedImage[],
    private readonly work: ReadonlyMap<string, PlannedWork>,
    private readonly held: HeldPackages,
  ) {
    for (const image of images) {
      if (image.parent === null) continue;
      this.children.set(image.parent, [...(this.children.get(image.parent) ?? []), image]);
    }
  }

  /**
   * The image and everything below it built: each installs what it holds beyond its parent. One the plan builds
   * anyway (a new recipe, say) counts nought, here as in kept(): it is built whichever way its parent goes.
   */
  rebuilt(image: PlannedImage): number | undefined {
    if (this.work.get(image.name)?.kind === 'build') return 0;
    const own = this.ownPackages(image);
    return own === undefined ? undefined : this.sum(own, image, (child) => this.rebuilt(child));
  }

  /** The image made as planned, each image below it the cheaper way where it may choose. */
  kept(image: PlannedImage): number | undefined {
    const work = this.work.get(image.name);
    if (work === undefined) return undefined;
    switch (work.kind) {
      case 'reuse':
      case 'respin-reuse':
        return this.sum(0, image, (child) => this.best(child));
      case 'patch':
        return this.sum(work.onto?.ownPackages.length ?? work.packages.length, image, (child) => this.best(child));
      case 'build':
        return 0;
      default: {
        const never: never = work;
        return never;
      }
    }
  }

  /** What a child of a kept image costs: the lesser of both where it is a whole patch, else as planned. */
  private best(image: PlannedImage): number | undefined {
    const work = this.work.get(image.name);
    const kept = this.kept(image);
    if (work?.kind !== 'patch' || work.onto !== undefined) return kept;
    const rebuilt = this.rebuilt(image);
    return kept === undefined || rebuilt === undefined ? undefined : Math.min(kept, rebuilt);
  }

  private ownPackages(image: PlannedImage): number | undefined {
    const mine = this.held.get(image.name);
    const theirs = image.parent === null ? new Set<string>() : this.held.get(image.parent);
    if (mine === undefined || theirs === undefined) return undefined;
    let own = 0;
    for (const key of mine) if (!theirs.has(key)) own += 1;
    return own;
  }

  private sum(
    first: number,
    image: PlannedImage,
    each: (child: PlannedImage) => number | undefined,
  ): number | undefined {
    let total = first;
    for (const child of this.children.get(image.name) ?? []) {
      const cost = each(child);
      if (cost === undefined) return undefined;
      total += cost;
    }
    return total;
  }
}
