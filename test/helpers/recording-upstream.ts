import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Every body byte the upstream read for this request, as it parsed the stream. */
  body: Buffer;
}

export interface RecordingUpstream {
  origin: string;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

/**
 * A plain Node HTTP/1.1 server that records each request exactly as its parser framed it,
 * and answers at once, before reading any body (as servers may): a body announced but not
 * sent is then taken from whatever bytes come next on that keep-alive connection.
 */
export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((request, response) => {
    const record: RecordedRequest = {
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
      body: Buffer.alloc(0),
    };
    requests.push(record);
    request.on('data', (chunk: Buffer) => (record.body = Buffer.concat([record.body, chunk])));
    const body = `seen ${record.method} ${record.url}\n`;
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/**
 * Writes raw bytes on one new connection and collects everything the server answers until
 * it closes the connection, or until `quietMs` pass without a byte once something arrived.
 */
export function exchange(
  origin: string,
  bytes: string,
  quietMs = 400,
  limitMs = 5000,
): Promise<{ answer: string; closedByServer: boolean }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes, 'latin1'));
    let answer = '';
    let quiet: NodeJS.Timeout | undefined;
    const finish = (closedByServer: boolean) => {
      clearTimeout(quiet);
      clearTimeout(limit);
      socket.destroy();
      resolve({ answer, closedByServer });
    };
    const limit = setTimeout(() => finish(false), limitMs);
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(false), quietMs);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? finish(true) : reject(error)));
  });
}

/** Status codes of every response in a raw answer, in order. */
export function statusesOf(answer: string): number[] {
  return [...answer.matchAll(/^HTTP\/1\.[01] (\d{3}) /gm)].map((match) => Number(match[1]));
}
