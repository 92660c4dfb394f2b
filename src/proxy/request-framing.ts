import type { IncomingHttpHeaders } from 'node:http';

export type FramingVerdict = { ok: true } | { ok: false; status: 400 | 405 | 417 | 431; reason: string };

export interface RequestHead {
  method: string;
  headers: IncomingHttpHeaders;
  /** Header lines as received (rawHeaders.length / 2), duplicates included. */
  headerLines: number;
}

/**
 * Decides whether a request may be forwarded at all, from its head alone. The proxy sends
 * upstream only bodiless GET and HEAD: a request that announces a body in any way is refused
 * and its connection closed, since the body would otherwise be left on one side of the
 * proxy and read as the start of the next request on the other (request smuggling).
 */
export function checkRequestFraming(head: RequestHead, maxHeaderLines: number): FramingVerdict {
  if (head.method !== 'GET' && head.method !== 'HEAD') {
    return { ok: false, status: 405, reason: `${head.method} is not proxied: package repositories are read with GET and HEAD` };
  }
  // The server keeps one line more than the limit, so a cut-off list is seen as too long.
  if (head.headerLines > maxHeaderLines) return { ok: false, status: 431, reason: `more than ${maxHeaderLines} header lines` };
  if (head.headers['transfer-encoding'] !== undefined) return { ok: false, status: 400, reason: 'a request with Transfer-Encoding is not proxied' };
  const length = head.headers['content-length'];
  if (length !== undefined && length !== '0') return { ok: false, status: 400, reason: 'a request with a body is not proxied' };
  if (head.headers.expect !== undefined) return { ok: false, status: 417, reason: 'a request with Expect is not proxied' };
  if (head.headers.upgrade !== undefined) return { ok: false, status: 400, reason: 'protocol upgrades are not proxied' };
  return { ok: true };
}
