import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface IndexedPackage {
  version: string;
  /** Relative to the repository's root, as apt fetches it. */
  filename: string;
}

/** name → version and file of every package in a published repository's Packages index. */
export function readPackagesIndex(
  repositoryDir: string,
  suite: string,
  architecture: string,
  component = 'main',
): Map<string, IndexedPackage> {
  const text = readFileSync(
    join(repositoryDir, 'dists', suite, component, `binary-${architecture}`, 'Packages'),
    'utf8',
  );
  const packages = new Map<string, IndexedPackage>();
  for (const stanza of text.split(/\n\n+/)) {
    const field = (name: string) => new RegExp(`^${name}: (.+)$`, 'm').exec(stanza)?.[1]?.trim();
    const [name, version, filename] = [field('Package'), field('Version'), field('Filename')];
    if (name !== undefined && version !== undefined && filename !== undefined)
      packages.set(name, { version, filename });
  }
  return packages;
}

export interface MovedPackage {
  name: string;
  from: string;
  to: string;
}

/** Packages both indexes hold at different versions, by name. */
export function movedPackages(
  before: ReadonlyMap<string, IndexedPackage>,
  after: ReadonlyMap<string, IndexedPackage>,
): MovedPackage[] {
  return [...before]
    .flatMap(([name, { version }]) => {
      const to = after.get(name)?.version;
      return to !== undefined && to !== version ? [{ name, from: version, to }] : [];
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
