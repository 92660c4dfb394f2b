import type { InstalledPackage, OsRelease } from './types.js';

/** purl components are percent-encoded; `+` too, since some readers take it for a space. */
const encode = (text: string) => encodeURIComponent(text);

function qualifiers(pairs: Array<[string, string | undefined]>): string {
  const present = pairs.filter((pair): pair is [string, string] => pair[1] !== undefined && pair[1] !== '');
  present.sort(([a], [b]) => (a < b ? -1 : 1));
  return present.length > 0 ? `?${present.map(([key, value]) => `${key}=${encode(value)}`).join('&')}` : '';
}

/** Package URLs as the purl spec's deb, rpm and pypi types spell them. */
export function purlOf(pkg: InstalledPackage, os: OsRelease | undefined): string {
  const distro = os ? `${os.id}-${os.versionId || os.codename}` : undefined;
  const namespace = encode(os?.id || (pkg.type === 'deb' ? 'debian' : 'rpm'));
  switch (pkg.type) {
    case 'deb': {
      const tail = qualifiers([
        ['arch', pkg.arch],
        ['distro', distro],
      ]);
      return `pkg:deb/${namespace}/${encode(pkg.name)}@${encode(pkg.version)}${tail}`;
    }
    case 'rpm': {
      const colon = pkg.version.indexOf(':');
      const epoch = colon >= 0 ? pkg.version.slice(0, colon) : undefined;
      const version = colon >= 0 ? pkg.version.slice(colon + 1) : pkg.version;
      const tail = qualifiers([
        ['arch', pkg.arch],
        ['distro', distro],
        ['epoch', epoch],
      ]);
      return `pkg:rpm/${namespace}/${encode(pkg.name)}@${encode(version)}${tail}`;
    }
    case 'pypi':
      return `pkg:pypi/${encode(pkg.name)}@${encode(pkg.version)}`;
    default: {
      const never: never = pkg.type;
      return never;
    }
  }
}
