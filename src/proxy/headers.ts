import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

/** Headers a client may not pass upstream: its own credentials and forwarding claims. */
const CLIENT_ONLY = new Set([
  'authorization',
  'cookie',
  'host',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'forwarded',
]);

/**
 * Message framing belongs to each connection: the request sent upstream has no body, so a
 * client's claim of one must never reach Pulp, or Pulp would read the next request as it.
 */
const FRAMING = new Set([
  'content-length',
  'transfer-encoding',
  'expect',
  'te',
  'trailer',
  'upgrade',
  'connection',
  'keep-alive',
  'proxy-connection',
  'http2-settings',
]);

/** RFC 9110 §7.6.1: hop-by-hop headers, plus every header the Connection header names. */
function withoutHopByHop(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = headers.connection === undefined ? undefined : connectionNamed(headers.connection);
  const kept: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || named?.has(name)) continue;
    kept[name] = value;
  }
  return kept;
}

export interface UpstreamHeaderOptions {
  upstreamHost: string;
  /** `Basic …`, or undefined on routes that get no credential. */
  authorization: string | undefined;
  /** The proxy's own listening host:port: what the client reached, whatever its Host header says. */
  forwardedHost: string | undefined;
}

/** Header names and values in turn, as http.request takes them without a setHeader call each. */
export type HeaderList = string[];

/** Names a client never passes upstream, whatever its Connection header says. */
const NOT_FORWARDED = new Set([...HOP_BY_HOP, ...CLIENT_ONLY, ...FRAMING]);

/** The headers the proxy itself sets on every upstream request of one route, computed once. */
export function upstreamHeaderTemplate(options: UpstreamHeaderOptions): readonly string[] {
  const fixed = ['host', options.upstreamHost];
  if (options.authorization !== undefined) fixed.push('authorization', options.authorization);
  fixed.push('x-forwarded-proto', 'http');
  if (options.forwardedHost) fixed.push('x-forwarded-host', options.forwardedHost);
  return fixed;
}

/** The upstream request's headers: the template, the client's address, and what the client may pass on. */
export function upstreamHeaderList(
  client: IncomingHttpHeaders,
  clientAddress: string,
  template: readonly string[],
): HeaderList {
  const list = template.slice();
  list.push('x-forwarded-for', clientAddress);
  const named = client.connection === undefined ? undefined : connectionNamed(client.connection);
  for (const name in client) {
    const value = client[name];
    if (value === undefined || NOT_FORWARDED.has(name) || named?.has(name)) continue;
    if (typeof value === 'string') list.push(name, value);
    else for (const each of value) list.push(name, each);
  }
  return list;
}

/**
 * The headers of a request whose answer the cache may keep: the proxy's own, not the client's.
 * What is stored answers every later client, so nothing one client sent may choose it:
 * Accept-Encoding would store gzip bytes that others then get without Content-Encoding;
 * Accept, Accept-Language, conditionals or Range would store a variant or a part. The proxy
 * asks for the identity representation, which every client can take, so one entry per path
 * serves them all (package files are compressed already: little is lost). Only the user agent
 * passes on, for the upstream's logs; the proxy adds its own validators to revalidate.
 */
export function cacheFillHeaderList(
  client: IncomingHttpHeaders,
  clientAddress: string,
  template: readonly string[],
): HeaderList {
  const list = template.slice();
  list.push('x-forwarded-for', clientAddress, 'accept-encoding', 'identity');
  const agent = client['user-agent'];
  if (agent !== undefined) list.push('user-agent', agent);
  return list;
}

/** The header names a Connection header lists; none beyond the usual for its two common values. */
function connectionNamed(connection: string): Set<string> | undefined {
  // keep-alive is hop-by-hop already, and no header is called close.
  const common = connection.length <= 10 && /^(?:keep-alive|close)$/i.test(connection);
  if (common) return undefined;
  return new Set(
    connection
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * Response headers for the client: hop-by-hop and cookies dropped; a redirect to the
 * upstream itself is made relative so the client comes back through the proxy, while one
 * to another host passes as it is (the client follows it without any credential).
 */
export function clientResponseHeaders(upstream: IncomingHttpHeaders, upstreamOrigin: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = withoutHopByHop(upstream);
  if (headers['set-cookie'] !== undefined) delete headers['set-cookie'];
  const location = typeof upstream.location === 'string' ? upstream.location : undefined;
  if (location !== undefined) {
    try {
      const target = new URL(location, upstreamOrigin);
      if (target.origin === upstreamOrigin) headers.location = `${target.pathname}${target.search}`;
    } catch {
      delete headers.location;
    }
  }
  return headers;
}
