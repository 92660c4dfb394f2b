/**
 * Renders an upstream Kolla checkout's whole image tree with ci-builder's renderer and with
 * kolla-build --template-only, in the same run, with the exact values kolla-build used:
 * how many Dockerfiles are byte-identical, which differ (first differing line), and the
 * time of each. A table on stdout, JSON in bench/results/render-kolla.json.
 *
 *   node --import tsx bench/render-kolla.ts --kolla /path/to/kolla-checkout [--base debian]
 *
 * Kolla's Jinja globals that ci-builder does not provide yet are stood in for by markers,
 * and images whose output contains one are counted apart.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { discoverCatalog } from '../src/catalog/discover.js';
import { Renderer } from '../src/render/renderer.js';
import type { TemplateVariables } from '../src/render/variables.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: options } = parseArgs({ options: { kolla: { type: 'string' }, base: { type: 'string', default: 'debian' }, out: { type: 'string', default: join(root, 'bench/results/render-kolla.json') } } });
if (!options.kolla || !existsSync(join(options.kolla, 'kolla/docker'))) {
  console.error('bench/render-kolla: --kolla must name a Kolla checkout (with kolla/docker)');
  process.exit(2);
}
const kolla = resolve(options.kolla);
const work = mkdtempSync(join(tmpdir(), 'ci-builder-render-kolla-'));
try {
  const valuesFile = join(work, 'values.json');
  const run = spawnSync('/usr/bin/python3', [join(root, 'bench/kolla_values.py'), valuesFile, join(work, 'kolla-work'), options.base], { cwd: kolla, env: { ...process.env, PBR_VERSION: process.env.PBR_VERSION ?? '0.0.0' }, encoding: 'utf8' });
  if (run.status !== 0 || !existsSync(valuesFile)) throw new Error(`kolla-build --template-only failed: ${run.stderr.split('\n').slice(-5).join('\n')}`);
  const recorded = JSON.parse(readFileSync(valuesFile, 'utf8')) as { seconds: number; values: Record<string, TemplateVariables> };

  const tree = join(kolla, 'kolla/docker');
  const started = process.hrtime.bigint();
  const catalog = discoverCatalog([tree]);
  const renderer = new Renderer(catalog);
  const results: Array<{ image: string; result: 'identical' | 'differs' | 'needs-missing-global' | 'unbuildable' | 'error'; detail?: string }> = [];
  const missingGlobals = { handle_repos: '@@handle_repos@@' };
  for (const [name, values] of Object.entries(recorded.values)) {
    const image = catalog.images.get(name);
    if (!image) {
      results.push({ image: name, result: 'error', detail: 'not found by the catalog' });
      continue;
    }
    let actual: string;
    try {
      actual = renderer.render(image, { ...values, env: process.env, ...Object.fromEntries(Object.entries(missingGlobals).map(([global, marker]) => [global, () => marker])) });
    } catch (error) {
      results.push({ image: name, result: 'error', detail: (error as Error).message.slice(0, 200) });
      continue;
    }
    const expectedFile = join(work, 'kolla-work/docker', image.templateName.replace(/Dockerfile\.j2$/, 'Dockerfile'));
    if (!existsSync(expectedFile)) {
      results.push({ image: name, result: 'unbuildable' });
      continue;
    }
    const expected = readFileSync(expectedFile, 'utf8');
    if (actual === expected) results.push({ image: name, result: 'identical' });
    else if (Object.values(missingGlobals).some((marker) => actual.includes(marker))) results.push({ image: name, result: 'needs-missing-global' });
    else {
      const ours = actual.split('\n');
      const theirs = expected.split('\n');
      const line = ours.findIndex((text, index) => text !== theirs[index]);
      results.push({ image: name, result: 'differs', detail: `line ${line + 1}: ours ${JSON.stringify(ours[line])}, kolla ${JSON.stringify(theirs[line])}` });
    }
  }
  const oursSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const count = (result: string) => results.filter((entry) => entry.result === result).length;
  console.log(`\nKolla tree ${kolla}, base ${options.base}: ${results.length} images`);
  console.log('| identical | differs | needs a missing global | not written by kolla-build | error | kolla-build s | ci-builder s | ci-builder ÷ kolla-build |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  console.log(`| ${count('identical')} | ${count('differs')} | ${count('needs-missing-global')} | ${count('unbuildable')} | ${count('error')} | ${recorded.seconds.toFixed(2)} | ${oursSeconds.toFixed(2)} | ${(oursSeconds / recorded.seconds).toFixed(2)} |`);
  for (const entry of results.filter((item) => item.result === 'differs' || item.result === 'error')) console.log(`${entry.result}: ${entry.image}: ${entry.detail ?? ''}`);
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify({ benchmark: 'render-kolla', kolla, base: options.base, at: new Date().toISOString(), kollaBuildSeconds: recorded.seconds, ciBuilderSeconds: oursSeconds, results }, null, 2)}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
