/** The proxy's path for each plain mirror: repos writes sources that point there, the proxy serves it. */
export const MIRRORS_ROUTE = '/mirrors/';

/** A plain mirror the proxy serves under `/mirrors/<distro>/<name>/`; it never gets a credential. */
export interface MirrorRoute {
  distro: string;
  name: string;
  /** The mirror's base URL, e.g. http://deb.debian.org/debian/ */
  url: string;
}

/** Where a plain mirror of a distro is reached on the proxy. */
export function mirrorRoutePath(distro: string, name: string): string {
  return `${MIRRORS_ROUTE}${distro}/${name}/`;
}
