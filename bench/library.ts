/**
 * The whole bundled library, built for real: the overcloud and seed sets in one run, then the
 * smoke checks of every image. Prints per-image build times, the critical path, the image
 * count and sizes; writes JSON. Run by hand (tens of minutes on two cores).
 *
 *   node --import tsx bench/library.ts [--tag TAG] [--out bench/results/library.json]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { criticalPath } from '../src/report/html.js';
import type { RunSummary } from '../src/report/summary.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = new Date()
  .toISOString()
  .replace(/[-:]/g, '')
  .replace(/\.\d+Z$/, '');
const { values } = parseArgs({
  options: {
    tag: { type: 'string', default: `library-${stamp}` },
    out: { type: 'string', default: join(root, 'bench/results/library.json') },
  },
});
const cli = (args: string[]) =>
  spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });

const started = Date.now();
const build = cli(['-q', 'build', '--set', 'overcloud,seed', '--tag', values.tag]);
const wallSeconds = (Date.now() - started) / 1000;
const summary = JSON.parse(
  readFileSync(join(root, '.ci-builder/runs', values.tag, 'summary.json'), 'utf8'),
) as RunSummary;
const smoke = cli(['--json', 'images', 'test', '--set', 'overcloud,seed', '--tag', values.tag]);
const smokeResults = JSON.parse(smoke.stdout || '[]') as Array<{
  image: string;
  checks: Array<{ check: string; status: string; detail: string }>;
}>;

const sizes = new Map<string, number>();
for (const name of Object.keys(summary.images)) {
  const inspect = spawnSync(
    'buildah',
    ['--storage-driver', 'overlay', 'images', '--json', summary.images[name]?.reference ?? ''],
    { encoding: 'utf8' },
  );
  const [image] = JSON.parse(inspect.stdout || '[]') as Array<{ size?: string }>;
  sizes.set(name, parseSize(image?.size ?? '0 B'));
}
/** buildah prints sizes for people ("881 MB"); back to bytes. */
function parseSize(text: string): number {
  const match = /^([\d.]+)\s*([kMGT]?B)$/.exec(text.trim());
  const scale: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };
  return match ? Number(match[1]) * (scale[match[2] ?? 'B'] ?? 1) : 0;
}

const critical = criticalPath(summary);
const rows = Object.entries(summary.images)
  .map(([name, record]) => ({
    name,
    status: record.status,
    seconds: record.build_seconds ?? 0,
    sizeMB: (sizes.get(name) ?? 0) / 1e6,
    critical: critical.has(name),
    smoke:
      smokeResults
        .find((result) => result.image === name)
        ?.checks.map((check) => `${check.check}:${check.status}`)
        .join(' ') ?? '',
  }))
  .sort((a, b) => b.seconds - a.seconds);

console.log(
  `\nbundled library: ${rows.length} images, tag ${values.tag}, wall ${wallSeconds.toFixed(0)}s (build exit ${build.status}, smoke exit ${smoke.status})`,
);
console.log('| image | status | build s | size MB | critical path | smoke |');
console.log('| --- | --- | ---: | ---: | --- | --- |');
for (const row of rows)
  console.log(
    `| ${row.name} | ${row.status} | ${row.seconds.toFixed(1)} | ${row.sizeMB.toFixed(0)} | ${row.critical ? 'yes' : ''} | ${row.smoke} |`,
  );
const criticalSeconds = rows.filter((row) => row.critical).reduce((total, row) => total + row.seconds, 0);
console.log(
  `\ncritical path: ${[...critical].reverse().join(' → ')} (${criticalSeconds.toFixed(0)}s of ${wallSeconds.toFixed(0)}s wall; busy/wall ratio ${(rows.reduce((total, row) => total + row.seconds, 0) / wallSeconds).toFixed(2)})`,
);
console.log(
  `images: ${rows.length}, sum of image sizes ${(rows.reduce((total, row) => total + row.sizeMB, 0) / 1000).toFixed(1)} GB (layers are shared, so the disk holds less)`,
);
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(
  values.out,
  `${JSON.stringify({ benchmark: 'library', tag: values.tag, at: new Date().toISOString(), wallSeconds, criticalPath: [...critical].reverse(), rows }, null, 2)}\n`,
);
console.log(`written to ${values.out}`);
if (build.status !== 0 || smoke.status !== 0) process.exitCode = 1;
