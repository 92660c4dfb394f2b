/**
 * Kolla's version as pbr (Kolla's packaging tool) tells it when kolla-build runs from a checkout that is
 * not installed: the PBR_VERSION (or OSLO_PACKAGE_VERSION) variable, else a PKG-INFO of an sdist, else
 * git history (an exact tag, or the newest version tag reachable from HEAD bumped by the commits since,
 * Sem-Ver trailers deciding how). kolla-build uses the short form `major.minor.patch`.
 */

export interface PipVersion {
  major: number;
  minor: number;
  patch: number;
  /** `a`, `b`, `rc`, ...: a pre-release; null for a final release. */
  prereleaseType: string | null;
  prerelease: number;
  /** Commits since the release; 0 for the release itself. */
  devCount: number;
}

const isDigits = (text: string): boolean => /^[0-9]+$/.test(text);

/** Reads a version as pbr accepts it (`22.0.0`, `22.0.0.0rc1`, `1.2rc1`, `1.2.3.dev4`); null if pbr refuses it. */
export function parsePipVersion(text: string): PipVersion | null {
  const trimmed = text.replace(/^[vV]+/, '');
  if (!/^[0-9]/.test(trimmed)) return null;
  const pieces = trimmed.split('.');
  let leading = 0;
  while (leading < pieces.length && isDigits(pieces[leading] ?? '')) leading += 1;
  const numbers = pieces.slice(0, leading).map(Number);
  let rest = pieces.slice(leading);
  if (leading < 3 && rest[0] !== undefined && /^[0-9]/.test(rest[0])) {
    // `1.2rc1`: the digits of a mixed piece are the last number, the letters start the pre-release.
    const digits = /^[0-9]+/.exec(rest[0])?.[0] ?? '';
    numbers.push(Number(digits));
    rest = [rest[0].slice(digits.length), ...rest.slice(1)];
  }
  while (numbers.length < 3) numbers.push(0);
  const version: PipVersion = {
    major: numbers[0] ?? 0,
    minor: numbers[1] ?? 0,
    patch: numbers[2] ?? 0,
    prereleaseType: null,
    prerelease: 0,
    devCount: 0,
  };
  // Numbers past the third were an old dev count (`0.1.2.3.g1234`) unless zero-led (`0rc1`).
  for (const extra of numbers.slice(3)) rest.unshift(String(extra));
  if (rest[0] !== undefined && isDigits(rest[0]) && Number(rest[0]) !== 0) {
    version.devCount = Number(rest[0]);
    return version;
  }
  let postCount = 0;
  if (rest[0] !== undefined && /^[0abr]/.test(rest[0])) {
    const prerelease = /^[0-9]*([A-Za-z]+)([0-9]+)$/.exec(rest[0]);
    if (prerelease === null) return null;
    version.prereleaseType = prerelease[1] ?? null;
    version.prerelease = Number(prerelease[2]);
    rest = rest.slice(1);
  }
  for (const piece of rest) {
    const dev = /^dev([0-9]+)$/.exec(piece);
    const post = /^post([0-9]+)$/.exec(piece);
    if (dev !== null) version.devCount = Number(dev[1]);
    else if (post !== null) postCount = Number(post[1]);
    else return null;
  }
  if (postCount > 0) {
    if (version.devCount > 0) return null;
    return { ...incrementVersion(version, {}), devCount: postCount };
  }
  return version;
}

/** The next version: a pre-release moves to its next serial, a release to its next patch, or minor/major. */
export function incrementVersion(version: PipVersion, bump: { minor?: boolean; major?: boolean }): PipVersion {
  const next: PipVersion =
    version.prereleaseType !== null
      ? { ...version, prerelease: version.prerelease + 1, devCount: 0 }
      : { ...version, patch: version.patch + 1, devCount: 0 };
  if (bump.minor === true) {
    Object.assign(next, { minor: version.minor + 1, patch: 0, prereleaseType: null, prerelease: 0 });
  }
  if (bump.major === true) {
    Object.assign(next, { major: version.major + 1, minor: 0, patch: 0, prereleaseType: null, prerelease: 0 });
  }
  return next;
}

const prereleaseRank = (type: string | null): number => (type === null ? 3 : type === 'rc' ? 2 : type === 'b' ? 1 : 0);

/** Orders versions as pbr does: dev builds of a release before its pre-releases, pre-releases before it. */
export function compareVersions(a: PipVersion, b: PipVersion): number {
  const key = (v: PipVersion): number[] => [
    v.major,
    v.minor,
    v.patch,
    v.devCount > 0 && v.prereleaseType === null ? 0 : 1,
    prereleaseRank(v.prereleaseType),
    v.prerelease,
    v.devCount > 0 ? v.devCount : Number.MAX_SAFE_INTEGER,
  ];
  const [left, right] = [key(a), key(b)];
  for (let i = 0; i < left.length; i += 1) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

export const briefVersion = (version: PipVersion): string => `${version.major}.${version.minor}.${version.patch}`;

/** How far the Sem-Ver trailers of the commits since the last tag move the version. */
export function semVerBump(commitMessages: string): { minor?: boolean; major?: boolean } {
  const symbols = new Set<string>();
  for (const line of commitMessages.split('\n')) {
    const trimmed = line.trim().toLowerCase();
    if (!trimmed.startsWith('sem-ver:')) continue;
    for (const symbol of trimmed.slice('sem-ver:'.length).split(',')) symbols.add(symbol.trim());
  }
  const bump: { minor?: boolean; major?: boolean } = {};
  if (symbols.has('feature') || symbols.has('deprecation')) bump.minor = true;
  if (symbols.has('api-break')) bump.major = true;
  return bump;
}

/** The version tags decorating one line of `git log --decorate=full --format=%h%x00%s%x00%d`, as pbr reads them. */
export function versionTagsOfLogLine(decoration: string): string[] {
  if (!decoration.includes('refs/tags/')) return [];
  const inner = decoration.trim().slice(1, -1);
  return inner
    .split('refs/tags/')
    .slice(1)
    .map((piece) => (piece.split(', ')[0] ?? '').replace(/-/g, '.'))
    .filter((candidate) => parsePipVersion(candidate) !== null);
}
