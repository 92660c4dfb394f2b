import { PackageURL } from 'packageurl-js';
import { imageNameOf, repositoryOf, tagOf } from './image-reference.js';
import type { InstalledPackage, OsRelease } from './types.js';

export interface PurlParts {
  type: string;
  namespace?: string | undefined;
  name: string;
  version?: string | undefined;
  qualifiers?: Record<string, string | undefined>;
}

/**
 * A purl built by the reference implementation (packageurl-js), which normalises each type's name and
 * encodes each component. One correction: packageurl-js 2.0.1 leaves `+` raw in versions, where the
 * specification's permitted characters leave it out and its own deb vector says `2.4.47-2%2Bb1` (a
 * form-decoding reader would take a raw `+` for a space). The version is the only component it
 * leaves `+` in, and the first `@` the only raw one, so the correction touches that component alone.
 */
export function buildPurl(parts: PurlParts): string {
  const present = Object.entries(parts.qualifiers ?? {}).filter(
    (pair): pair is [string, string] => pair[1] !== undefined && pair[1] !== '',
  );
  const qualifiers = present.length > 0 ? Object.fromEntries(present) : undefined;
  const built = new PackageURL(
    parts.type,
    parts.namespace,
    parts.name,
    parts.version,
    qualifiers,
    undefined,
  ).toString();
  const at = built.indexOf('@');
  if (at < 0) return built;
  const end = built.slice(at).search(/[?#]/);
  const versionEnd = end < 0 ? built.length : at + end;
  return `${built.slice(0, at)}${built.slice(at, versionEnd).replace(/\+/g, '%2B')}${built.slice(versionEnd)}`;
}

/** purl's `distro` qualifier as peers write it: `debian-12.8`, `rocky-9.4`; the point release when the image names one. */
function distroOf(os: OsRelease | undefined): string | undefined {
  if (!os) return undefined;
  const version = os.pointRelease ?? (os.versionId || os.codename);
  return version ? `${os.id}-${version}` : undefined;
}

/** Package URLs of the purl spec's deb, rpm and pypi types (rpm's epoch as a qualifier, as the spec has it). */
export function purlOf(pkg: InstalledPackage, os: OsRelease | undefined): string {
  const distro = distroOf(os);
  switch (pkg.type) {
    case 'deb':
      return buildPurl({
        type: 'deb',
        namespace: os?.id || 'debian',
        name: pkg.name,
        version: pkg.version,
        qualifiers: { arch: pkg.arch, distro },
      });
    case 'rpm': {
      const colon = pkg.version.indexOf(':');
      const epoch = colon >= 0 ? pkg.version.slice(0, colon) : undefined;
      const version = colon >= 0 ? pkg.version.slice(colon + 1) : pkg.version;
      const qualifiers = { arch: pkg.arch, distro, epoch };
      return buildPurl({ type: 'rpm', namespace: os?.id || 'rpm', name: pkg.name, version, qualifiers });
    }
    case 'pypi':
      return buildPurl({ type: 'pypi', name: pkg.name, version: pkg.version });
    default: {
      const never: never = pkg.type;
      return never;
    }
  }
}

/**
 * The image as the purl spec's oci type names it: the repository's last name, the manifest digest as
 * the version, where it lives and the tag as qualifiers (`pkg:oci/keystone@sha256:…?repository_url=…&tag=…`).
 */
export function imagePurl(reference: string, digest: string | undefined): string {
  const repository = repositoryOf(reference);
  const tag = tagOf(reference);
  return buildPurl({
    type: 'oci',
    name: imageNameOf(reference).toLowerCase(),
    version: digest,
    qualifiers: { repository_url: repository, tag: tag || undefined },
  });
}
