/**
 * How near nginx a proxy written in Node can come on small files, measured in one run: nginx as the
 * operators' role, ci-builder's proxy, and three floors that check nothing (bench/proxy-ceiling/relays.ts):
 * a TCP forwarder (no HTTP), node:http server and client, and a minimal raw-socket relay that reads only the
 * request line. Every Node process runs one worker per core, as `proxy serve` does. bench/proxy.ts is the
 * judge of the proxy itself; this bench says what any Node proxy can reach on the same host.
 *
 *   node --import tsx bench/proxy-ceiling.ts [--seconds 5] [--out bench/results/proxy-ceiling.json]
 *
 * Needs nginx and wrk (apt-get install nginx wrk). Prints a table, writes JSON.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from '../test/helpers/ports.js';
import {
  CONTENT_PATH,
  peerServerBlock,
  proxyBenchOptions,
  ROOT,
  startCiBuilderProxy,
  startNginx,
  upstreamServerBlock,
  waitForHttp,
  writeContent,
  writeProxyConfig,
  wrk,
  type Throughput,
} from './proxy-peers.js';

const values = proxyBenchOptions('proxy-ceiling');

const RELAYS = ['forwarder', 'node-http', 'minimal'] as const;
type Contender = 'nginx' | 'ci-builder' | (typeof RELAYS)[number];
const CONTENDERS: readonly Contender[] = ['nginx', 'forwarder', 'minimal', 'node-http', 'ci-builder'];
const TITLES: Record<Contender, string> = {
  nginx: 'nginx (the peer)',
  forwarder: 'TCP forwarder, no HTTP',
  minimal: 'minimal relay (request line only)',
  'node-http': 'node:http server + client, no checks',
  'ci-builder': 'ci-builder proxy serve',
};

const work = mkdtempSync(join(tmpdir(), 'ci-builder-proxy-ceiling-'));
const children: ChildProcess[] = [];
const username = 'bench';
const password = randomBytes(12).toString('hex');
const basic = Buffer.from(`${username}:${password}`).toString('base64');

function startRelay(kind: (typeof RELAYS)[number], port: number, upstreamPort: number): void {
  const script = join(ROOT, 'bench/proxy-ceiling/relays.ts');
  const args = ['--import', 'tsx', script, kind, String(port), String(upstreamPort), String(cpus().length)];
  const child = spawn(process.execPath, args, {
    stdio: 'inherit',
    env: { ...process.env, BENCH_AUTHORIZATION: `Basic ${basic}` },
  });
  children.push(child);
}

interface Row {
  connections: number;
  requestsPerSecond: Record<Contender, number>;
}

try {
  const contentRoot = writeContent(work, false);
  const [upstreamPort, openPort, nginxPort] = [await freePort(), await freePort(), await freePort()];
  // The forwarder passes no credential: it gets an upstream port whose files need none.
  const upstream = `${upstreamServerBlock(upstreamPort, contentRoot, basic)} server { listen 127.0.0.1:${openPort}; root ${contentRoot}; }`;
  children.push(startNginx(work, 'upstream', upstream));
  children.push(startNginx(work, 'peer', peerServerBlock(nginxPort, upstreamPort, basic)));
  const origins = new Map<Contender, string>([['nginx', `http://127.0.0.1:${nginxPort}`]]);
  for (const kind of RELAYS) {
    const port = await freePort();
    startRelay(kind, port, kind === 'forwarder' ? openPort : upstreamPort);
    origins.set(kind, `http://127.0.0.1:${port}`);
  }
  const ours = await startCiBuilderProxy(ROOT, writeProxyConfig(work, upstreamPort, username, password), undefined);
  children.push(ours.child);
  origins.set('ci-builder', ours.origin);
  for (const origin of origins.values()) await waitForHttp(`${origin}${CONTENT_PATH}/small.bin`);

  const rows: Row[] = [];
  for (const connections of [1, 32]) {
    const measured = {} as Record<Contender, number>;
    for (const contender of CONTENDERS) {
      const origin = origins.get(contender) ?? '';
      const result: Throughput = wrk(`${origin}${CONTENT_PATH}/small.bin`, connections, values.seconds);
      measured[contender] = result.requestsPerSecond;
    }
    rows.push({ connections, requestsPerSecond: measured });
  }

  const cores = spawnSync('nproc', { encoding: 'utf8' }).stdout.trim();
  console.log(`\nsmall file (1 KiB), req/s and ÷ nginx, loopback, ${values.seconds}s per cell, ${cores} cores`);
  console.log(`| contender | ${rows.map((row) => `${row.connections} client(s)`).join(' | ')} |`);
  console.log(`| --- | ${rows.map(() => '---:').join(' | ')} |`);
  for (const contender of CONTENDERS) {
    const cells = rows.map((row) => {
      const value = row.requestsPerSecond[contender];
      return `${value.toFixed(0)} (${(value / row.requestsPerSecond.nginx).toFixed(2)})`;
    });
    console.log(`| ${TITLES[contender]} | ${cells.join(' | ')} |`);
  }
  mkdirSync(dirname(values.out), { recursive: true });
  const at = new Date().toISOString();
  writeFileSync(
    values.out,
    `${JSON.stringify({ benchmark: 'proxy-ceiling', at, seconds: Number(values.seconds), rows }, null, 2)}\n`,
  );
  console.log(`\nwritten to ${values.out}`);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await new Promise((done) => setTimeout(done, 300));
  rmSync(work, { recursive: true, force: true });
}
