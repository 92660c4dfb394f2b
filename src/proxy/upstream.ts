import http, { type ClientRequest, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { MiB, readInputBytesSync } from '../util/read-input.js';
import type { HeaderList } from './headers.js';

/** Targets made only of these characters come out of URL parsing unchanged, so they need none. */
const PLAIN_TARGET = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;

/**
 * One server the proxy forwards to (Pulp, or a plain mirror): its keep-alive connections and
 * what every request to it shares, worked out once (the agent, the request options, the path
 * prefix). A request then costs one options object, not a URL parsed and turned back into options.
 */
export class Upstream {
  readonly origin: string;
  /** host[:port] as the upstream expects it in Host. */
  readonly host: string;
  private readonly agent: http.Agent;
  private readonly send: typeof http.request;
  private readonly protocol: string;
  private readonly hostname: string;
  private readonly port: string;
  private readonly pathPrefix: string;

  constructor(url: string, options: { sockets: number; caFile?: string | undefined; what: string }) {
    const base = new URL(url);
    if (base.username || base.password) {
      throw new Error(`the ${options.what} URL must not carry credentials; the proxy adds them itself, or none`);
    }
    this.origin = base.origin;
    this.host = base.host;
    this.protocol = base.protocol;
    // URL keeps IPv6 hosts in brackets; the socket wants the bare address.
    this.hostname = base.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = base.port;
    this.pathPrefix = base.pathname.replace(/\/+$/, '');
    const agentOptions = { keepAlive: true, maxSockets: options.sockets, keepAliveMsecs: 1000 };
    const secure = base.protocol === 'https:';
    // A CA bundle is a few hundred KiB; the file is the operator's, but may be anything.
    const ca =
      secure && options.caFile
        ? readInputBytesSync(options.caFile, { what: 'CA file (pulp.ca_file)', maxBytes: 4 * MiB })
        : undefined;
    this.agent = secure ? new https.Agent({ ...agentOptions, ...(ca ? { ca } : {}) }) : new http.Agent(agentOptions);
    this.send = secure ? https.request : http.request;
  }

  /** A request for a path below the base URL's own path (kept as a prefix); the caller ends it. */
  request(method: string, path: string, headers: HeaderList | OutgoingHttpHeaders, timeout: number): ClientRequest {
    return this.send({
      protocol: this.protocol,
      hostname: this.hostname,
      port: this.port,
      path: this.path(path),
      method,
      headers,
      agent: this.agent,
      timeout,
    });
  }

  /** The full URL a path is fetched from. */
  href(path: string): string {
    return new URL(this.joined(path), this.origin).href;
  }

  destroy(): void {
    this.agent.destroy();
  }

  private joined(path: string): string {
    return `${this.pathPrefix}/${path.charCodeAt(0) === SLASH ? path.replace(/^\/+/, '') : path}`;
  }

  private path(path: string): string {
    const joined = this.joined(path);
    if (PLAIN_TARGET.test(joined)) return joined;
    const url = new URL(joined, this.origin);
    return `${url.pathname}${url.search}`;
  }
}

const SLASH = 0x2f;
