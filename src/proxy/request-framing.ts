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
  const refuse = (status: 400 | 405 | 417 | 431, reason: string): FramingVerdict => ({ ok: false, status, reason });
  if (head.method !== 'GET' && head.method !== 'HEAD') {
    return refuse(405, `${head.method} is not proxied: package repositories are read with GET and HEAD`);
  }
  // The server keeps one line more than the limit, so a cut-off header list is seen as too long.
  if (head.headerLines > maxHeaderLines) return refuse(431, `more than ${maxHeaderLines} header lines`);
  const { headers } = head;
  if (headers['transfer-encoding'] !== undefined) return refuse(400, 'a request with Transfer-Encoding is not proxied');
  if (headers['content-length'] !== undefined && headers['content-length'] !== '0') {
    return refuse(400, 'a request with a body is not proxied');
  }
  if (headers.expect !== undefined) return refuse(417, 'a request with Expect is not proxied');
  if (headers.upgrade !== undefined) return refuse(400, 'protocol upgrades are not proxied');
  return { ok: true };
}
