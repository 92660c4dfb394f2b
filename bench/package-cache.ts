/**
 * Benchmark of the package cache on the bundled tree: a cold build with an empty package
 * cache, then, after a change to `base` (a label line, so every image rebuilds), a warm
 * build whose images install the same packages from the cache. Reports wall seconds, the
 * ratio warm ÷ cold, and bytes fetched from the mirror (summary.json's package_cache).
 *
 *   node --import tsx bench/package-cache.ts [--engine buildah|docker] [--baseline]
 *       [--out bench/results/package-cache.json] [regex ...]
 *
 * --baseline adds a third build after another base change with --no-package-cache: every
 * image downloading its packages itself, as before the cache.
 *
 * The base image's root filesystem stays as it is (it is cached on its own, keyed on the
 * repositories), so "cold" means cold packages, not a fresh bootstrap.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { PackageCacheCounters } from '../src/proxy/counters.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    engine: { type: 'string', default: 'buildah' },
    baseline: { type: 'boolean', default: false },
    out: { type: 'string', default: join(root, 'bench/results/package-cache.json') },
  },
});
const regexes = positionals.length > 0 ? positionals : ['^cron$', '^memcached$', '^keystone$'];

interface Case {
  name: string;
  seconds: number;
  built: number;
  reused: number;
  exitCode: number | null;
  packageCache: PackageCacheCounters | null;
}

const work = mkdtempSync(join(tmpdir(), 'ci-builder-bench-pkgcache-'));
try {
  const images = join(work, 'images');
  cpSync(join(root, 'images'), images, { recursive: true });
  const stamp = Date.now();
  const changeBase = (label: string) => {
    const file = join(images, 'base/Dockerfile.j2');
    const text = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      text.replace(
        '{{ macros.image_labels() }}',
        `{{ macros.image_labels() }}\nLABEL ci-builder.bench-${label}="${stamp}"`,
      ),
    );
  };
  changeBase('cold');
  const packages = join(work, 'packages');
  const config = readFileSync(join(root, 'etc/ci-builder/config.yml'), 'utf8')
    .replace(/^engine: .*$/m, `engine: ${values.engine}`)
    .replace(/^namespace: .*$/m, 'namespace: bench-pkgcache')
    .replace(/^secrets: .*\n/m, '')
    .replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${images}`);
  mkdirSync(join(work, 'etc'));
  writeFileSync(join(work, 'etc/config.yml'), `${config}\nproxy:\n  cache_dir: ${packages}\n`);

  const run = (name: string, tag: string, extra: string[] = []): Case => {
    const started = process.hrtime.bigint();
    const result = spawnSync(
      process.execPath,
      [
        join(root, 'dist/cli/main.js'),
        '--config',
        join(work, 'etc'),
        '-q',
        'build',
        '--tag',
        tag,
        ...extra,
        ...regexes,
      ],
      { cwd: work, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const summary = JSON.parse(readFileSync(join(work, '.ci-builder/runs', tag, 'summary.json'), 'utf8')) as {
      built: unknown[];
      reused: unknown[];
      package_cache?: PackageCacheCounters;
    };
    return {
      name,
      seconds,
      built: summary.built.length,
      reused: summary.reused.length,
      exitCode: result.status,
      packageCache: summary.package_cache ?? null,
    };
  };

  const cases: Case[] = [run('cold packages (empty cache)', `bench-pc-cold-${stamp}`)];
  changeBase('warm');
  cases.push(run('base changed, warm cache', `bench-pc-warm-${stamp}`));
  if (values.baseline) {
    changeBase('baseline');
    cases.push(run('base changed, --no-package-cache', `bench-pc-direct-${stamp}`, ['--no-package-cache']));
  }

  const [cold, warm] = cases;
  const mib = (bytes: number | undefined) => (bytes === undefined ? '—' : (bytes / 1024 ** 2).toFixed(1));
  console.log(
    `\nci-builder package cache benchmark, engine ${values.engine}, bundled tree, images ${regexes.join(' ')}`,
  );
  console.log('| case | wall s | built | × cold | MiB from mirror | MiB from cache | hits | revalidated | misses |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const entry of cases) {
    const counters = entry.packageCache;
    const ratio = entry.seconds / (cold?.seconds ?? 1);
    console.log(
      `| ${entry.name} | ${entry.seconds.toFixed(1)} | ${entry.built} | ${ratio.toFixed(3)} | ` +
        `${mib(counters?.bytes_from_upstream)} | ${mib(counters?.bytes_from_cache)} | ${counters?.hits ?? '—'} | ` +
        `${counters?.revalidated ?? '—'} | ${counters?.misses ?? '—'} |`,
    );
  }
  const timeRatio = (warm?.seconds ?? 0) / (cold?.seconds ?? 1);
  const coldBytes = cold?.packageCache?.bytes_from_upstream ?? 0;
  const bytesRatio = coldBytes > 0 ? (warm?.packageCache?.bytes_from_upstream ?? 0) / coldBytes : NaN;
  console.log(
    `\nwarm ÷ cold: time ${timeRatio.toFixed(3)} (goal ≤ 0.4), bytes from the mirror ${(bytesRatio * 100).toFixed(2)}% (goal ≤ 5%)`,
  );
  mkdirSync(dirname(values.out), { recursive: true });
  const report = { benchmark: 'package-cache', engine: values.engine, regexes, at: new Date().toISOString() };
  writeFileSync(
    values.out,
    `${JSON.stringify({ ...report, cases, warm_over_cold: { time: timeRatio, bytes_from_mirror: bytesRatio } }, null, 2)}\n`,
  );
  console.log(`written to ${values.out}`);
  if (cases.some((entry) => entry.exitCode !== 0)) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
