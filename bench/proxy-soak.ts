/**
 * Soak test of the auth proxy: `ci-builder proxy serve` as a child process (so its memory and
 * file descriptors are its own) in front of a loopback upstream that, like Pulp's content
 * guard, answers 403 without the credential. Many clients loop for a long time over a mix of
 * small files, large files and cache hits; every answer is checked byte for byte, and the
 * proxy's RSS and open descriptors are sampled from /proc.
 *
 *   node --import tsx bench/proxy-soak.ts [--seconds 600] [--clients 64] [--out bench/results/proxy-soak.json]
 *
 * Needs a build (npm run build) and Linux /proc. Prints a table, writes JSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '600' },
    clients: { type: 'string', default: '64' },
    'sample-seconds': { type: 'string', default: '10' },
    out: { type: 'string', default: join(root, 'bench/results/proxy-soak.json') },
  },
});
const seconds = Number(values.seconds);
const clients = Number(values.clients);
const sampleSeconds = Number(values['sample-seconds']);
const counts = [
  ['--seconds', seconds],
  ['--clients', clients],
  ['--sample-seconds', sampleSeconds],
] as const;
for (const [name, value] of counts) {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench/proxy-soak: ${name} must be a positive integer`);
    process.exit(2);
  }
}

type Kind = 'small' | 'large' | 'cache hit';
const KINDS: readonly Kind[] = ['small', 'large', 'cache hit'];
/** Out of 100 requests: mostly package index and small files, some large packages, the rest cached. */
const MIX: Record<Kind, number> = { small: 70, large: 5, 'cache hit': 25 };

const SNAPSHOT = '/pulp/content/soak/20260101T000000/';
const MOVING = '/pulp/content/soak-current/';
const username = 'soak';
const password = randomBytes(12).toString('hex');
const basic = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

/** Contents by request path, kept in memory so every answer can be compared. */
const files = new Map<string, Buffer>();
const pathsOf: Record<Kind, string[]> = { small: [], large: [], 'cache hit': [] };
for (let index = 0; index < 200; index++) {
  const path = `${MOVING}pool/small-${index}.deb`;
  files.set(path, randomBytes(1024 + ((index * 797) % (15 * 1024))));
  pathsOf.small.push(path);
}
for (let index = 0; index < 3; index++) {
  const path = `${MOVING}pool/large-${index}.deb`;
  files.set(path, randomBytes((3 + index) * 1024 * 1024));
  pathsOf.large.push(path);
}
for (let index = 0; index < 40; index++) {
  const path = `${SNAPSHOT}pool/cached-${index}.deb`;
  files.set(path, randomBytes(16 * 1024 + ((index * 7919) % (512 * 1024))));
  pathsOf['cache hit'].push(path);
}

/** The stand-in Pulp: files from memory, 403 without the credential, the status endpoint open. */
function startUpstream(): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    if (path === '/pulp/api/v3/status/') return void response.writeHead(200).end('{}');
    if (request.headers.authorization !== basic) return void response.writeHead(403).end();
    const body = files.get(path);
    if (!body) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

interface Tally {
  requests: number;
  errors: number;
  bytes: number;
  latencies: number[];
}

const emptyTally = (): Tally => ({ requests: 0, errors: 0, bytes: 0, latencies: [] });
const tallies: Record<Kind, Tally> = { small: emptyTally(), large: emptyTally(), 'cache hit': emptyTally() };
const errorSamples: string[] = [];

function pick(random: () => number): { kind: Kind; path: string } {
  let roll = random() * 100;
  for (const kind of KINDS) {
    roll -= MIX[kind];
    if (roll < 0) {
      const paths = pathsOf[kind];
      return { kind, path: paths[Math.floor(random() * paths.length)] ?? '' };
    }
  }
  return { kind: 'small', path: pathsOf.small[0] ?? '' };
}

