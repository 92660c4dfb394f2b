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
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    out: { type: 'string', default: join(root, 'bench/results/proxy.json') },
  },
});
for (const tool of ['nginx', 'wrk']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`bench/proxy: ${tool} is missing (apt-get install nginx wrk)`);
    process.exit(2);
  }
}

const work = mkdtempSync(join(tmpdir(), 'ci-builder-proxy-bench-'));
const children: ChildProcess[] = [];
const username = 'bench';
const password = randomBytes(12).toString('hex');
const basic = Buffer.from(`${username}:${password}`).toString('base64');

const freePort = () =>
  new Promise<number>((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });

function startNginx(name: string, serverBlock: string): ChildProcess {
  const dir = join(work, name);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;\nuser root;\nworker_processes auto;\npid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log;\nevents { worker_connections 1024; }\nhttp {\n  access_log off;\n  sendfile on;\n  keepalive_requests 100000;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  ${serverBlock}\n}\n`,
  );
  const child = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'inherit' });
  children.push(child);
  return child;
}

async function waitForHttp(url: string, init: RequestInit = {}): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (
      (await fetch(url, init).then(
        (response) => response.status,
        () => 0,
      )) === 200
    )
      return;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`${url} did not come up`);
}

interface Row {
  case: string;
  connections: number;
  ours: { requestsPerSecond: number; megabytesPerSecond: number };
  nginx: { requestsPerSecond: number; megabytesPerSecond: number };
  ratio: number;
}

function wrk(url: string, connections: number): { requestsPerSecond: number; megabytesPerSecond: number } {
  const result = spawnSync(
    'wrk',
    ['-t', String(Math.min(2, connections)), '-c', String(connections), '-d', `${values.seconds}s`, url],
    { encoding: 'utf8' },
  );
  const requests = Number(/Requests\/sec:\s+([\d.]+)/.exec(result.stdout)?.[1] ?? 0);
  const transfer = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(result.stdout);
  const scale: Record<string, number> = { B: 1 / 1048576, KB: 1 / 1024, MB: 1, GB: 1024 };
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(result.stdout);
  if (non2xx) throw new Error(`${url}: ${non2xx[1]} failed responses`);
  return {
    requestsPerSecond: requests,
    megabytesPerSecond: Number(transfer?.[1] ?? 0) * (scale[transfer?.[2] ?? 'MB'] ?? 1),
  };
}

try {
  const content = join(work, 'content/pulp/content/bench/20260101T000000');
  mkdirSync(content, { recursive: true });
  writeFileSync(join(content, 'small.bin'), randomBytes(1024));
  writeFileSync(join(content, 'large.bin'), randomBytes(64 * 1024 * 1024));

  const [upstreamPort, nginxPort] = [await freePort(), await freePort()];
  startNginx(
    'upstream',
    `server { listen 127.0.0.1:${upstreamPort}; root ${join(work, 'content')}; location /pulp/content/ { if ($http_authorization != "Basic ${basic}") { return 403; } } location = /pulp/api/v3/status/ { return 200 '{}'; } }`,
  );
  startNginx(
    'peer',
    `upstream pulp { server 127.0.0.1:${upstreamPort}; keepalive 64; } server { listen 127.0.0.1:${nginxPort}; location / { proxy_pass http://pulp; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host 127.0.0.1:${upstreamPort}; proxy_set_header Authorization "Basic ${basic}"; } }`,
  );

  mkdirSync(join(work, 'etc'));
  writeFileSync(
    join(work, 'etc/config.yml'),
    `release: zed\nnamespace: bench\nimages_dirs: [.]\npulp: { url: "http://127.0.0.1:${upstreamPort}" }\ndistros:\n  debian:\n    version: bookworm\n    package_type: deb\n    base_image: { image: debian, tag: bookworm }\n    repositories: [{ name: bench, base_path: bench/, version: "20260101T000000", suites: [bookworm] }]\nsecrets: secrets.yml\n`,
  );
  writeFileSync(join(work, 'etc/secrets.yml'), `pulp_username: ${username}\npulp_password: ${password}\n`);
  const startOurs = async (cache: boolean): Promise<string> => {
    const child = spawn(
      process.execPath,
      [
        join(root, 'dist/cli/main.js'),
        '--config',
        join(work, 'etc'),
        '-q',
        'proxy',
        'serve',
        '--wait',
        ...(cache ? ['--cache-dir', join(work, 'cache')] : ['--no-cache']),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    const line = await new Promise<string>((done) =>
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', done),
    );
    return /listening on (\S+)/.exec(line)?.[1] ?? '';
  };
  const ours = await startOurs(false);
  const oursCached = await startOurs(true);
  const peer = `http://127.0.0.1:${nginxPort}`;
  const path = '/pulp/content/bench/20260101T000000';
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
    const format = (value: { requestsPerSecond: number; megabytesPerSecond: number }) =>
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
