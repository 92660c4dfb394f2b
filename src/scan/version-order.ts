import { compareDpkgVersions } from './dpkg-version.js';
import { comparePep440Versions } from './pep440-version.js';
import { compareRpmVersions } from './rpm-version.js';
import type { PackageType } from './types.js';

export type VersionCompare = (a: string, b: string) => number;

export function versionOrder(type: PackageType): VersionCompare {
  switch (type) {
    case 'deb':
      return compareDpkgVersions;
    case 'rpm':
      return compareRpmVersions;
    case 'pypi':
      return comparePep440Versions;
    default: {
      const never: never = type;
      return never;
    }
  }
}
