export type PathVerdict =
  { ok: true; path: string; route: 'content' | 'status' } | { ok: false; status: 400 | 404; reason: string };

export const STATUS_PATH = '/pulp/api/v3/status/';
const CONTENT_PREFIX = '/pulp/content/';

/**
 * Accepts only origin-form targets under Pulp's content and status paths, and refuses any
 * path that could step out of them however it is encoded (`..`, `%2e%2e`, `%2f`, `\`, NUL).
 */
export function checkRequestTarget(target: string): PathVerdict {
  if (!target.startsWith('/') || target.startsWith('//'))
    return { ok: false, status: 400, reason: 'only origin-form request targets are proxied' };
  const queryAt = target.indexOf('?');
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  let decoded = rawPath;
  const encoded = rawPath.includes('%');
  // Decode repeatedly: a double-encoded "..", such as %252e%252e, must not slip through.
  for (let round = 0; encoded && round < 3; round++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return { ok: false, status: 400, reason: 'malformed percent-encoding in path' };
    }
    if (next === decoded) break;
    decoded = next;
  }
  if (/[\\\0\r\n]/.test(decoded)) return { ok: false, status: 400, reason: 'forbidden character in path' };
  // Only a path with "/." can have a dot segment: most are spared the split.
  if (decoded.includes('/.') && decoded.split('/').some((segment) => segment === '..' || segment === '.'))
    return { ok: false, status: 400, reason: 'path escapes its folder' };
  if (encoded && /%2f/i.test(rawPath)) return { ok: false, status: 400, reason: 'encoded slash in path' };
  if (decoded.startsWith(CONTENT_PREFIX) && decoded.length > CONTENT_PREFIX.length)
    return { ok: true, path: target, route: 'content' };
  if (decoded === STATUS_PATH) return { ok: true, path: target, route: 'status' };
  return { ok: false, status: 404, reason: 'not a proxied path (only /pulp/content/ and the status endpoint)' };
}