/** One GET through the proxy; resolves with an error text, or undefined when the body is exact. */
function fetchOnce(origin: URL, agent: http.Agent, path: string): Promise<string | undefined> {
  return new Promise((done) => {
    const request = http.get({ host: origin.hostname, port: origin.port, path, agent, timeout: 30_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error) => done(`response: ${error.message}`));
      response.on('end', () => {
        if (response.statusCode !== 200) return done(`HTTP ${response.statusCode} for ${path}`);
        done(Buffer.concat(chunks).equals(files.get(path) ?? Buffer.alloc(0)) ? undefined : `wrong body for ${path}`);
      });
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (error) => done(`request: ${error.message}`));
  });
}

async function client(origin: URL, agent: http.Agent, seed: number, until: number): Promise<void> {
  let state = seed;
  // A small LCG: the mix is reproducible from run to run.
  const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  while (Date.now() < until) {
    const { kind, path } = pick(random);
    const started = performance.now();
    const error = await fetchOnce(origin, agent, path);
    const tally = tallies[kind];
    tally.requests++;
    tally.latencies.push(performance.now() - started);
    if (error === undefined) tally.bytes += files.get(path)?.length ?? 0;
    else {
      tally.errors++;
      if (errorSamples.length < 10) errorSamples.push(error);
    }
  }
}

interface Sample {
  atSeconds: number;
  rssKiB: number;
  fds: number;
}

function sample(pid: number, startedAt: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    atSeconds: Math.round((Date.now() - startedAt) / 1000),
    rssKiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0),
    fds: readdirSync(`/proc/${pid}/fd`).length,
  };
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0);
}

/**
 * Flat: the mean of the last third of the samples taken after warm-up is within 10% of the
 * mean of the first third (a trend, not single spikes from garbage collection).
 */
function trend(values: readonly number[]): { growth: number; flat: boolean | undefined } {
  if (values.length < 3) return { growth: 0, flat: undefined };
  const third = Math.floor(values.length / 3);
  const mean = (part: readonly number[]) => part.reduce((sum, value) => sum + value, 0) / Math.max(1, part.length);
  const first = mean(values.slice(0, third));
  const growth = first === 0 ? 0 : (mean(values.slice(-third)) - first) / first;
  return { growth, flat: growth <= 0.1 };
}

