import { createReadStream, existsSync, statSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';

export interface FakePulpOptions {
  username: string;
  password: string;
  /** `<base_path><version>/` → a local folder served as that distribution. */
  localContent?: Record<string, string>;
  /** `<base_path><version>/` → an upstream mirror URL relayed as that distribution. */
  relayContent?: Record<string, string>;
  /** Extra routes, for redirects and other wire cases. */
  routes?: Record<string, (request: IncomingMessage, response: ServerResponse) => void>;
  tls?: { key: string; cert: string };
  /** Answer every authorised content request with this status: a Pulp whose content app is failing. */
  contentStatus?: number;
}

export interface FakePulp {
  origin: string;
  /** Every request as it arrived: method, path, headers. */
  requests: Array<{ method: string; path: string; headers: IncomingHttpHeaders }>;
  stop(): Promise<void>;
}

const CONTENT = '/pulp/content/';

/**
 * A stand-in for Pulp's content app that behaves like it on the wire: a content guard that
 * answers 403 without a WWW-Authenticate challenge, /pulp/content/<base_path>... serving a
 * real Debian repository layout, and an unauthenticated /pulp/api/v3/status/.
 */
export async function startFakePulp(options: FakePulpOptions): Promise<FakePulp> {
  const requests: FakePulp['requests'] = [];
  const expected = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    requests.push({ method: request.method ?? '', path, headers: request.headers });
    const route = options.routes?.[path];
    if (route) return route(request, response);
    if (path === '/pulp/api/v3/status/') {
      response.writeHead(200, { 'content-type': 'application/json' });
      return response.end(
        JSON.stringify({
          versions: [
            { component: 'core', version: '3.49.0' },
            { component: 'deb', version: '3.2.0' },
          ],
          online_workers: [{ name: 'w1' }],
          online_content_apps: [{ name: 'c1' }],
          database_connection: { connected: true },
        }),
      );
    }
    if (!path.startsWith(CONTENT)) return plain(response, 404, 'Not Found');
    if (request.headers.authorization !== expected)
      return plain(response, 403, '{"detail":"Authentication credentials were not provided."}');
    if (options.contentStatus !== undefined) {
      return plain(response, options.contentStatus, '{"detail":"Internal Server Error"}');
    }
    const relative = path.slice(CONTENT.length);
    for (const [prefix, dir] of Object.entries(options.localContent ?? {})) {
      if (relative.startsWith(prefix)) return serveFile(request, response, dir, relative.slice(prefix.length));
    }
    for (const [prefix, mirror] of Object.entries(options.relayContent ?? {})) {
      if (relative.startsWith(prefix))
        return relay(request, response, `${mirror.replace(/\/$/, '')}/${relative.slice(prefix.length)}`);
    }
    plain(response, 404, '{"detail":"Not found."}');
  };
  const server = options.tls
    ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler)
    : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

function plain(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': body.startsWith('{') ? 'application/json' : 'text/plain' });
  response.end(body);
}

/**
 * Files with HEAD, Range and If-None-Match, as Pulp's content app answers them. The path is
 * percent-decoded first, as Pulp does: apt asks for `libssl3_3.0.17-1%7edeb12u2_amd64.deb`.
 */
function serveFile(request: IncomingMessage, response: ServerResponse, dir: string, encoded: string): void {
  let relative: string;
  try {
    relative = decodeURIComponent(encoded);
  } catch {
    return plain(response, 404, '{"detail":"Not found."}');
  }
  const file = normalize(join(dir, relative));
  if (!file.startsWith(join(dir, sep)) || !existsSync(file) || !statSync(file).isFile())
    return plain(response, 404, '{"detail":"Not found."}');
  const size = statSync(file).size;
  const etag = `"${size}-${Math.floor(statSync(file).mtimeMs)}"`;
  if (request.headers['if-none-match'] === etag) {
    response.writeHead(304, { etag });
    response.end();
    return;
  }
  const range = /^bytes=(\d+)-(\d*)$/.exec(String(request.headers.range ?? ''));
  if (range) {
    const start = Number(range[1]);
    const end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    response.writeHead(206, {
      'content-length': end - start + 1,
      'content-range': `bytes ${start}-${end}/${size}`,
      'accept-ranges': 'bytes',
      etag,
    });
    if (request.method === 'HEAD') return void response.end();
    return void createReadStream(file, { start, end }).pipe(response);
  }
  response.writeHead(200, {
    'content-length': size,
    'content-type': 'application/octet-stream',
    'accept-ranges': 'bytes',
    etag,
  });
  if (request.method === 'HEAD') return void response.end();
  createReadStream(file).pipe(response);
}

function relay(request: IncomingMessage, response: ServerResponse, url: string): void {
  const headers: Record<string, string> = {};
  for (const name of ['range', 'if-modified-since', 'if-none-match']) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const upstream = http.request(url, { method: request.method, headers }, (answer) => {
    const kept: Record<string, string | string[]> = {};
    for (const name of ['content-type', 'content-length', 'last-modified', 'etag', 'content-range', 'accept-ranges']) {
      const value = answer.headers[name];
      if (value !== undefined) kept[name] = value;
    }
    response.writeHead(answer.statusCode ?? 502, kept);
    answer.pipe(response);
  });
  upstream.on('error', () => plain(response, 502, 'relay failed'));
  upstream.end();
}
