import { createServer, isIP } from 'node:net';
import { UsageError } from '../util/errors.js';

export interface ListenAddress {
  host: string;
  /** 0: a free port, printed once listening. */
  port: number;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * `HOST:PORT`, `HOST:` or `[v6]:PORT`. The proxy adds a credential to whatever reaches it,
 * so anything but loopback needs the operator to say so (`--listen-unsafe`).
 */
export function parseListenAddress(value: string, allowUnsafe: boolean): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d*)$/.exec(value);
  if (!match)
    throw new UsageError(
      `invalid --listen ${JSON.stringify(value)}: expected HOST:PORT (e.g. 127.0.0.1:8080, or 127.0.0.1: for a free port)`,
    );
  const host = match[1] ?? match[2] ?? '';
  const port = match[3] === '' || match[3] === undefined ? 0 : Number(match[3]);
  if (host === '' || (host !== 'localhost' && isIP(host) === 0))
    throw new UsageError(`invalid --listen host ${JSON.stringify(host)}: expected an IP address or localhost`);
  if (!Number.isInteger(port) || port > 65535)
    throw new UsageError(`invalid --listen port ${JSON.stringify(match[3])}: expected 0-65535`);
  if (!isLoopbackHost(host) && !allowUnsafe) {
    throw new UsageError(
      `refusing to listen on ${host}: the proxy adds the Pulp credential to every request it forwards; use a loopback address, or --listen-unsafe if the network is trusted`,
    );
  }
  return { host, port };
}

/**
 * The address with a port: a free one in place of 0. Worker processes must all ask for the
 * same port, or one started after all the others died would listen somewhere else.
 */
export function withFixedPort(address: ListenAddress): Promise<ListenAddress> {
  if (address.port !== 0) return Promise.resolve(address);
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => reject(listenFailure(error, address)));
    probe.listen(0, address.host, () => {
      const bound = probe.address();
      const port = typeof bound === 'object' && bound ? bound.port : 0;
      probe.close(() => resolve({ ...address, port }));
    });
  });
}

/** Why an address cannot be listened on, by the system error's code: each is the operator's choice of address. */
const LISTEN_REFUSALS: ReadonlyMap<string, string> = new Map([
  ['EADDRINUSE', 'the address is in use'],
  ['EADDRNOTAVAIL', 'no interface of this host has that address'],
  ['EACCES', 'the port is privileged (below 1024) and this process may not bind it'],
]);

/**
 * A failed listen as one line: an address that is taken or not this host's is bad input
 * (UsageError); anything else stays as it was.
 */
export function listenFailure(error: NodeJS.ErrnoException, address: ListenAddress): Error {
  const { code } = error;
  const why = code === undefined ? undefined : LISTEN_REFUSALS.get(code);
  if (why === undefined) return error;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  // A free port asked for (0) is no port to name.
  const shown = address.port === 0 ? host : `${host}:${address.port}`;
  return new UsageError(`cannot listen on ${shown}: ${why} (${code}); choose another --listen`);
}
