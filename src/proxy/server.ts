import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { finished } from 'node:stream/promises';
import type { ContentCache } from './content-cache.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { ListenAddress } from './listen.js';
import { checkRequestTarget, STATUS_PATH } from './request-path.js';

export interface AccessLogEntry {
  method: string;
  path: string;
  status: number;
  bytes: number;
  durationMs: number;
  cache: 'hit' | 'miss' | 'stored' | '-';
}

export interface AuthProxyOptions {
  /** The one upstream: Pulp's origin (a path prefix is kept). */
  upstream: string;
  credentials?: { username: string; password: string };
  listen: ListenAddress;
  /** Extra CA certificates (PEM) to verify an HTTPS upstream with. */
  caFile?: string;
  cache?: ContentCache;
  onAccess?: (entry: AccessLogEntry) => void;
  /** Idle time allowed on the upstream connection before the request fails with 504. */
  upstreamTimeoutMs?: number;
}

/** One access log line: never the credential, never a header. */
export function formatAccessLog(entry: AccessLogEntry): string {
  return `${new Date().toISOString()} ${entry.method} ${entry.path} ${entry.status} ${entry.bytes} ${entry.durationMs}ms cache=${entry.cache}`;
}

/**
 * The authenticating reverse proxy: builds talk plain HTTP to it on loopback; it adds
 * Pulp's Basic credential and forwards to the one configured upstream, streaming both ways.
 */
export class AuthProxy {
  private readonly server: http.Server;
  private readonly upstream: URL;
  private readonly agent: http.Agent;
  private readonly authorization: string | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: AuthProxyOptions) {
    this.upstream = new URL(options.upstream);
    if (this.upstream.username || this.upstream.password) throw new Error('the upstream URL must not carry credentials; they come from the secrets file');
    const agentOptions = { keepAlive: true, maxSockets: 64, keepAliveMsecs: 1000 };
    this.agent = this.upstream.protocol === 'https:' ? new https.Agent({ ...agentOptions, ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}) }) : new http.Agent(agentOptions);
    this.authorization = options.credentials ? `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString('base64')}` : undefined;
    this.server = http.createServer({ requestTimeout: 0, headersTimeout: 30_000 }, (request, response) => void this.handle(request, response));
    this.server.on('connect', (_request: IncomingMessage, socket: Socket) => {
      socket.end('HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nCONNECT is not proxied\n');
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Starts listening; resolves to the proxy's origin, e.g. http://127.0.0.1:41234 */
  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.listen.port, this.options.listen.host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
    this.agent.destroy();
  }

  /** Polls Pulp's status endpoint through the proxy's own upstream connection until it answers 200. */
  async waitForUpstream(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      const status = await this.probe(STATUS_PATH).catch((error: Error) => ((last = (error as NodeJS.ErrnoException).code ?? error.message), 0));
      if (status === 200) return;
      if (status !== 0) last = `HTTP ${status}`;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    throw new Error(`upstream ${this.upstream.origin} did not answer ${STATUS_PATH} within ${Math.round(timeoutMs / 1000)}s (${last})`);
  }

  private probe(path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const request = this.transport().request(this.upstreamUrl(path), { method: 'GET', agent: this.agent, headers: { host: this.upstream.host }, timeout: 5000 }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      request.on('error', reject);
      request.end();
    });
  }

  private transport(): typeof http | typeof https {
    return this.upstream.protocol === 'https:' ? https : http;
  }

  private upstreamUrl(path: string): URL {
    const prefix = this.upstream.pathname.replace(/\/+$/, '');
    return new URL(`${prefix}${path}`, this.upstream.origin);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = Date.now();
    const method = request.method ?? 'GET';
    const target = request.url ?? '';
    let bytes = 0;
    let cacheState: AccessLogEntry['cache'] = '-';
    const log = (status: number) => this.options.onAccess?.({ method, path: target.split('?')[0] ?? '', status, bytes, durationMs: Date.now() - started, cache: cacheState });
    const refuse = (status: number, reason: string) => {
      request.resume();
      if (!response.headersSent) response.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
      response.end(`${reason}\n`);
      log(status);
    };

    if (method !== 'GET' && method !== 'HEAD') return refuse(405, `${method} is not proxied: package repositories are read with GET and HEAD`);
    const verdict = checkRequestTarget(target);
    if (!verdict.ok) return refuse(verdict.status, verdict.reason);

    const cache = this.options.cache;
    const cacheable = cache !== undefined && method === 'GET' && request.headers.range === undefined && cache.isCacheable(target);
    if (cacheable) {
      const hit = await cache.lookup(target);
      if (hit) {
        cacheState = 'hit';
        response.writeHead(200, hit.headers);
        bytes = hit.size;
        hit.open().pipe(response);
        await finished(response).catch(() => undefined);
        return log(200);
      }
      cacheState = 'miss';
    }

    const headers = upstreamRequestHeaders(request.headers, {
      upstreamHost: this.upstream.host,
      // The status endpoint needs no credential, so it never gets one.
      authorization: verdict.route === 'content' ? this.authorization : undefined,
      clientAddress: request.socket.remoteAddress ?? '',
      requestHost: request.headers.host,
    });
    const upstreamRequest = this.transport().request(this.upstreamUrl(target), { method, headers, agent: this.agent, timeout: this.options.upstreamTimeoutMs ?? 60_000 });
    const abort = () => upstreamRequest.destroy();
    response.once('close', abort);
    upstreamRequest.on('timeout', () => upstreamRequest.destroy(Object.assign(new Error('upstream timed out'), { code: 'ETIMEDOUT' })));
    upstreamRequest.on('error', (error: NodeJS.ErrnoException) => {
      if (response.headersSent) return response.destroy();
      const timedOut = error.code === 'ETIMEDOUT';
      refuse(timedOut ? 504 : 502, timedOut ? 'upstream timed out' : `upstream unreachable: ${error.code ?? 'connection failed'}`);
    });
    upstreamRequest.on('response', (upstreamResponse) => {
      const status = upstreamResponse.statusCode ?? 502;
      response.writeHead(status, upstreamResponse.statusMessage, clientResponseHeaders(upstreamResponse.headers, this.upstream.origin));
      void this.relayBody(upstreamResponse, response, cacheable && status === 200 ? target : undefined).then((relayed) => {
        bytes = relayed.bytes;
        if (relayed.stored) cacheState = 'stored';
        response.off('close', abort);
        log(status);
      });
    });
    upstreamRequest.end();
  }

  /**
   * Pipes the body with backpressure, and into the cache when asked. A cached entry is
   * committed before the client sees the end of the body, so a next request finds it.
   */
  private async relayBody(source: IncomingMessage, destination: ServerResponse, cachePath: string | undefined): Promise<{ bytes: number; stored: boolean }> {
    const writer = cachePath !== undefined && this.options.cache ? await this.options.cache.writer(cachePath, source.headers) : undefined;
    let bytes = 0;
    source.on('data', (chunk: Buffer) => (bytes += chunk.length));
    source.pipe(destination, { end: false });
    if (writer) source.pipe(writer.stream, { end: false });
    const complete = await finished(source).then(
      () => source.complete,
      () => false,
    );
    let stored = false;
    if (writer) {
      writer.stream.end();
      await finished(writer.stream).catch(() => undefined);
      if (complete) {
        await writer.commit(bytes);
        stored = true;
      } else {
        await writer.abandon();
      }
    }
    if (complete) destination.end();
    else destination.destroy();
    await finished(destination).catch(() => undefined);
    return { bytes, stored };
  }
}
