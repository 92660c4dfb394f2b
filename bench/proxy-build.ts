/**
 * A repeated build through the auth proxy with its cache on: the same images (base and
 * memcached, forced to rebuild each time) built twice from a Pulp stand-in that relays
 * Debian's mirror. The first build fills the cache, the second should fetch nothing from
 * Pulp. Prints wall time, requests and bytes that reached Pulp, and ratios; writes JSON.
 *
 *   node --import tsx bench/proxy-build.ts [--out bench/results/proxy-build.json]
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startFakePulp } from '../test/helpers/fake-pulp.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { out: { type: 'string', default: join(root, 'bench/results/proxy-build.json') } },
});
const snapshot = '20261101T000000';
/** The CLI as a child process; asynchronous, since the Pulp stand-in answers from this process. */
const cli = (args: string[], cwd: string) =>
  new Promise<number | null>((done) =>
    spawn(process.execPath, [join(root, 'dist/cli/main.js'), ...args], {
      cwd,
      stdio: ['ignore', 'inherit', 'inherit'],
    }).on('close', done),
  );

const work = mkdtempSync(join(tmpdir(), 'ci-builder-proxy-build-'));
const pulp = await startFakePulp({
  username: 'bench',
  password: 'bench-password',
  relayContent: {
    [`debian/bookworm/${snapshot}/`]: 'http://deb.debian.org/debian/',
    [`debian-security/bookworm/${snapshot}/`]: 'http://deb.debian.org/debian-security/',
  },
});
try {
  const images = join(work, 'images');
  cpSync(join(root, 'images'), images, { recursive: true });
  const config = readFileSync(join(root, 'etc/ci-builder/config.yml'), 'utf8')
    .replace(
      /^ {4}repositories:\n(?: {6}.*\n)+/m,
      `    repositories:\n      - { name: debian, base_path: debian/bookworm/, version: "${snapshot}", suites: [bookworm, bookworm-updates] }\n      - { name: debian-security, base_path: debian-security/bookworm/, version: "${snapshot}", suites: [bookworm-security] }\n`,
    )
    .replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${images}`);
  mkdirSync(join(work, 'etc'));
  writeFileSync(
    join(work, 'etc/config.yml'),
    `${config}\npulp: { url: "${pulp.origin}" }\nproxy: { cache_dir: ${join(work, 'cache')} }\n`,
  );
  writeFileSync(join(work, 'etc/secrets.yml'), 'pulp_username: bench\npulp_password: bench-password\n');

  // Bootstrapping the base root filesystem is not what is measured: do it first, then empty the cache.
  const warmup = await cli(
    ['--config', join(work, 'etc'), '-q', 'build', '--auth-proxy', '--tag', 'warmup', '^base$'],
    work,
  );
  if (warmup !== 0) throw new Error(`warm-up build exited ${warmup}`);
  rmSync(join(work, 'cache'), { recursive: true, force: true });

  const rows: Array<{ case: string; seconds: number; pulpRequests: number; pulpMegabytes: number; built: number }> = [];
  for (const name of ['first build (cache empty)', 'repeated build (cache warm)']) {
    const base = join(images, 'base/Dockerfile.j2');
    writeFileSync(
      base,
      readFileSync(base, 'utf8').replace(
        /\nLABEL ci-builder\.bench-run=.*|$/,
        `\nLABEL ci-builder.bench-run="${Date.now()}"`,
      ),
    );
    const before = pulp.requests.length;
    const started = Date.now();
    const tag = `proxy-build-${rows.length + 1}`;
    const status = await cli(
      ['--config', join(work, 'etc'), '-q', 'build', '--auth-proxy', '--tag', tag, '^memcached$'],
      work,
    );
    if (status !== 0) throw new Error(`${name}: build exited ${status}`);
    const requests = pulp.requests.slice(before).filter((request) => request.path.startsWith('/pulp/content/'));
    const log = readFileSync(join(work, '.ci-builder/runs', tag, 'proxy-access.log'), 'utf8').split('\n');
    const upstreamBytes = log
      .filter((line) => !line.includes('cache=hit'))
      .reduce((total, line) => total + Number(line.split(' ')[4] ?? 0), 0);
    const summary = JSON.parse(readFileSync(join(work, '.ci-builder/runs', tag, 'summary.json'), 'utf8')) as {
      built: unknown[];
    };
    rows.push({
      case: name,
      seconds: (Date.now() - started) / 1000,
      pulpRequests: requests.length,
      pulpMegabytes: upstreamBytes / 1e6,
      built: summary.built.length,
    });
  }
  const [cold, warm] = rows;
  console.log('\nrepeated build through the auth proxy, cache on (base + memcached rebuilt each time)');
  console.log('| case | wall s | images built | requests to Pulp | MB from Pulp |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const row of rows)
    console.log(
      `| ${row.case} | ${row.seconds.toFixed(1)} | ${row.built} | ${row.pulpRequests} | ${row.pulpMegabytes.toFixed(1)} |`,
    );
  if (cold && warm)
    console.log(
      `\nwarm ÷ cold: wall ${(warm.seconds / cold.seconds).toFixed(2)}, requests to Pulp ${(warm.pulpRequests / Math.max(1, cold.pulpRequests)).toFixed(2)}; cache ${statSync(join(work, 'cache')).isDirectory() ? 'on disk' : 'missing'}`,
    );
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(
    values.out,
    `${JSON.stringify({ benchmark: 'proxy-build', at: new Date().toISOString(), rows }, null, 2)}\n`,
  );
  console.log(`written to ${values.out}`);
} finally {
  await pulp.stop();
  rmSync(work, { recursive: true, force: true });
}
