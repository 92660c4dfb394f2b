import { MIRRORS_ROUTE, mirrorRoutePath, type MirrorRoute } from '../repos/mirror-routes.js';
import { checkPathSafety, STATUS_PATH } from './request-path.js';

export const PULP_CONTENT_ROUTE = '/pulp/content/';

/**
 * Where an accepted request goes. `pulp-content` carries Pulp's credential; `pulp-status` and
 * `mirror` never do. `upstreamPath` is relative to the upstream's base URL, query included.
 */
export type Route =
  | { kind: 'pulp-content'; upstreamPath: string }
  | { kind: 'pulp-status'; upstreamPath: string }
  | { kind: 'mirror'; mirror: MirrorRoute; upstreamPath: string };

export type RouteVerdict = ({ ok: true } & Route) | { ok: false; status: 400 | 404; reason: string };

export interface RouteTable {
  /** True when a Pulp upstream is configured. */
  pulp: boolean;
  /** Mirror routes by their path (mirrorRoutePath). */
  mirrors: ReadonlyMap<string, MirrorRoute>;
}

export function routeTable(pulp: boolean, mirrors: readonly MirrorRoute[]): RouteTable {
  return { pulp, mirrors: new Map(mirrors.map((mirror) => [mirrorRoutePath(mirror.distro, mirror.name), mirror])) };
}

/**
 * Pure: the one upstream a request target goes to, or why it goes nowhere. The path is
 * checked for escapes before any route matches, so no route can be left through its own path.
 */
export function resolveRoute(target: string, table: RouteTable): RouteVerdict {
  const safe = checkPathSafety(target);
  if (!safe.ok) return safe;
  const { decoded } = safe;
  if (table.pulp) {
    if (decoded.startsWith(PULP_CONTENT_ROUTE) && decoded.length > PULP_CONTENT_ROUTE.length)
      return { ok: true, kind: 'pulp-content', upstreamPath: target };
    if (decoded === STATUS_PATH) return { ok: true, kind: 'pulp-status', upstreamPath: target };
  }
  if (decoded.startsWith(MIRRORS_ROUTE)) {
    // /mirrors/<distro>/<name>/<rest>: the route is the first three segments, matched decoded.
    const segments = decoded.split('/');
    const prefix = `${segments.slice(0, 4).join('/')}/`;
    const mirror = segments.length > 4 ? table.mirrors.get(prefix) : undefined;
    // The raw target keeps its own encoding; the route prefix has none (names are plain), so it is cut raw.
    if (mirror !== undefined && target.startsWith(prefix) && target.length > prefix.length)
      return { ok: true, kind: 'mirror', mirror, upstreamPath: target.slice(prefix.length) };
  }
  const routes = [
    ...(table.pulp ? ['/pulp/content/ and the status endpoint'] : []),
    ...(table.mirrors.size ? [`${MIRRORS_ROUTE}<distro>/<repository>/`] : []),
  ];
  return { ok: false, status: 404, reason: `not a proxied path (only ${routes.join(', ') || 'nothing'})` };
}
