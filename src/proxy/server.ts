import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { finished } from 'node:stream/promises';
import { errorCodeOrMessage, errorMessage } from '../util/errors.js';
import type { ContentCache } from './content-cache.js';
import { clientResponseHeaders, upstreamHeaderList, upstreamHeaderTemplate } from './headers.js';
import { BUSY_RETRY_AFTER_SECONDS, PROXY_LIMITS, type ProxyLimits } from './limits.js';
import type { ListenAddress } from './listen.js';
import { checkRequestFraming } from './request-framing.js';
import { checkRequestTarget, STATUS_PATH } from './request-path.js';
import { UpstreamPool } from './upstream-pool.js';

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
  /** Overrides of the connection, header and queue limits (see PROXY_LIMITS). */
  limits?: Partial<ProxyLimits>;
  /** One-line operator warnings (a limit reached, the cache not writable); default: stderr. */
  onWarning?: (line: string) => void;
}

/** One access log line: never the credential, never a header. */
export function formatAccessLog(entry: AccessLogEntry): string {
  const { method, path, status, bytes, durationMs, cache } = entry;
  return `${new Date().toISOString()} ${method} ${path} ${status} ${bytes} ${durationMs}ms cache=${cache}`;
}

/**
 * The authenticating reverse proxy: builds talk plain HTTP to it on loopback; it adds
 * Pulp's Basic credential and forwards to the one configured upstream, streaming both ways.
 */
export class AuthProxy {
  private readonly server: http.Server;
  private readonly upstream: URL;
  private readonly pool: UpstreamPool;
  private readonly authorization: string | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly limits: ProxyLimits;
  private readonly warn: (line: string) => void;
  private readonly warnedAbout = new Set<string>();
  /** Connections on which a request was refused: what follows on them is never forwarded. */
  private readonly closing = new WeakSet<Socket>();
  /** Upstream requests on a socket or waiting in the agent's queue for one. */
  private upstreamInFlight = 0;
  /** host:port the proxy listens on, sent as X-Forwarded-Host instead of the client's claim. */
  private ownHost: string | undefined;
  /** The headers the proxy sets upstream, per route, fixed once it listens. */
  private contentHeaders: readonly string[] = [];
  private statusHeaders: readonly string[] = [];

