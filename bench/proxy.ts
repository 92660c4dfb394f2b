/**
 * The auth proxy against its peer, nginx configured as the operators' pulp_auth_proxy role
 * does it (proxy_pass, Host and Authorization headers set), both on loopback in front of the
 * same upstream: an nginx serving files that, like Pulp's content guard, answers 403 without
 * the credential. wrk drives each for a few seconds per case.
 *
 *   node --import tsx bench/proxy.ts [--seconds 5] [--out bench/results/proxy.json]
 *
 * Needs nginx and wrk (apt-get install nginx wrk). Prints a table, writes JSON.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from '../test/helpers/ports.js';
import {
  CONTENT_PATH,
  peerServerBlock,
  proxyBenchOptions,
  ROOT,
  startCiBuilderProxy,
  startNginx as startNginxIn,
  upstreamServerBlock,
  waitForHttp,
  writeContent,
  writeProxyConfig,
  wrk as wrkFor,
  type Throughput,
} from './proxy-peers.js';

const values = proxyBenchOptions('proxy');

const work = mkdtempSync(join(tmpdir(), 'ci-builder-proxy-bench-'));
const children: ChildProcess[] = [];
const username = 'bench';
const password = randomBytes(12).toString('hex');
const basic = Buffer.from(`${username}:${password}`).toString('base64');

function startNginx(name: string, serverBlock: string): ChildProcess {
  const child = startNginxIn(work, name, serverBlock);
  children.push(child);
  return child;
}

interface Row {
  case: string;
  connections: number;
  ours: Throughput;
  nginx: Throughput;
  ratio: number;
}

const wrk = (url: string, connections: number): Throughput => wrkFor(url, connections, values.seconds);

try {
  const contentRoot = writeContent(work, true);
  const [upstreamPort, nginxPort] = [await freePort(), await freePort()];
  startNginx('upstream', upstreamServerBlock(upstreamPort, contentRoot, basic));
  startNginx('peer', peerServerBlock(nginxPort, upstreamPort, basic));
  const configDir = writeProxyConfig(work, upstreamPort, username, password);
  const startOurs = async (cache: boolean): Promise<string> => {
    const started = await startCiBuilderProxy(ROOT, configDir, cache ? join(work, 'cache') : undefined);
    children.push(started.child);
    return started.origin;
  };
  const ours = await startOurs(false);
  const oursCached = await startOurs(true);
  const peer = `http://127.0.0.1:${nginxPort}`;
  const path = CONTENT_PATH;
  await waitForHttp(`${peer}${path}/small.bin`);
  await waitForHttp(`${oursCached}${path}/large.bin`);

  const rows: Row[] = [];
  for (const [name, file, cachedOurs] of [
    ['small file (1 KiB)', 'small.bin', false],
    ['large file (64 MiB)', 'large.bin', false],
    ['large file, cache on', 'large.bin', true],
  ] as const) {
    for (const connections of [1, 32]) {
      const mine = wrk(`${cachedOurs ? oursCached : ours}${path}/${file}`, connections);
      const theirs = wrk(`${peer}${path}/${file}`, connections);
      const metric = file === 'small.bin' ? 'requestsPerSecond' : 'megabytesPerSecond';
      rows.push({ case: name, connections, ours: mine, nginx: theirs, ratio: mine[metric] / theirs[metric] });
    }
  }

  console.log(
    `\nauth proxy vs nginx (operators' role config), loopback, ${values.seconds}s per cell, ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores`,
  );
  console.log('| case | clients | ci-builder | nginx | ci-builder ÷ nginx |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    const format = (value: Throughput) =>
      row.case.startsWith('small')
        ? `${value.requestsPerSecond.toFixed(0)} req/s`
        : `${value.megabytesPerSecond.toFixed(0)} MB/s`;
    console.log(
      `| ${row.case} | ${row.connections} | ${format(row.ours)} | ${format(row.nginx)} | ${row.ratio.toFixed(2)} |`,
    );
  }
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(
    values.out,
    `${JSON.stringify({ benchmark: 'proxy', at: new Date().toISOString(), seconds: Number(values.seconds), rows }, null, 2)}\n`,
  );
  console.log(`\nwritten to ${values.out}`);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await new Promise((done) => setTimeout(done, 300));
  rmSync(work, { recursive: true, force: true });
}
