import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

/** One server the proxy forwards to (Pulp, or a plain mirror), with its own pool of connections. */
export class Upstream {
  readonly base: URL;
  readonly agent: http.Agent;

  constructor(url: string, options: { sockets: number; caFile?: string; what: string }) {
    this.base = new URL(url);
    if (this.base.username || this.base.password) {
      throw new Error(`the ${options.what} URL must not carry credentials; the proxy adds them itself, or none`);
    }
    const agentOptions = { keepAlive: true, maxSockets: options.sockets, keepAliveMsecs: 1000 };
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({ ...agentOptions, ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}) })
        : new http.Agent(agentOptions);
  }

  get origin(): string {
    return this.base.origin;
  }

  get host(): string {
    return this.base.host;
  }

  transport(): typeof http | typeof https {
    return this.base.protocol === 'https:' ? https : http;
  }

  /** The upstream URL of a path below the base URL's own path (which is kept as a prefix). */
  url(path: string): URL {
    const prefix = this.base.pathname.replace(/\/+$/, '');
    return new URL(`${prefix}/${path.replace(/^\/+/, '')}`, this.base.origin);
  }

  destroy(): void {
    this.agent.destroy();
  }
}