const work = mkdtempSync(join(tmpdir(), 'ci-builder-proxy-soak-'));
let proxy: ChildProcess | undefined;
let upstream: http.Server | undefined;
try {
  upstream = await startUpstream();
  const upstreamPort = (upstream.address() as AddressInfo).port;
  mkdirSync(join(work, 'etc'));
  const config = [
    'release: zed',
    'namespace: soak',
    'images_dirs: [.]',
    `pulp: { url: "http://127.0.0.1:${upstreamPort}" }`,
    'distros:',
    '  debian:',
    '    version: bookworm',
    '    package_type: deb',
    '    base_image: { image: debian, tag: bookworm }',
    '    repositories: [{ name: soak, base_path: soak/, version: "20260101T000000", suites: [bookworm] }]',
    'secrets: secrets.yml',
  ];
  writeFileSync(join(work, 'etc/config.yml'), `${config.join('\n')}\n`);
  writeFileSync(join(work, 'etc/secrets.yml'), `pulp_username: ${username}\npulp_password: ${password}\n`);
  const serve = ['--config', join(work, 'etc'), '-q', 'proxy', 'serve', '--wait', '--cache-dir', join(work, 'cache')];
  const cli = join(root, 'dist/cli/main.js');
  const child = spawn(process.execPath, [cli, ...serve], { stdio: ['ignore', 'pipe', 'pipe'] });
  proxy = child;
  const proxyStderr: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => proxyStderr.push(line));
  const stdout = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const line = await new Promise<string>((done) => stdout.once('line', done));
  const origin = new URL(/listening on (\S+)/.exec(line)?.[1] ?? '');
  const pid = child.pid ?? 0;

  console.log(`proxy soak: ${clients} clients for ${seconds}s, sampling every ${sampleSeconds}s (proxy pid ${pid})`);
  const startedAt = Date.now();
  const samples: Sample[] = [sample(pid, startedAt)];
  const sampler = setInterval(() => {
    const next = sample(pid, startedAt);
    samples.push(next);
    const done = KINDS.reduce((sum, kind) => sum + tallies[kind].requests, 0);
    const errors = KINDS.reduce((sum, kind) => sum + tallies[kind].errors, 0);
    const rss = `${(next.rssKiB / 1024).toFixed(1)} MiB`;
    const at = `${String(next.atSeconds).padStart(4)}s`;
    console.log(`  ${at}  RSS ${rss}  fds ${next.fds}  requests ${done}  errors ${errors}`);
  }, sampleSeconds * 1000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const until = startedAt + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, (_, index) => client(origin, agent, index + 1, until)));
  clearInterval(sampler);
  samples.push(sample(pid, startedAt));
  agent.destroy();

  const warmUp = Math.max(30, seconds * 0.2);
  const settled = samples.filter((entry) => entry.atSeconds >= warmUp);
  const rss = samples.map((entry) => entry.rssKiB);
  const fds = samples.map((entry) => entry.fds);
  const rssSettled = settled.map((x) => x.rssKiB);
  const resources = {
    rssKiB: { first: rss[0] ?? 0, last: rss.at(-1) ?? 0, max: Math.max(...rss), ...trend(rssSettled) },
    fds: { first: fds[0] ?? 0, last: fds.at(-1) ?? 0, max: Math.max(...fds), ...trend(settled.map((x) => x.fds)) },
  };
  const rows = KINDS.map((kind) => {
    const tally = tallies[kind];
    const sorted = [...tally.latencies].sort((a, b) => a - b);
    const { requests, errors, bytes } = tally;
    const [p50Ms, p99Ms] = [percentile(sorted, 0.5), percentile(sorted, 0.99)];
    return { kind, requests, errors, megabytes: bytes / 1048576, p50Ms, p99Ms };
  });

  console.log(`\nauth proxy soak, loopback, ${seconds}s, ${clients} clients, warm-up ${warmUp}s`);
  console.log('| kind | requests | errors | MB | p50 | p99 |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    const latency = `${row.p50Ms.toFixed(1)} ms | ${row.p99Ms.toFixed(1)} ms`;
    console.log(`| ${row.kind} | ${row.requests} | ${row.errors} | ${row.megabytes.toFixed(0)} | ${latency} |`);
  }
  console.log('\n| proxy | first | last | max | growth after warm-up | flat (≤ 10%) |');
  console.log('| --- | ---: | ---: | ---: | ---: | --- |');
  const verdict = (flat: boolean | undefined) => (flat === undefined ? 'n/a (too short)' : flat ? 'yes' : 'no');
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  const { rssKiB: r, fds: f } = resources;
  const growth = (value: number) => `${(value * 100).toFixed(1)}%`;
  console.log(`| RSS | ${mib(r.first)} | ${mib(r.last)} | ${mib(r.max)} | ${growth(r.growth)} | ${verdict(r.flat)} |`);
  console.log(`| open fds | ${f.first} | ${f.last} | ${f.max} | ${growth(f.growth)} | ${verdict(f.flat)} |`);
  if (errorSamples.length > 0) console.log(`\nfirst errors:\n  ${errorSamples.join('\n  ')}`);
  if (proxyStderr.length > 0) console.log(`\nproxy stderr:\n  ${proxyStderr.slice(0, 10).join('\n  ')}`);

  mkdirSync(dirname(values.out), { recursive: true });
  const at = new Date().toISOString();
  const result = { benchmark: 'proxy-soak', at, seconds, clients, mix: MIX, warmUpSeconds: warmUp, rows, resources };
  writeFileSync(values.out, `${JSON.stringify({ ...result, samples, errorSamples, proxyStderr }, null, 2)}\n`);
  console.log(`\nwritten to ${values.out}`);
} finally {
  proxy?.kill('SIGTERM');
  upstream?.closeAllConnections();
  upstream?.close();
  await new Promise((done) => setTimeout(done, 300));
  rmSync(work, { recursive: true, force: true });
}
