/**
 * Floors for bench/proxy-ceiling: the least a Node process can do between a client and the upstream, run
 * with one worker per core as `proxy serve` is. None of them checks anything; none is a proxy to use.
 *
 *   node --import tsx bench/proxy-ceiling/relays.ts forwarder|node-http|minimal PORT UPSTREAM_PORT WORKERS
 *
 * - forwarder: copies bytes both ways, one upstream connection per client; no HTTP at all (its upstream
 *   must need no credential).
 * - node-http: node:http server and client, keep-alive pool, the credential added, headers passed as they are.
 * - minimal: raw sockets; reads only each request line, sends a request with the credential, passes the
 *   answer through by its Content-Length (GET only, no chunked answers): the work any auth proxy must do.
 *
 * The credential comes in BENCH_AUTHORIZATION (a whole `Basic …` value).
 */
import cluster from 'node:cluster';
import http from 'node:http';
import net from 'node:net';

const [kind = '', portText = '', upstreamText = '', workersText = '1'] = process.argv.slice(2);
const port = Number(portText);
const upstreamPort = Number(upstreamText);
const authorization = process.env.BENCH_AUTHORIZATION ?? '';
const HOST = '127.0.0.1';

function forwarder(): net.Server {
  return net.createServer({ noDelay: true }, (client) => {
    const upstream = net.connect({ port: upstreamPort, host: HOST, noDelay: true });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
}

function nodeHttp(): http.Server {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  return http.createServer((request, response) => {
    const headers = ['host', `${HOST}:${upstreamPort}`, 'authorization', authorization];
    const path = request.url ?? '/';
    const method = request.method ?? 'GET';
    const upstream = http.request({ host: HOST, port: upstreamPort, path, method, agent, headers });
    upstream.on('response', (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    upstream.end();
  });
}

/** One client connection: requests queue in order, one at a time on its own upstream connection. */
function minimalConnection(client: net.Socket): void {
  const upstream = net.connect({ port: upstreamPort, host: HOST, noDelay: true });
  client.on('close', () => upstream.destroy());
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  const waiting: string[] = [];
  let asked = false;
  let pending = '';
  let head: Buffer | null = null;
  let inHead = true;
  let bodyLeft = 0;
  const askNext = () => {
    const next = waiting.shift();
    if (asked || next === undefined) return;
    asked = true;
    upstream.write(next);
  };
  client.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1');
    for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
      const line = pending.slice(0, pending.indexOf('\r\n'));
      pending = pending.slice(end + 4);
      const [method, target] = line.split(' ');
      if (method !== 'GET' || target === undefined) {
        client.end('HTTP/1.1 405 Method Not Allowed\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      waiting.push(
        `GET ${target} HTTP/1.1\r\nhost: ${HOST}:${upstreamPort}\r\nauthorization: ${authorization}\r\n\r\n`,
      );
    }
    askNext();
  });
  upstream.on('data', (chunk: Buffer) => {
    let body = chunk;
    if (inHead) {
      head = head === null ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      let out = `${lines[0]}\r\n`;
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (name === 'connection' || name === 'keep-alive') continue;
        if (name === 'content-length') bodyLeft = Number(value);
        out += `${name}: ${value}\r\n`;
      }
      client.write(`${out}\r\n`);
      body = head.subarray(end + 4);
      head = null;
      inHead = false;
    }
    if (body.length > 0) {
      bodyLeft -= body.length;
      client.write(body);
    }
    if (bodyLeft <= 0) {
      inHead = true;
      asked = false;
      askNext();
    }
  });
}

function serverOf(name: string): net.Server {
  switch (name) {
    case 'forwarder':
      return forwarder();
    case 'node-http':
      return nodeHttp();
    case 'minimal':
      return net.createServer({ noDelay: true }, minimalConnection);
    default:
      console.error(`relays: forwarder, node-http or minimal, not "${name}"`);
      process.exit(2);
  }
}

const workers = Number(workersText);
if (cluster.isPrimary && workers > 1) {
  for (let worker = 0; worker < workers; worker++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  serverOf(kind).listen(port, HOST);
}
