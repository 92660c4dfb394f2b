import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { finished } from 'node:stream/promises';
import { WorkFailedError, errorCodeOrMessage, errorMessage } from '../util/errors.js';
import { clientHasCurrentCopy, revalidationHeaders } from './cache-policy.js';
import type { CacheHit, ContentCache } from './content-cache.js';
import { zeroCounters, type PackageCacheCounters } from './counters.js';
import { cacheFillHeaderList, clientResponseHeaders, upstreamHeaderList, upstreamHeaderTemplate } from './headers.js';
import { BUSY_RETRY_AFTER_SECONDS, PROXY_LIMITS, type ProxyLimits } from './limits.js';
import { listenFailure, type ListenAddress } from './listen.js';
import { checkRequestFraming } from './request-framing.js';
import { STATUS_PATH } from './request-path.js';
import type { MirrorRoute } from '../repos/mirror-routes.js';
import { resolveRoute, routeTable, type Route, type RouteTable } from './routes.js';
import { Upstream } from './upstream.js';

export interface AccessLogEntry {
  method: string;
  path: string;
  status: number;
  bytes: number;
  durationMs: number;
  cache: 'hit' | 'revalidated' | 'miss' | 'stored' | '-';
}

export interface AuthProxyOptions {
  /** Pulp's origin (a path prefix is kept); without it, only mirror routes are served. */
  upstream?: string;
  /** Plain mirrors, each served under its own route with no credential. */
  mirrors?: readonly MirrorRoute[];
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
 * The authenticating, caching reverse proxy: builds talk plain HTTP to it on loopback. Pulp's
 * content route gets the Basic credential; each plain mirror has a route of its own that
 * never does. A request goes only to the upstream of its route, streaming both ways.
 */
export class AuthProxy {
  private readonly server: http.Server;
  private readonly pulp: Upstream | undefined;
  /** Pulp's two routes: one pool of connections, two header templates (only content has the credential). */
  private readonly pulpContent: RouteTarget | undefined;
  private readonly pulpStatus: RouteTarget | undefined;
  /** Each mirror's route, by the object resolveRoute hands back for it. */
  private readonly mirrorTargets = new Map<MirrorRoute, RouteTarget>();
  private readonly routes: RouteTable;
  private readonly counted: PackageCacheCounters = zeroCounters();
  private readonly authorization: string | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly limits: ProxyLimits;
  private readonly warn: (line: string) => void;
  private readonly warnedAbout = new Set<string>();
  /** Connections on which a request was refused: what follows on them is never forwarded. */
  private readonly closing = new WeakSet<Socket>();
  /** Upstream requests on a socket or waiting in the agent's queue for one. */
  private upstreamInFlight = 0;

  constructor(private readonly options: AuthProxyOptions) {
    this.limits = { ...PROXY_LIMITS, ...options.limits };
    this.warn = options.onWarning ?? ((line) => process.stderr.write(`${line}\n`));
    const sockets = this.limits.upstreamSockets;
    this.pulp =
      options.upstream === undefined
        ? undefined
        : new Upstream(options.upstream, {
            sockets,
            what: 'upstream',
            ...(options.caFile ? { caFile: options.caFile } : {}),
          });
    for (const mirror of options.mirrors ?? []) {
      const what = `mirror ${mirror.distro}/${mirror.name}`;
      const upstream = new Upstream(mirror.url, { sockets, what });
      this.mirrorTargets.set(mirror, { upstream, credentialed: false, headers: [] });
    }
    if (this.pulp !== undefined) {
      this.pulpContent = { upstream: this.pulp, credentialed: true, headers: [] };
      this.pulpStatus = { upstream: this.pulp, credentialed: false, headers: [] };
    }
    this.routes = routeTable(this.pulp !== undefined, options.mirrors ?? []);
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
    const { listen } = this.options;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) => reject(listenFailure(error, listen)));
      this.server.listen(listen.port, listen.host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    // What the client reached, sent as X-Forwarded-Host instead of the client's claim.
    const forwardedHost = `${host}:${address.port}`;
    for (const target of [this.pulpContent, this.pulpStatus, ...this.mirrorTargets.values()]) {
      if (target === undefined) continue;
      const authorization = target.credentialed ? this.authorization : undefined;
      target.headers = upstreamHeaderTemplate({ upstreamHost: target.upstream.host, forwardedHost, authorization });
    }
    return `http://${forwardedHost}`;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
    this.pulp?.destroy();
    for (const target of this.mirrorTargets.values()) target.upstream.destroy();
  }

  /** What was served so far, and from where. */
  counters(): PackageCacheCounters {
    return { ...this.counted };
  }

