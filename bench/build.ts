/**
 * Benchmark of the build spine on the bundled tree: a cold build, a re-run with no change
 * and a one-leaf change, run back to back on the same host. Prints a table and writes JSON.
 *
 *   node --import tsx bench/build.ts [--engine buildah|docker] [--out bench/results/build.json] [regex ...]
 *
 * Without regexes it builds the representative subset CI builds (base chain, keystone,
 * cron, memcached); bench/library.ts builds the whole library.
 *
 * The cold case uses a fresh label in the base image so nothing is reused from earlier runs;
 * the bootstrapped root filesystem stays cached (it is keyed on the repository, not the tree).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    engine: { type: 'string', default: 'buildah' },
    out: { type: 'string', default: join(root, 'bench/results/build.json') },
  },
});
const regexes = positionals.length > 0 ? positionals : ['^cron$', '^memcached$', '^keystone$'];

interface Case {
  name: string;
  seconds: number;
  built: number;
  reused: number;
  exitCode: number | null;
}

const work = mkdtempSync(join(tmpdir(), 'ci-builder-bench-'));
try {
  const images = join(work, 'images');
  cpSync(join(root, 'images'), images, { recursive: true });
  const patch = (file: string, from: string, to: string) =>
    writeFileSync(join(images, file), readFileSync(join(images, file), 'utf8').replace(from, to));
  patch(
    'base/Dockerfile.j2',
    '{{ macros.image_labels() }}',
    `{{ macros.image_labels() }}\nLABEL ci-builder.bench-run="${Date.now()}"`,
  );
  const config = readFileSync(join(root, 'etc/ci-builder/config.yml'), 'utf8')
    .replace(/^engine: .*$/m, `engine: ${values.engine}`)
    .replace(/^secrets: .*\n/m, '')
    .replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${images}`);
  mkdirSync(join(work, 'etc'));
  writeFileSync(join(work, 'etc/config.yml'), config);

  const run = (name: string, tag: string): Case => {
    const started = process.hrtime.bigint();
    const result = spawnSync(
      process.execPath,
      [join(root, 'dist/cli/main.js'), '--config', join(work, 'etc'), '-q', 'build', '--tag', tag, ...regexes],
      { cwd: work, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const summary = JSON.parse(readFileSync(join(work, '.ci-builder/runs', tag, 'summary.json'), 'utf8')) as {
      built: unknown[];
      reused: unknown[];
    };
    return { name, seconds, built: summary.built.length, reused: summary.reused.length, exitCode: result.status };
  };

  const cases: Case[] = [run('cold build', 'bench-cold'), run('re-run, no change', 'bench-rerun')];
  patch(
    'memcached/Dockerfile.j2',
    '{% block memcached_footer %}',
    `RUN echo ${Date.now()} > /bench-change\n{% block memcached_footer %}`,
  );
  cases.push(run('one leaf changed', 'bench-leaf'));

  const cold = cases[0]?.seconds ?? 1;
  const rows = cases.map((entry) => ({ ...entry, ratio_to_cold: entry.seconds / cold }));
  console.log(`\nci-builder build benchmark, engine ${values.engine}, bundled tree, images ${regexes.join(' ')}`);
  console.log('| case | wall s | built | reused | × cold |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const row of rows)
    console.log(
      `| ${row.name} | ${row.seconds.toFixed(1)} | ${row.built} | ${row.reused} | ${row.ratio_to_cold.toFixed(3)} |`,
    );
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(
    values.out,
    `${JSON.stringify({ benchmark: 'build', engine: values.engine, regexes, at: new Date().toISOString(), cases: rows }, null, 2)}\n`,
  );
  console.log(`\nwritten to ${values.out}`);
  if (rows.some((row) => row.exitCode !== 0)) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
