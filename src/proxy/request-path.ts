export const STATUS_PATH = '/pulp/api/v3/status/';

export type SafePathVerdict = { ok: true; decoded: string } | { ok: false; status: 400; reason: string };

/**
 * Accepts only origin-form targets whose path cannot step out of the folder it names,
 * however it is encoded (`..`, `%2e%2e`, `%2f`, `\`, NUL); the decoded path is what routes match.
 */
export function checkPathSafety(target: string): SafePathVerdict {
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
  return { ok: true, decoded };
}
