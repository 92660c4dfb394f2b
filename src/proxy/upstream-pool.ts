import { readFileSync } from 'node:fs';
import http, { type ClientRequest, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { HeaderList } from './headers.js';

/** Targets made only of these characters come out of URL parsing unchanged, so they need none. */
const PLAIN_TARGET = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;

/**
 * The upstream's keep-alive connections and what every request to it shares, worked out
 * once: the agent, the request options and the path prefix. A request then costs one
 * options object, not a URL parsed and turned back into options.
 */
export class UpstreamPool {
  readonly origin: string;
  /** host[:port] as the upstream expects it in Host. */
  readonly host: string;
  private readonly agent: http.Agent;
  private readonly send: typeof http.request;
  private readonly protocol: string;
  private readonly hostname: string;
  private readonly port: string;
  private readonly pathPrefix: string;

  constructor(
    private readonly upstream: URL,
    options: { sockets: number; caFile?: string | undefined },
  ) {
    this.origin = upstream.origin;
    this.host = upstream.host;
    this.protocol = upstream.protocol;
    // URL keeps IPv6 hosts in brackets; the socket wants the bare address.
    this.hostname = upstream.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = upstream.port;
    this.pathPrefix = upstream.pathname.replace(/\/+$/, '');
    const agentOptions = { keepAlive: true, maxSockets: options.sockets, keepAliveMsecs: 1000 };
    const secure = upstream.protocol === 'https:';
    this.agent = secure
      ? new https.Agent({ ...agentOptions, ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}) })
      : new http.Agent(agentOptions);
    this.send = secure ? https.request : http.request;
  }

  /** A request for an origin-form target; the caller ends it. */
  request(method: string, target: string, headers: HeaderList | OutgoingHttpHeaders, timeout: number): ClientRequest {
    return this.send({
      protocol: this.protocol,
      hostname: this.hostname,
      port: this.port,
      path: this.path(target),
      method,
      headers,
      agent: this.agent,
      timeout,
    });
  }

  destroy(): void {
    this.agent.destroy();
  }

  private path(target: string): string {
    const joined = `${this.pathPrefix}${target}`;
    if (PLAIN_TARGET.test(joined)) return joined;
    const url = new URL(joined, this.upstream.origin);
    return `${url.pathname}${url.search}`;
  }
}
