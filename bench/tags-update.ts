/**
 * `tags update` against runs of many images, as the built command runs it: a partial run of N
 * deployable images adds N keys to a small tags file, then a second run at a newer tag changes
 * the N values it added; and a full run of N images, which sets the default only. Prints a table
 * (seconds per case, microseconds per image) and writes JSON. A tags file the edit would make
 * larger than a tags file may be (4 MiB, some 55,000 keys) is refused: the table says so.
 *
 *   npm run build && node --import tsx bench/tags-update.ts [--sizes 2000,4000,40000,300000]
 *                                                          [--timeout 300] [--out bench/results/tags-update.json]
 *
 * A case that runs past --timeout gets SIGTERM, and SIGKILL 10 s later if it has not stopped: the
 * table says which it took.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '2000,4000,40000,300000' },
    timeout: { type: 'string', default: '300' },
    out: { type: 'string', default: join(root, 'bench/results/tags-update.json') },
  },
});
const sizes = values.sizes.split(',').map(Number);
const timeoutMs = Number(values.timeout) * 1000;
const KILL_AFTER_MS = 10_000;

const DISTRO_KEY = 'debian-bookworm';
const tagAt = (stamp: string) => `zed-debian-bookworm-${stamp}`;
const FIRST = tagAt('20250101T010101');
const SECOND = tagAt('20250202T020202');

/** Deployable, distinct, and none among naming.ts's exceptions: one tag key per image. */
const imageName = (index: number) => `svc${index}-api`;

function runSummary(count: number, tag: string, full = false): string {
  const names = Array.from({ length: count }, (_, index) => ({ name: imageName(index) }));
  return JSON.stringify({
    tag,
    distro: 'debian',
    built: names,
    reused: [],
    failed: [],
    skipped: [],
    // One image left unselected: a partial run, which sets the keys of the images it built.
    not_matched: full ? [] : [{ name: 'horizon' }],
    unbuildable: [],
    pushed: names.map(({ name }) => ({ name, reference: `r/${name}:${tag}` })),
    push_failed: [],
    finished_at: '2025-02-02T03:00:00Z',
    interrupted: false,
    images: {},
  });
}

type Ending = 'ok' | 'refused' | 'failed' | 'SIGTERM' | 'SIGKILL';

interface Case {
  images: number;
  step: string;
  seconds: number;
  ending: Ending;
}

function updateTags(dir: string, summary: string): Promise<{ seconds: number; ending: Ending }> {
  const started = process.hrtime.bigint();
  const args = [join(root, 'dist/cli/main.js'), '-q', 'tags', 'update', '--run', summary, '--file', 'tags.yml'];
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let ending: Ending | undefined;
  const term = setTimeout(() => {
    ending = 'SIGTERM';
    child.kill('SIGTERM');
  }, timeoutMs);
  const kill = setTimeout(() => {
    ending = 'SIGKILL';
    child.kill('SIGKILL');
  }, timeoutMs + KILL_AFTER_MS);
  return new Promise((resolvePromise) => {
    child.on('close', (code) => {
      clearTimeout(term);
      clearTimeout(kill);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (ending === undefined && code !== 0) process.stderr.write(stderr);
      resolvePromise({ seconds, ending: ending ?? (code === 0 ? 'ok' : code === 2 ? 'refused' : 'failed') });
    });
  });
}

const cases: Case[] = [];
for (const count of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'ci-builder-bench-tags-'));
  try {
    writeFileSync(join(dir, 'tags.yml'), `---\nkolla_image_tags:\n  openstack:\n    ${DISTRO_KEY}: ${FIRST}\n`);
    mkdirSync(join(dir, 'first'));
    mkdirSync(join(dir, 'second'));
    writeFileSync(join(dir, 'first/summary.json'), runSummary(count, FIRST));
    writeFileSync(join(dir, 'second/summary.json'), runSummary(count, SECOND));
    mkdirSync(join(dir, 'full'));
    writeFileSync(join(dir, 'full/summary.json'), runSummary(count, tagAt('20250303T030303'), true));
    const steps = [
      ['first', 'partial: add N keys'],
      ['second', 'partial: change N tags'],
      ['full', 'full: set the default'],
    ] as const;
    for (const [step, label] of steps) {
      const result = await updateTags(dir, join(dir, step, 'summary.json'));
      cases.push({ images: count, step: label, ...result });
      process.stderr.write(`${count} images, ${label}: ${result.seconds.toFixed(2)} s (${result.ending})\n`);
      if (result.ending === 'SIGTERM' || result.ending === 'SIGKILL') break;
    }
    process.stderr.write(`  tags file: ${(statSync(join(dir, 'tags.yml')).size / 1024).toFixed(0)} KiB\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const header = '| images | step | seconds | µs per image | ending |\n| ---: | --- | ---: | ---: | --- |';
const rows = cases.map(
  (entry) =>
    `| ${entry.images} | ${entry.step} | ${entry.seconds.toFixed(2)} | ` +
    `${((entry.seconds * 1e6) / entry.images).toFixed(0)} | ${entry.ending} |`,
);
process.stdout.write(`${header}\n${rows.join('\n')}\n`);
mkdirSync(dirname(values.out), { recursive: true });
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
writeFileSync(values.out, `${JSON.stringify({ date: new Date().toISOString(), machine, cases }, null, 2)}\n`);
