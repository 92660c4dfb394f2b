import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the proxy does to the traffic; changeable while it runs (e.g. faults off for a re-run). */
export interface Faults {
  /** Answer 503 to every Nth request that starts a blob upload (POST …/blobs/uploads/); 0 = never. */
  refuseEveryNthUpload: number;
  /** Destroy every Nth connection that carries a blob body, after part of that body has passed; 0 = never. */
  cutEveryNthBlobConnection: number;
  /** Destroy the connection of these requests that carry a blob body (PATCH or PUT; the first is 1), whatever connection each came on. */
  cutBlobRequests: readonly number[];
  /**
   * How much of a doomed body reaches the registry before the cut: half (docker-registry then drops the
   * upload, whose size no longer matches its session) or none (the session stays good to resume).
   */
  passBeforeCut: 'half' | 'none';
  /** Take the first bytes of every blob body, then stop reading and never answer: a push that hangs. */
  holdBlobBodies: boolean;
  /** Pass every blob body on whole, but never pass on the registry's answer: stored, and the client never hears. */
  holdBlobAnswers: boolean;
}

export interface FaultCounts {
  uploadStarts: number;
  uploadsRefused: number;
  blobConnections: number;
  blobRequests: number;
  connectionsCut: number;
  blobBodiesHeld: number;
  /** Bytes of blob bodies passed on to the registry. */
  blobBytesPassed: number;
}

export interface ManifestPut {
  /** `<repository>:<tag or digest>` as in the request path. */
  reference: string;
  status: number;
}

export interface FaultProxy {
  /** host:port on loopback, to configure as the registry. */
  address: string;
  faults: Faults;
  counts: FaultCounts;
  manifestPuts: ManifestPut[];
  /** Resolves when the first blob body is being held (with holdBlobBodies). */
  firstHold: Promise<void>;
  stop(): Promise<void>;
}

const UPLOAD_START = /^\/v2\/.+\/blobs\/uploads\/?(\?.*)?$/;
const UPLOAD_BODY = /^\/v2\/.+\/blobs\/uploads\/[^/?]+/;
const MANIFEST = /^\/v2\/(.+)\/manifests\/([^/?]+)/;
/** How much of a blob body of unknown length passes before a doomed connection is cut. */
const CUT_AFTER_BYTES = 64 * 1024;

/**
 * An HTTP proxy on loopback in front of a registry that breaks pushes the way a bad network or
 * an overloaded registry does. The Host header is passed on unchanged, so the upload locations
 * the registry answers with point back at the proxy.
 */
export async function startFaultProxy(upstream: string, faults: Partial<Faults> = {}): Promise<FaultProxy> {
  const [upstreamHost = '127.0.0.1', upstreamPort = '80'] = upstream.split(':');
  const agent = new http.Agent({ keepAlive: true });
  const state: Faults = {
    refuseEveryNthUpload: 0,
    cutEveryNthBlobConnection: 0,
    cutBlobRequests: [],
    passBeforeCut: 'half',
    holdBlobBodies: false,
    holdBlobAnswers: false,
    ...faults,
  };
  const counts: FaultCounts = {
    uploadStarts: 0,
    uploadsRefused: 0,
    blobConnections: 0,
    blobRequests: 0,
    connectionsCut: 0,
    blobBodiesHeld: 0,
    blobBytesPassed: 0,
  };
  const manifestPuts: ManifestPut[] = [];
  /** Per connection: whether it carried a blob body yet, and whether it is to be cut. */
  const blobConnection = new WeakMap<Socket, { doomed: boolean }>();
  let held: () => void = () => undefined;
  const firstHold = new Promise<void>((resolve) => (held = resolve));

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const path = request.url ?? '/';
    const method = request.method ?? 'GET';
    if (method === 'POST' && UPLOAD_START.test(path)) {
      counts.uploadStarts++;
      if (state.refuseEveryNthUpload > 0 && counts.uploadStarts % state.refuseEveryNthUpload === 0) {
        counts.uploadsRefused++;
        request.resume();
        response.writeHead(503, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'service unavailable' }] }));
        return;
      }
    }
    const carriesBlob = (method === 'PATCH' || method === 'PUT') && UPLOAD_BODY.test(path) && hasBody(request);
    let doomed = false;
    if (carriesBlob) {
      let known = blobConnection.get(request.socket);
      if (known === undefined) {
        counts.blobConnections++;
        const every = state.cutEveryNthBlobConnection;
        known = { doomed: every > 0 && counts.blobConnections % every === 0 };
        blobConnection.set(request.socket, known);
      }
      doomed = known.doomed;
      known.doomed = false;
      counts.blobRequests++;
      if (state.cutBlobRequests.includes(counts.blobRequests)) doomed = true;
    }

    const target = { host: upstreamHost, port: Number(upstreamPort), method, path, headers: request.headers, agent };
    const forwarded = http.request(target, (answer) => {
      const manifest = method === 'PUT' ? MANIFEST.exec(path) : null;
      if (manifest) manifestPuts.push({ reference: `${manifest[1]}:${manifest[2]}`, status: answer.statusCode ?? 0 });
      if (carriesBlob && state.holdBlobAnswers) {
        answer.resume();
        return;
      }
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    forwarded.on('error', () => response.destroy());
    response.on('close', () => forwarded.destroy());

    if (!carriesBlob || (!doomed && !state.holdBlobBodies)) {
      if (carriesBlob) request.on('data', (chunk: Buffer) => (counts.blobBytesPassed += chunk.length));
      request.pipe(forwarded);
      return;
    }
    const length = Number(request.headers['content-length'] ?? NaN);
    const half = Number.isFinite(length) && length > 1 ? Math.floor(length / 2) : CUT_AFTER_BYTES;
    const cutAt = state.passBeforeCut === 'none' ? 0 : half;
    let passed = 0;
    let cutDone = false;
    const cut = () => {
      if (cutDone) return;
      cutDone = true;
      counts.connectionsCut++;
      request.socket.destroy();
      forwarded.destroy();
    };
    request.on('data', (chunk: Buffer) => {
      if (state.holdBlobBodies) {
        counts.blobBodiesHeld++;
        request.pause();
        held();
        return;
      }
      const room = cutAt - passed;
      const part = room < chunk.length ? chunk.subarray(0, room) : chunk;
      // Nothing written, nothing sent: the registry never sees a request cut before its body.
      if (part.length > 0) forwarded.write(part);
      counts.blobBytesPassed += part.length;
      passed += chunk.length;
      if (passed >= cutAt) {
        request.removeAllListeners('data');
        cut();
      }
    });
    // A body smaller than the cut point still never arrives whole.
    request.on('end', () => passed < cutAt && cut());
  };

  const server = http.createServer(handle);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    faults: state,
    counts,
    manifestPuts,
    firstHold,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > 0);
}
