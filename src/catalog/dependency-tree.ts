import type { Catalog } from './types.js';

/** kolla-build --list-dependencies: a parent is {name: [children]}, a leaf is its name. */
export type DependencyNode = string | { [name: string]: DependencyNode[] };

/** The selected images whose parent is not selected: the tops of the trees a listing shows. */
export function selectedRoots(catalog: Catalog, selected: readonly string[]): string[] {
  const chosen = new Set(selected);
  return selected.filter((name) => !chosen.has(catalog.images.get(name)?.parent ?? ''));
}

export function dependencyJson(catalog: Catalog, name: string, selected: ReadonlySet<string>): DependencyNode {
  const children = childrenJson(catalog, name, selected);
  return children.length === 0 ? name : { [name]: children };
}

export function childrenJson(catalog: Catalog, name: string, selected: ReadonlySet<string>): DependencyNode[] {
  return (catalog.children.get(name) ?? [])
    .filter((child) => selected.has(child))
    .map((child) => dependencyJson(catalog, child, selected));
}

/**
 * kolla-build's --list-dependencies output: every root as {name: [children]}, even without children; a
 * selection of nothing is the sentence kolla-build prints.
 */
export function kollaDependencyListing(catalog: Catalog, selected: readonly string[]): string {
  const chosen = new Set(selected);
  const roots = selectedRoots(catalog, selected);
  if (roots.length === 0) return 'Nothing matched!\n';
  const tree = Object.fromEntries(roots.map((root) => [root, childrenJson(catalog, root, chosen)]));
  return `${JSON.stringify(tree, null, 2)}\n`;
}

/** kolla-build's --list-images output: `1 : name` per selected image. */
export function kollaImageListing(selected: readonly string[]): string {
  return selected.map((name, index) => `${index + 1} : ${name}\n`).join('');
}

/** An indented text tree, two spaces per level. */
export function dependencyText(catalog: Catalog, name: string, selected: ReadonlySet<string>, indent = ''): string {
  const children = (catalog.children.get(name) ?? []).filter((child) => selected.has(child));
  return `${indent}${name}\n${children.map((child) => dependencyText(catalog, child, selected, `${indent}  `)).join('')}`;
}
