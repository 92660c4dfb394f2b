import { UsageError } from '../util/errors.js';
import type { Catalog } from './types.js';

export interface SelectionRequest {
  /** Regexes searched (unanchored) in image names; null means every image (no filter given). */
  regexes: readonly string[] | null;
  /** Images that cannot be built for this distro; they and their descendants are left out. */
  unbuildable: readonly string[];
  /** Leave out selected images that have selected children (they must already exist). */
  skipParents: boolean;
}

export interface Selection {
  /** Images to build, parents before children. */
  selected: string[];
  /** Selected images left out by --skip-parents. */
  skippedParents: string[];
  /** Images of the tree that the selection left out. */
  notMatched: string[];
  /** Unbuildable images that the selection would otherwise have taken. */
  unbuildable: string[];
  /** Regexes that matched no image name. */
  unmatchedRegexes: string[];
}

/** Selection as kolla-build does it: any regex matches anywhere in the name, ancestors come along. */
export function selectImages(catalog: Catalog, request: SelectionRequest): Selection {
  const sources = request.regexes ?? [];
  const patterns = sources.map((source) => compile(source));
  const allNames = [...catalog.images.keys()].sort();
  const unbuildable = withDescendants(
    catalog,
    request.unbuildable.filter((name) => catalog.images.has(name)),
  );

  const matched = new Set<string>();
  const unmatchedRegexes: string[] = [];
  if (request.regexes === null) {
    for (const name of allNames) matched.add(name);
  } else {
    patterns.forEach((pattern, index) => {
      const hits = allNames.filter((name) => pattern.test(name));
      if (hits.length === 0) unmatchedRegexes.push(sources[index] ?? '');
      for (const name of hits) matched.add(name);
    });
  }

  const wanted = new Set<string>();
  for (const name of matched) {
    for (let current: string | null = name; current !== null; current = catalog.images.get(current)?.parent ?? null)
      wanted.add(current);
  }
  const blocked = [...wanted].filter((name) => unbuildable.has(name)).sort();
  for (const name of blocked) wanted.delete(name);

  const ordered = topologicalOrder(catalog, wanted);
  const skippedParents = request.skipParents
    ? ordered.filter((name) => (catalog.children.get(name) ?? []).some((child) => wanted.has(child)))
    : [];
  return {
    selected: ordered.filter((name) => !skippedParents.includes(name)),
    skippedParents,
    notMatched: allNames.filter((name) => !wanted.has(name) && !unbuildable.has(name)),
    unbuildable: blocked,
    unmatchedRegexes,
  };
}

function compile(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw new UsageError(`invalid image regex ${JSON.stringify(source)}: ${(error as Error).message}`);
  }
}

function withDescendants(catalog: Catalog, roots: readonly string[]): Set<string> {
  const result = new Set<string>();
  const visit = (name: string) => {
    if (result.has(name)) return;
    result.add(name);
    for (const child of catalog.children.get(name) ?? []) visit(child);
  };
  roots.forEach(visit);
  return result;
}

/** Parents before children; siblings by name, so output is stable. */
export function topologicalOrder(catalog: Catalog, names: ReadonlySet<string>): string[] {
  const order: string[] = [];
  const visit = (name: string) => {
    order.push(name);
    for (const child of catalog.children.get(name) ?? []) if (names.has(child)) visit(child);
  };
  const roots = [...names].filter((name) => {
    const parent = catalog.images.get(name)?.parent ?? null;
    return parent === null || !names.has(parent);
  });
  roots.sort().forEach(visit);
  return order;
}
