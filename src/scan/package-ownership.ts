import type { PackageOwner } from './types.js';

/** The Python metadata folder (or egg-info file) a path lies in, relative to the root; undefined for other paths. */
export function pythonMetadataPathOf(path: string): string | undefined {
  const match = /^\/?(.*?\.(?:dist|egg)-info)(?:\/|$)/.exec(path);
  return match?.[1];
}

/**
 * Which OS package owns each Python distribution's metadata, from the package managers' own file
 * lists (dpkg's info/*.list and status.d/*.md5sums, rpm's file names). Only metadata paths are kept:
 * they are what ownership is asked of.
 */
export class PythonOwnership {
  private readonly owners = new Map<string, PackageOwner>();

  /** Records the paths of one package's file list (absolute, or relative to the root). */
  addFiles(owner: PackageOwner, paths: Iterable<string>): void {
    for (const path of paths) {
      const metadata = pythonMetadataPathOf(path);
      if (metadata !== undefined && !this.owners.has(metadata)) this.owners.set(metadata, owner);
    }
  }

  /**
   * The owner of the distribution at `location`. On a merged-/usr image a list may name `/lib/…`
   * where the tree, walked without following links, shows `usr/lib/…`.
   */
  ownerOf(location: string): PackageOwner | undefined {
    return this.owners.get(location) ?? (location.startsWith('usr/') ? this.owners.get(location.slice(4)) : undefined);
  }
}

/** The paths of a dpkg `info/<package>.list` file: one absolute path a line. */
export function dpkgListPaths(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('/'));
}

/** The paths of a distroless `status.d/<package>.md5sums` file: `<md5>  <path relative to the root>` lines. */
export function md5sumsPaths(text: string): string[] {
  return text
    .split('\n')
    .map((line) => /^[0-9a-f]{32} [ *]?(.+)$/.exec(line)?.[1])
    .filter((path): path is string => path !== undefined);
}

/** `info/python3-six.list` or `info/libfoo:amd64.list` (Multi-Arch: same) → the package name. */
export function dpkgPackageOfListFile(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1).replace(/\.list$/, '');
  const colon = base.indexOf(':');
  return colon >= 0 ? base.slice(0, colon) : base;
}
