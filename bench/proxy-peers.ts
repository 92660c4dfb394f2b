/**
 * What the proxy benches share: the upstream (nginx serving files behind a content guard), the peer (nginx as
 * the operators' role configures it), ci-builder's proxy in front of the same upstream, and wrk's figures.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** The project's folder: where dist/ and bench/results/ are. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The options every proxy bench takes, `--seconds` per cell and `--out` (bench/results/<name>.json), once its tools are there. */
export function proxyBenchOptions(name: string): { seconds: string; out: string } {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      out: { type: 'string', default: join(ROOT, `bench/results/${name}.json`) },
    },
  });
  requireTools(`bench/${name}`, ['nginx', 'wrk']);
  return values;
}

/** Exits 2 naming the first missing tool: a bench without its peers measures nothing. */
export function requireTools(bench: string, tools: readonly string[]): void {
  for (const tool of tools) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      console.error(`${bench}: ${tool} is missing (apt-get install ${tools.join(' ')})`);
      process.exit(2);
    }
  }
}

/** An nginx serving `serverBlock` (every worker a core, no access log, sendfile), its files under work/name. */
export function startNginx(work: string, name: string, serverBlock: string): ChildProcess {
  const dir = join(work, name);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;\nuser root;\nworker_processes auto;\npid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log;\nevents { worker_connections 1024; }\nhttp {\n  access_log off;\n  sendfile on;\n  keepalive_requests 100000;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  ${serverBlock}\n}\n`,
  );
  return spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'inherit' });
}

export async function waitForHttp(url: string, init: RequestInit = {}): Promise<void> {
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

export interface Throughput {
  requestsPerSecond: number;
  megabytesPerSecond: number;
}

/** wrk on one URL (two threads at most); a single failed response fails the bench. */
export function wrk(url: string, connections: number, seconds: string): Throughput {
  const result = spawnSync(
    'wrk',
    ['-t', String(Math.min(2, connections)), '-c', String(connections), '-d', `${seconds}s`, url],
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

/** Where the benches' files are, below the upstream's root: a Pulp content path of a pinned version. */
export const CONTENT_PATH = '/pulp/content/bench/20260101T000000';

/** The files the benches fetch: small.bin (1 KiB), and large.bin (64 MiB) when asked. */
export function writeContent(work: string, large: boolean): string {
  const root = join(work, 'content');
  const folder = join(root, CONTENT_PATH);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'small.bin'), randomBytes(1024));
  if (large) writeFileSync(join(folder, 'large.bin'), randomBytes(64 * 1024 * 1024));
  return root;
}

/** The upstream: files, answering 403 without the credential on the content route as Pulp's content guard. */
export function upstreamServerBlock(port: number, contentRoot: string, basic: string): string {
  return `server { listen 127.0.0.1:${port}; root ${contentRoot}; location /pulp/content/ { if ($http_authorization != "Basic ${basic}") { return 403; } } location = /pulp/api/v3/status/ { return 200 '{}'; } }`;
}

/** The peer: nginx as the operators' pulp_auth_proxy role configures it (proxy_pass, Host, Authorization). */
export function peerServerBlock(port: number, upstreamPort: number, basic: string): string {
  return `upstream pulp { server 127.0.0.1:${upstreamPort}; keepalive 64; } server { listen 127.0.0.1:${port}; location / { proxy_pass http://pulp; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host 127.0.0.1:${upstreamPort}; proxy_set_header Authorization "Basic ${basic}"; } }`;
}

/** A configuration folder for `ci-builder proxy serve` in front of that upstream, with its credential. */
export function writeProxyConfig(work: string, upstreamPort: number, username: string, password: string): string {
  const etc = join(work, 'etc');
  mkdirSync(etc, { recursive: true });
  writeFileSync(
    join(etc, 'config.yml'),
    `release: zed\nnamespace: bench\nimages_dirs: [.]\npulp: { url: "http://127.0.0.1:${upstreamPort}" }\ndistros:\n  debian:\n    version: bookworm\n    package_type: deb\n    base_image: { image: debian, tag: bookworm }\n    repositories: [{ name: bench, base_path: bench/, version: "20260101T000000", suites: [bookworm] }]\nsecrets: secrets.yml\n`,
  );
  writeFileSync(join(etc, 'secrets.yml'), `pulp_username: ${username}\npulp_password: ${password}\n`);
  return etc;
}

/** `ci-builder proxy serve` (default workers), caching into cacheDir or not at all; resolves to its origin. */
export async function startCiBuilderProxy(
  root: string,
  configDir: string,
  cacheDir: string | undefined,
): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawn(
    process.execPath,
    [
      join(root, 'dist/cli/main.js'),
      '--config',
      configDir,
      '-q',
      'proxy',
      'serve',
      '--wait',
      ...(cacheDir !== undefined ? ['--cache-dir', cacheDir] : ['--no-cache']),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((done) =>
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', done),
  );
  return { child, origin: /listening on (\S+)/.exec(line)?.[1] ?? '' };
}