  /**
   * Polls Pulp's status endpoint through the proxy's own upstream connection until it answers 200.
   * A Pulp that never does is a service down (WorkFailedError); the signal ends the wait early.
   */
  async waitForUpstream(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const pulp = this.pulp;
    if (pulp === undefined) return;
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline && !signal?.aborted) {
      const status = await this.probe(pulp, STATUS_PATH, Math.min(5000, deadline - Date.now())).catch(
        (error: unknown) => {
          last = errorCodeOrMessage(error);
          return 0;
        },
      );
      if (status === 200) return;
      if (status !== 0) last = `HTTP ${status}`;
      await pause(Math.min(1000, Math.max(0, deadline - Date.now())), signal);
    }
    if (signal?.aborted) return;
    throw new WorkFailedError(
      `upstream ${pulp.origin} did not answer ${STATUS_PATH} within ${Math.round(timeoutMs / 1000)}s (${last})`,
    );
  }

  private probe(pulp: Upstream, path: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const request = pulp.request('GET', path, { host: pulp.host }, Math.max(1, timeoutMs));
      request.once('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      request.on('error', reject);
      request.end();
    });
  }

  private targetOf(route: Route): RouteTarget {
    const target = this.targetOrNone(route);
    if (target === undefined) throw new Error(`internal: no upstream for the ${route.kind} route`);
    return target;
  }

  private targetOrNone(route: Route): RouteTarget | undefined {
    switch (route.kind) {
      case 'pulp-content':
        return this.pulpContent;
      case 'pulp-status':
        return this.pulpStatus;
      case 'mirror':
        return this.mirrorTargets.get(route.mirror);
      default: {
        const never: never = route;
        return never;
      }
    }
  }

  private warnOnce(key: string, line: string): void {
    if (this.warnedAbout.has(key)) return;
    this.warnedAbout.add(key);
    this.warn(line);
  }

  /** Every request ends in an answer: a fault while handling one is a 500, never an unhandled rejection. */
  private serve(request: IncomingMessage, response: ServerResponse): void {
    this.counted.requests++;
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
    const route = resolveRoute(target, this.routes);
    if (!route.ok) return refuse(route.status, route.reason);
    const { upstream, headers: template } = this.targetOf(route);

    const cache = this.options.cache;
    const policy =
      cache !== undefined && method === 'GET' && request.headers.range === undefined ? cache.policyFor(route) : 'none';
    const cacheKey = cache !== undefined && policy !== 'none' ? cache.keyFor(route, upstream) : undefined;
    let stored: CacheHit | undefined;
    if (cache !== undefined && cacheKey !== undefined) {
      stored = await cache.lookup(cacheKey);
      if (stored && policy === 'immutable') return this.serveStored(request, response, stored, log, 'hit');
      // A stored index with nothing to revalidate it by is fetched again whole.
      if (stored && revalidationHeaders(stored.headers) === undefined) {
        stored.discard();
        stored = undefined;
      }
      log.cache = 'miss';
    }
    const release = () => {
      stored?.discard();
      stored = undefined;
    };

    if (this.upstreamInFlight >= this.limits.upstreamSockets + this.limits.upstreamQueue) {
      release();
      const waiting = this.upstreamInFlight;
      this.warnOnce('queue', `auth proxy: ${waiting} requests wait for the upstream; answering 503 to more`);
      const retryAfter = String(BUSY_RETRY_AFTER_SECONDS);
      return refuse(503, 'the proxy is busy: too many requests wait for the upstream', { 'retry-after': retryAfter });
    }
    const clientAddress = request.socket.remoteAddress ?? '';
    // Where it caches, the proxy asks its own question, with its own copy's validators.
    const headers =
      cacheKey === undefined
        ? upstreamHeaderList(request.headers, clientAddress, template)
        : cacheFillHeaderList(request.headers, clientAddress, template);
    const validators = stored ? revalidationHeaders(stored.headers) : undefined;
    for (const name in validators) headers.push(name, validators[name] ?? '');
    const timeout = this.options.upstreamTimeoutMs ?? 60_000;
    const upstreamRequest = upstream.request(method, route.upstreamPath, headers, timeout);
    this.upstreamInFlight++;
    upstreamRequest.once('close', () => this.upstreamInFlight--);
    const abort = () => {
      release();
      upstreamRequest.destroy();
    };
    response.once('close', abort);
    upstreamRequest.on('timeout', () => {
      upstreamRequest.destroy(Object.assign(new Error('upstream timed out'), { code: 'ETIMEDOUT' }));
    });
    upstreamRequest.on('error', (error: NodeJS.ErrnoException) => {
      release();
      if (response.headersSent) return response.destroy();
      const timedOut = error.code === 'ETIMEDOUT';
      if (timedOut) refuse(504, 'upstream timed out');
      else refuse(502, `upstream unreachable: ${error.code ?? 'connection failed'}`);
    });
    upstreamRequest.on('response', (upstreamResponse) => {
      const status = upstreamResponse.statusCode ?? 502;
      const current = stored;
      if (current !== undefined && status === 304) {
        // Still current: the stored copy is the answer.
        stored = undefined;
        upstreamResponse.resume();
        response.off('close', abort);
        this.serveStored(request, response, current, log, 'revalidated').catch(() => response.destroy());
        return;
      }
      release();
      this.counted.misses++;
      try {
        const kept = clientResponseHeaders(upstreamResponse.headers, upstream.origin);
        response.writeHead(status, upstreamResponse.statusMessage, kept);
      } catch (error) {
        // An answer the client side cannot repeat (status 000, say) must not take the process down.
        upstreamRequest.destroy();
        const message = errorMessage(error);
        this.warnOnce(`answer:${message}`, `auth proxy: unusable answer from upstream: ${message}`);
        return refuse(502, 'the upstream answered with an invalid response');
      }
      const relayed =
        cacheKey !== undefined && status === 200
          ? this.relayBody(upstreamResponse, response, cacheKey)
          : relayOnly(upstreamResponse, response);
      relayed
        .then(
          (relayed) => {
            log.bytes = relayed.bytes;
            this.counted.bytes_from_upstream += relayed.bytes;
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

  /** Answers from a stored copy: 304 when the client already holds it, else the stored body. */
  private async serveStored(
    request: IncomingMessage,
    response: ServerResponse,
    stored: CacheHit,
    log: AccessRecord,
    how: 'hit' | 'revalidated',
  ): Promise<void> {
    log.cache = how;
    if (how === 'hit') this.counted.hits++;
    else this.counted.revalidated++;
    if (clientHasCurrentCopy(request.headers, stored.headers)) {
      stored.discard();
      const { etag, 'last-modified': lastModified } = stored.headers;
      response.writeHead(304, {
        ...(etag ? { etag } : {}),
        ...(lastModified ? { 'last-modified': lastModified } : {}),
      });
      response.end();
      return log.done(304);
    }
    const body = stored.open();
    try {
      response.writeHead(200, stored.headers);
    } catch (error) {
      body.destroy();
      throw error;
    }
    log.bytes = stored.size;
    this.counted.bytes_from_cache += stored.size;
    // pipe, not pipeline, which is far slower here; so the file is closed by hand when the client goes early.
    body.on('error', () => response.destroy());
    response.once('close', () => body.destroy());
    body.pipe(response);
    await finished(response).catch(() => undefined);
    return log.done(200);
  }

  /**
   * Pipes the body with backpressure, and into the cache when asked. A cached entry is
   * committed before the client sees the end of the body, so a next request finds it.
   * A cache that cannot take the body costs the caching only, never the response.
   */
  private async relayBody(
    source: IncomingMessage,
    destination: ServerResponse,
    cachePath: string,
  ): Promise<{ bytes: number; stored: boolean }> {
    const cache = this.options.cache;
    const writer = cache ? await cache.writer(cachePath, source.headers) : undefined;
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

/** One route's upstream and the headers the proxy sets on each of its requests (set once it listens). */
interface RouteTarget {
  upstream: Upstream;
  /** Whether the route carries Pulp's credential: Pulp's content route only, never its status or a mirror. */
  credentialed: boolean;
  headers: readonly string[];
}

/**
 * The body of an answer that is not cached, piped with backpressure; a body cut short upstream
 * is cut short for the client too (destroyed, not ended). Bytes are counted for the counters and the log.
 */
function relayOnly(source: IncomingMessage, destination: ServerResponse): Promise<{ bytes: number; stored: boolean }> {
  return new Promise((resolve) => {
    let bytes = 0;
    source.on('data', (chunk: Buffer) => (bytes += chunk.length));
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
    private readonly onAccess: (entry: AccessLogEntry) => void,
  ) {}

  done(status: number): void {
    if (this.written) return;
    this.written = true;
    const path = (this.request.url ?? '').split('?')[0] ?? '';
    const method = this.request.method ?? '';
    const durationMs = Date.now() - this.started;
    this.onAccess({ method, path, status, bytes: this.bytes, durationMs, cache: this.cache });
  }
}

function ignore(): void {}

/** Waits `ms`, or less when the signal aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Stands in for the log when nobody listens: what is recorded on it is never read. */
const UNLOGGED: AccessRecord = { bytes: 0, cache: '-', done: ignore };
