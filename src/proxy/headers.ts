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
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean),
  );
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    kept[name] = value;
  }
  return kept;
}

export interface UpstreamHeaderOptions {
  upstreamHost: string;
  /** `Basic …`, or undefined on routes that get no credential. */
  authorization: string | undefined;
  clientAddress: string;
  /** The proxy's own listening host:port: what the client reached, whatever its Host header says. */
  forwardedHost: string | undefined;
}

export function upstreamRequestHeaders(
  client: IncomingHttpHeaders,
  options: UpstreamHeaderOptions,
): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(withoutHopByHop(client))) {
    if (!CLIENT_ONLY.has(name) && !FRAMING.has(name)) headers[name] = value;
  }
  headers.host = options.upstreamHost;
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  headers['x-forwarded-for'] = options.clientAddress;
  headers['x-forwarded-proto'] = 'http';
  if (options.forwardedHost) headers['x-forwarded-host'] = options.forwardedHost;
  return headers;
}

/**
 * Response headers for the client: hop-by-hop and cookies dropped; a redirect to the
 * upstream itself is made relative so the client comes back through the proxy, while one
 * to another host passes as it is (the client follows it without any credential).
 */
export function clientResponseHeaders(upstream: IncomingHttpHeaders, upstreamOrigin: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(withoutHopByHop(upstream)))
    if (name !== 'set-cookie') headers[name] = value;
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