  constructor(private readonly options: AuthProxyOptions) {
    this.upstream = new URL(options.upstream);
    if (this.upstream.username || this.upstream.password) {
      throw new Error('the upstream URL must not carry credentials; they come from the secrets file');
    }
    this.limits = { ...PROXY_LIMITS, ...options.limits };
    this.warn = options.onWarning ?? ((line) => process.stderr.write(`${line}\n`));
    this.pool = new UpstreamPool(this.upstream, { sockets: this.limits.upstreamSockets, caFile: options.caFile });
    const { credentials } = options;
    this.authorization = credentials
      ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
      : undefined;
    const { requestTimeoutMs } = this.limits;
    this.server = http.createServer(
      {
        // Requests carry no body, so the whole request is its head: it must arrive in time.
        requestTimeout: requestTimeoutMs,
        headersTimeout: requestTimeoutMs,
        connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeoutMs / 4))),
        maxHeaderSize: this.limits.maxHeaderBytes,
        insecureHTTPParser: false,
      },
      (request, response) => this.serve(request, response),
    );
    // One line more than allowed is kept, so that a cut-off header list is refused, not read short.
    this.server.maxHeadersCount = this.limits.maxHeaderLines + 1;
    this.server.maxConnections = this.limits.maxClientConnections;
    this.server.on('drop', () => {
      const open = this.limits.maxClientConnections;
      this.warnOnce('connections', `auth proxy: ${open} client connections open; refusing more`);
    });
    // Node answers a 100-continue itself unless asked; the framing check refuses it instead.
    this.server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
      this.serve(request, response);
    });
    this.server.on('connect', (_request: IncomingMessage, socket: Socket) => {
      // Node hands the socket over without its error listener: a client gone early must not crash the process.
      socket.on('error', () => socket.destroy());
      socket.end(
        'HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n' +
          'CONNECT is not proxied\n',
      );
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Starts listening; resolves to the proxy's origin, e.g. http://127.0.0.1:41234 */
  async start(): Promise<string> {
    await this.options.cache?.prepare();
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.listen.port, this.options.listen.host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.ownHost = `${host}:${address.port}`;
    const fixed = { upstreamHost: this.upstream.host, forwardedHost: this.ownHost };
    this.contentHeaders = upstreamHeaderTemplate({ ...fixed, authorization: this.authorization });
    // The status endpoint needs no credential, so it never gets one.
    this.statusHeaders = upstreamHeaderTemplate({ ...fixed, authorization: undefined });
    return `http://${this.ownHost}`;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
    this.pool.destroy();
  }

  /** Polls Pulp's status endpoint through the proxy's own upstream connection until it answers 200. */
  async waitForUpstream(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      const status = await this.probe(STATUS_PATH).catch((error: unknown) => {
        last = errorCodeOrMessage(error);
        return 0;
      });
      if (status === 200) return;
      if (status !== 0) last = `HTTP ${status}`;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    throw new Error(
      `upstream ${this.upstream.origin} did not answer ${STATUS_PATH} within ${Math.round(timeoutMs / 1000)}s (${last})`,
    );
  }

  private probe(path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const request = this.pool.request('GET', path, { host: this.upstream.host }, 5000);
      request.once('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      request.on('error', reject);
      request.end();
    });
  }

  private warnOnce(key: string, line: string): void {
    if (this.warnedAbout.has(key)) return;
    this.warnedAbout.add(key);
    this.warn(line);
  }

  /** Every request ends in an answer: a fault while handling one is a 500, never an unhandled rejection. */
  private serve(request: IncomingMessage, response: ServerResponse): void {
    const { onAccess } = this.options;
    const log: AccessRecord = onAccess ? new RequestLog(request, onAccess) : UNLOGGED;
    this.handle(request, response, log).catch((error: unknown) => {
      const message = errorMessage(error);
      this.warnOnce(`fault:${message}`, `auth proxy: fault while serving a request: ${message}`);
      if (response.headersSent) response.destroy();
      else {
        this.closing.add(request.socket);
        response.writeHead(500, { 'content-type': 'text/plain', connection: 'close' });
        response.end('the proxy failed to serve this request\n');
      }
      log.done(500);
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse, log: AccessRecord): Promise<void> {
    const method = request.method ?? 'GET';
    const target = request.url ?? '';
    // A refusal closes the connection: a client that sent what the proxy refuses is not read further.
    const refuse = (status: number, reason: string, extra: Record<string, string> = {}) => {
      this.closing.add(request.socket);
      if (!response.headersSent) {
        response.writeHead(status, { 'content-type': 'text/plain', connection: 'close', ...extra });
      }
      response.end(`${reason}\n`);
      log.done(status);
    };

    // Pipelined requests behind a refused one were framed by bytes the proxy no longer trusts.
    if (this.closing.has(request.socket)) return refuse(400, 'an earlier request on this connection was refused');
    const head = { method, headers: request.headers, headerLines: request.rawHeaders.length / 2 };
    const framing = checkRequestFraming(head, this.limits.maxHeaderLines);
    if (!framing.ok) return refuse(framing.status, framing.reason);
    const verdict = checkRequestTarget(target);
    if (!verdict.ok) return refuse(verdict.status, verdict.reason);

    const cache = this.options.cache;
    const cacheable =
      cache !== undefined && method === 'GET' && request.headers.range === undefined && cache.isCacheable(target);
    if (cacheable) {
      const hit = await cache.lookup(target);
      if (hit) {
        log.cache = 'hit';
        const body = hit.open();
        try {
          response.writeHead(200, hit.headers);
        } catch (error) {
          body.destroy();
          throw error;
        }
        log.bytes = hit.size;
        // pipe, not pipeline, which is far slower here; so the file is closed by hand when the client goes early.
        body.on('error', () => response.destroy());
        response.once('close', () => body.destroy());
        body.pipe(response);
        await finished(response).catch(() => undefined);
        return log.done(200);
      }
      log.cache = 'miss';
    }

    if (this.upstreamInFlight >= this.limits.upstreamSockets + this.limits.upstreamQueue) {
      const waiting = this.upstreamInFlight;
      this.warnOnce('queue', `auth proxy: ${waiting} requests wait for the upstream; answering 503 to more`);
      const retryAfter = String(BUSY_RETRY_AFTER_SECONDS);
      return refuse(503, 'the proxy is busy: too many requests wait for the upstream', { 'retry-after': retryAfter });
    }
    const template = verdict.route === 'content' ? this.contentHeaders : this.statusHeaders;
    const headers = upstreamHeaderList(request.headers, request.socket.remoteAddress ?? '', template);
    const timeout = this.options.upstreamTimeoutMs ?? 60_000;
    const upstreamRequest = this.pool.request(method, target, headers, timeout);
    this.upstreamInFlight++;
    upstreamRequest.once('close', () => this.upstreamInFlight--);
    const abort = () => upstreamRequest.destroy();
    response.once('close', abort);
    upstreamRequest.on('timeout', () => {
      upstreamRequest.destroy(Object.assign(new Error('upstream timed out'), { code: 'ETIMEDOUT' }));
    });
    upstreamRequest.on('error', (error: NodeJS.ErrnoException) => {
      if (response.headersSent) return response.destroy();
      const timedOut = error.code === 'ETIMEDOUT';
      if (timedOut) refuse(504, 'upstream timed out');
      else refuse(502, `upstream unreachable: ${error.code ?? 'connection failed'}`);
    });
    upstreamRequest.on('response', (upstreamResponse) => {
      const status = upstreamResponse.statusCode ?? 502;
      try {
        const kept = clientResponseHeaders(upstreamResponse.headers, this.pool.origin);
        response.writeHead(status, upstreamResponse.statusMessage, kept);
      } catch (error) {
        // An answer the client side cannot repeat (status 000, say) must not take the process down.
        upstreamRequest.destroy();
        const message = errorMessage(error);
        this.warnOnce(`answer:${message}`, `auth proxy: unusable answer from upstream: ${message}`);
        return refuse(502, 'the upstream answered with an invalid response');
      }
      const relayed =
        cacheable && status === 200
          ? this.relayBody(upstreamResponse, response, target)
          : relayOnly(upstreamResponse, response, log !== UNLOGGED);
      relayed
        .then(
          (relayed) => {
            log.bytes = relayed.bytes;
            if (relayed.stored) log.cache = 'stored';
          },
          (error: unknown) => {
            const message = errorMessage(error);
            this.warnOnce(`relay:${message}`, `auth proxy: fault while relaying a response: ${message}`);
            upstreamRequest.destroy();
            response.destroy();
          },
        )
        .finally(() => {
          response.off('close', abort);
          log.done(status);
        });
    });
    upstreamRequest.end();
  }

  /**
   * Pipes the body with backpressure, and into the cache when asked. A cached entry is
   * committed before the client sees the end of the body, so a next request finds it.
   * A cache that cannot take the body costs the caching only, never the response.
   */
  private async relayBody(
    source: IncomingMessage,
    destination: ServerResponse,
    cachePath: string | undefined,
  ): Promise<{ bytes: number; stored: boolean }> {
    const cache = this.options.cache;
    const writer = cachePath !== undefined && cache ? await cache.writer(cachePath, source.headers) : undefined;
    let bytes = 0;
    source.on('data', (chunk: Buffer) => (bytes += chunk.length));
    source.pipe(destination, { end: false });
    if (writer) source.pipe(writer.stream, { end: false });
    const complete = await finished(source).then(
      () => source.complete,
      () => false,
    );
    const stored = writer ? await writer.finish(complete, bytes) : false;
    if (complete) destination.end();
    else destination.destroy();
    await finished(destination).catch(() => undefined);
    return { bytes, stored };
  }
}

/**
 * The body of an answer that is not cached, piped with backpressure; a body cut short upstream
 * is cut short for the client too (destroyed, not ended). Bytes are counted only for the log.
 */
function relayOnly(
  source: IncomingMessage,
  destination: ServerResponse,
  counting: boolean,
): Promise<{ bytes: number; stored: boolean }> {
  return new Promise((resolve) => {
    let bytes = 0;
    if (counting) source.on('data', (chunk: Buffer) => (bytes += chunk.length));
    // The close below handles a body cut short; an error event must not go unhandled meanwhile.
    source.on('error', ignore);
    source.once('close', () => {
      if (!source.complete) destination.destroy();
    });
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      resolve({ bytes, stored: false });
    };
    destination.once('finish', settle);
    destination.once('close', settle);
    source.pipe(destination);
  });
}

/** What handling a request records for its access log line. */
interface AccessRecord {
  bytes: number;
  cache: AccessLogEntry['cache'];
  done(status: number): void;
}

/** The access log line of one request, written once whichever way the request ends. */
class RequestLog implements AccessRecord {
  private readonly started = Date.now();
  private written = false;
  bytes = 0;
  cache: AccessLogEntry['cache'] = '-';

  constructor(
    private readonly request: IncomingMessage,
    private readonly onAccess: ((entry: AccessLogEntry) => void) | undefined,
  ) {}

  done(status: number): void {
    if (this.written) return;
    this.written = true;
    const path = (this.request.url ?? '').split('?')[0] ?? '';
    const method = this.request.method ?? '';
    const durationMs = Date.now() - this.started;
    this.onAccess?.({ method, path, status, bytes: this.bytes, durationMs, cache: this.cache });
  }
}

function ignore(): void {}

/** Stands in for the log when nobody listens: what is recorded on it is never read. */
const UNLOGGED: AccessRecord = { bytes: 0, cache: '-', done: ignore };
