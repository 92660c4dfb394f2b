import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * How a path may be served from the cache:
 * - immutable: its content never changes at that path, so a stored copy is served without asking;
 * - revalidate: it changes (indexes), so a stored copy is served only once upstream says 304;
 * - none: never stored.
 */
export type CachePolicy = 'immutable' | 'revalidate' | 'none';

/** A repodata file named after its own checksum (`<hex>-primary.xml.gz`), as createrepo writes them. */
const HASH_NAMED = /^[0-9a-f]{32,128}-[^/]+$/;

/**
 * Pure: the policy of a path on a plain mirror (relative to the mirror's URL). apt's pool and
 * by-hash files and dnf's packages and checksum-named metadata never change; everything else
 * (InRelease, Release, Packages and Sources indexes, repomd.xml, translations) is revalidated.
 */
export function mirrorPathPolicy(upstreamPath: string): CachePolicy {
  if (upstreamPath.includes('?') || upstreamPath === '' || upstreamPath.endsWith('/')) return 'none';
  const segments = upstreamPath.split('/');
  const name = segments[segments.length - 1] ?? '';
  const folders = segments.slice(0, -1);
  if (folders.includes('pool') || folders.includes('by-hash')) return 'immutable';
  if (folders.includes('Packages') && name.endsWith('.rpm')) return 'immutable';
  if (folders[folders.length - 1] === 'repodata' && HASH_NAMED.test(name)) return 'immutable';
  return 'revalidate';
}

/** Pure: content under a pinned Pulp snapshot never changes; other Pulp paths (moving distributions) are not kept. */
export function pulpPathPolicy(path: string, pinnedPrefixes: readonly string[]): CachePolicy {
  if (path.includes('?')) return 'none';
  return pinnedPrefixes.some((prefix) => path.startsWith(prefix) && path.length > prefix.length) ? 'immutable' : 'none';
}

/** The conditional headers that ask upstream whether a stored copy is still current; undefined without validators. */
export function revalidationHeaders(stored: OutgoingHttpHeaders): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  if (typeof stored.etag === 'string') headers['if-none-match'] = stored.etag;
  if (typeof stored['last-modified'] === 'string') headers['if-modified-since'] = stored['last-modified'];
  return Object.keys(headers).length > 0 ? headers : undefined;
}

/**
 * Pure: whether an answer is the identity representation, the only one the cache stores (the
 * proxy asks for it; an upstream that encodes anyway is relayed as it answered, not kept).
 */
export function isIdentityRepresentation(headers: IncomingHttpHeaders): boolean {
  const encoding = headers['content-encoding'];
  return encoding === undefined || encoding.trim() === '' || encoding.trim().toLowerCase() === 'identity';
}

/**
 * True when the client already holds the stored copy (RFC 9110 §13.1): If-None-Match naming
 * its ETag, or, without If-None-Match, If-Modified-Since not older than its Last-Modified.
 */
export function clientHasCurrentCopy(client: IncomingHttpHeaders, stored: OutgoingHttpHeaders): boolean {
  const ifNoneMatch = client['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const etag = typeof stored.etag === 'string' ? stored.etag.replace(/^W\//, '') : undefined;
    if (etag === undefined) return false;
    return ifNoneMatch.split(',').some((tag) => {
      const candidate = tag.trim();
      return candidate === '*' || candidate.replace(/^W\//, '') === etag;
    });
  }
  const since = client['if-modified-since'];
  const modified = stored['last-modified'];
  if (since === undefined || typeof modified !== 'string') return false;
  const sinceMs = Date.parse(since);
  const modifiedMs = Date.parse(modified);
  return Number.isFinite(sinceMs) && Number.isFinite(modifiedMs) && modifiedMs <= sinceMs;
}
