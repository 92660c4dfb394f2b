import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StalledSource {
  /** Where the source is: a url source's location. */
  url: string;
  /** Resolves once a download has started (and stalled). */
  asked: Promise<void>;
  stop: () => Promise<void>;
}

/** A url source whose server sends the headers and 4 KiB of a 10 MiB body, then nothing. */
export async function startStalledSource(): Promise<StalledSource> {
  let requested: () => void = () => undefined;
  const asked = new Promise<void>((resolve) => (requested = resolve));
  const server = http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(10 * 1024 * 1024) });
    response.write(Buffer.alloc(4096));
    requested();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const stop = () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  return { url: `http://127.0.0.1:${port}/s.tgz`, asked, stop };
}
