/**
 * The test run behind `npm test` and `npm run test:unit`: test files one at a time with the spec
 * reporter, then how long each took. Without file arguments it runs every unit file, then every
 * integration file; with `--checks`, `npm run typecheck` and `npm run lint` run beside the unit files
 * (two cores: the checks keep one busy, the unit files the other) and must pass too.
 *
 * One key for the whole run, CI_BUILDER_TEST_RUN (kept when already set), lets the integration files
 * share one cold build per engine (test/helpers/build-workspace.ts) instead of one per file.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { run } from 'node:test';
import { spec, type TestEvent } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';
import { fileTimeOf, formatDurations, type FileTime } from './reporters/file-durations.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const inFolder = (folder: string) =>
  readdirSync(join(root, folder))
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => relative(process.cwd(), join(root, folder, name)));

const args = process.argv.slice(2);
const withChecks = args.includes('--checks');
const given = args.filter((arg) => arg !== '--checks');
process.env.CI_BUILDER_TEST_RUN ??= `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;

/**
 * A file whose process never ends (a server a failed hook left running) fails after this, instead of
 * holding up the rest of the run for good; the slowest file takes minutes, its own timeouts less than this.
 */
const FILE_TIMEOUT_MS = 90 * 60_000;

const durations: FileTime[] = [];
/** Any failed test or check makes the run fail, whatever ran after it. */
const outcome = { failed: false };

/** Runs test files one at a time, reporting as they go; resolves when the reporter is done. */
function runFiles(files: string[]): Promise<void> {
  async function* watched(events: AsyncIterable<TestEvent>): AsyncGenerator<TestEvent> {
    for await (const event of events) {
      if (event.type === 'test:fail') outcome.failed = true;
      const time = fileTimeOf(event);
      if (time) durations.push(time);
      yield event;
    }
  }
  const reporter = new spec();
  Readable.from(watched(run({ files, concurrency: 1, timeout: FILE_TIMEOUT_MS }))).pipe(reporter);
  reporter.on('data', (chunk: string | Buffer) => process.stdout.write(chunk));
  return new Promise((resolve) => reporter.on('end', resolve));
}

/** `npm run <script>`, its output kept and printed whole once it ends, so it does not cut into the tests'. */
function npmScript(script: string): Promise<void> {
  const started = Date.now();
  const child = spawn('npm', ['run', '--silent', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => {
    child.on('close', (code) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const verdict = code === 0 ? 'passed' : `FAILED (exit ${code ?? 'signal'})`;
      process.stdout.write(`\nnpm run ${script}: ${verdict} in ${seconds} s\n${output}`);
      if (code !== 0) outcome.failed = true;
      resolve();
    });
  });
}

async function checks(): Promise<void> {
  await npmScript('typecheck');
  await npmScript('lint');
}

if (given.length > 0) await Promise.all([runFiles(given), withChecks ? checks() : undefined]);
else {
  await Promise.all([runFiles(inFolder('test/unit')), withChecks ? checks() : undefined]);
  await runFiles(inFolder('test/integration'));
}
process.stdout.write(`\n${formatDurations(durations)}`);
process.exitCode = outcome.failed ? 1 : 0;
