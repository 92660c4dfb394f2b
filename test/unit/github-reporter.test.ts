import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chooseProgressReporter } from '../../src/report/choose.js';
import type { RunEventInput } from '../../src/report/events.js';
import { GitHubReporter } from '../../src/report/github.js';
import { LiveReporter } from '../../src/report/live.js';
import { JsonLinesReporter, PlainReporter } from '../../src/report/plain.js';
import { annotation, escapeCommandData, escapeCommandProperty } from '../../src/report/workflow-commands.js';
import { runCli } from '../helpers/cli.js';
import { temporaryDir } from '../helpers/files.js';
import {
  engineWithBase,
  planOf,
  plannedImage,
  runPlan,
  testReference as reference,
  testSettings,
} from '../helpers/run-harness.js';
import { capture } from '../helpers/capture.js';

/** Feeds events as the bus would, stamped, and closes the reporter. */
async function feed(reporter: GitHubReporter, inputs: RunEventInput[]): Promise<void> {
  for (const input of inputs) reporter.handle({ at: '2026-01-02T03:04:05.000Z', ...input });
  await reporter.close();
}

/** The lines of each `::group::NAME` … `::endgroup::`, by name; fails on a group opened twice or left open. */
function groups(text: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  let open: string[] | undefined;
  for (const line of text.split('\n')) {
    const start = /^::group::(.*)$/.exec(line);
    if (start) {
      assert.equal(open, undefined, `group ${start[1]} opened inside another`);
      assert.ok(!found.has(start[1] ?? ''), `one group for ${start[1]}`);
      open = [];
      found.set(start[1] ?? '', open);
    } else if (line === '::endgroup::') {
      assert.ok(open, 'endgroup closes a group');
      open = undefined;
    } else open?.push(line);
  }
  assert.equal(open, undefined, 'every group is closed');
  return found;
}

/** A group's lines inside its `::stop-commands::TOKEN` … `::TOKEN::` pair. */
function guarded(lines: string[]): string[] {
  const token = /^::stop-commands::([0-9a-f]{16,})$/.exec(lines[0] ?? '')?.[1];
  assert.ok(token, `the group starts by stopping commands: ${lines[0]}`);
  assert.equal(lines.at(-1), `::${token}::`, 'and resumes them at its end');
  assert.equal(lines.filter((line) => line.includes(token)).length, 2, 'the token appears nowhere else');
  return lines.slice(1, -1);
}

const counts = (critical: number, high: number) => ({ UNKNOWN: 0, LOW: 2, MEDIUM: 1, HIGH: high, CRITICAL: critical });

describe('workflow command escaping', () => {
  it('encodes % CR LF in a message, and : , as well in a property', () => {
    assert.equal(escapeCommandData('100% a:b,c\r\nd'), '100%25 a:b,c%0D%0Ad');
    assert.equal(escapeCommandProperty('100% a:b,c\r\nd'), '100%25 a%3Ab%2Cc%0D%0Ad');
    assert.equal(annotation('error', 'x: y, z', 'one\n::two'), '::error title=x%3A y%2C z::one%0A::two');
  });
});

describe('the GitHub Actions reporter', () => {
  it('prints each image log as one group when it finishes, even when builds interleave', async () => {
    const { out, text } = capture();
    await feed(new GitHubReporter(out), [
      {
        type: 'run',
        reason: 'started',
        tag: 't1',
        distro: 'debian',
        engine: 'buildah',
        runDir: '/runs/t1',
        images: [],
      },
      { type: 'image', reason: 'started', name: 'cron', attempt: 1 },
      { type: 'image', reason: 'started', name: 'memcached', attempt: 1 },
      { type: 'image', reason: 'log', name: 'cron', line: 'cron 1' },
      { type: 'image', reason: 'log', name: 'memcached', line: 'memcached 1' },
      { type: 'image', reason: 'log', name: 'cron', line: 'cron 2' },
      { type: 'image', reason: 'built', name: 'memcached', imageId: 'sha256:m', seconds: 2 },
      { type: 'image', reason: 'log', name: 'cron', line: 'cron 3' },
      { type: 'image', reason: 'built', name: 'cron', imageId: 'sha256:c', seconds: 3 },
    ]);
    const found = groups(text());
    assert.deepEqual([...found.keys()], ['memcached', 'cron'], 'in the order the images finished');
    assert.deepEqual(guarded(found.get('cron') ?? []), ['cron 1', 'cron 2', 'cron 3']);
    assert.deepEqual(guarded(found.get('memcached') ?? []), ['memcached 1']);
    const outside = text().split('::endgroup::').at(-1) ?? '';
    assert.match(outside, /^03:04:05 cron: built \(3\.0s\)$/m, 'the plain line follows its group');
  });

  it('keeps the last lines of a long log, says how many were dropped and where the whole log is', async () => {
    const { out, text } = capture();
    const lines = Array.from({ length: 10 }, (_, index): RunEventInput => {
      return { type: 'image', reason: 'log', name: 'heat-api', line: `line ${index + 1}` };
    });
    await feed(new GitHubReporter(out, { maxLinesPerImage: 3 }), [
      {
        type: 'run',
        reason: 'started',
        tag: 't1',
        distro: 'debian',
        engine: 'buildah',
        runDir: '/runs/t1',
        images: [],
      },
      { type: 'image', reason: 'started', name: 'heat-api', attempt: 1 },
      ...lines,
      { type: 'image', reason: 'failed', name: 'heat-api', status: 'error', message: 'RUN false', attempts: 1 },
    ]);
    assert.deepEqual(guarded(groups(text()).get('heat-api') ?? []), [
      '[7 earlier line(s) dropped; the whole log is in /runs/t1/logs/heat-api.log]',
      'line 8',
      'line 9',
      'line 10',
    ]);
  });

  it('keeps workflow commands printed by a build from reaching the runner', async () => {
    const { out, text } = capture();
    await feed(new GitHubReporter(out), [
      { type: 'image', reason: 'started', name: 'cron', attempt: 1 },
      { type: 'image', reason: 'log', name: 'cron', line: '::add-mask::nothing' },
      { type: 'image', reason: 'log', name: 'cron', line: '  ::error::not from ci-builder' },
      {
        type: 'image',
        reason: 'failed',
        name: 'cron',
        status: 'error',
        message: 'line one\n::warning::two',
        attempts: 1,
      },
    ]);
    assert.deepEqual(guarded(groups(text()).get('cron') ?? []), [
      '::add-mask::nothing',
      '  ::error::not from ci-builder',
    ]);
    const outside = text().split('::endgroup::\n')[1] ?? '';
    const commands = outside.split('\n').filter((line) => line.trimStart().startsWith('::'));
    assert.deepEqual(commands, ['::error title=cron%3A build failed (error)::line one%0A::warning::two']);
    assert.match(outside, /^ {2}\| ::warning::two$/m, 'the plain line continues in a margin');
  });

  it('annotates failed builds, failed pushes and critical images, not their consequences', async () => {
    const { out, text } = capture();
    const reference = 'registry.test:5000/ns/nova-api:t1';
    const scan = { allowed: 0, seconds: 1 };
    await feed(new GitHubReporter(out), [
      { type: 'base-image', reason: 'failed', reference: 'localhost/b:1', status: 'error', message: 'mmdebstrap 1' },
      { type: 'image', reason: 'failed', name: 'base', status: 'parent_error', message: 'base image', attempts: 0 },
      { type: 'image', reason: 'failed', name: 'cron', status: 'interrupted', message: 'stopped', attempts: 1 },
      {
        type: 'push',
        reason: 'failed',
        name: 'keystone',
        reference,
        status: 'push_error',
        message: '500, then 500',
        attempts: 5,
      },
      {
        type: 'scan',
        reason: 'scanned',
        name: 'nova-api',
        reference,
        verdict: 'critical',
        counts: counts(2, 5),
        ...scan,
      },
      {
        type: 'scan',
        reason: 'scanned',
        name: 'glance-api',
        reference,
        verdict: 'dirty',
        counts: counts(0, 4),
        ...scan,
      },
    ]);
    const annotations = text()
      .split('\n')
      .filter((line) => line.startsWith('::error'));
    assert.deepEqual(annotations, [
      '::error title=base image localhost/b%3A1%3A error::mmdebstrap 1',
      `::error title=keystone%3A push failed (push_error)::${reference}: 500, then 500`,
      `::error title=nova-api%3A critical vulnerabilities::${reference}: 2 critical, 5 high finding(s)`,
    ]);
  });

  it('appends one table row per image to the job summary: status, verdict, push, time', async () => {
    const summaryFile = join(temporaryDir('ci-builder-gh-'), 'summary.md');
    writeFileSync(summaryFile, '# earlier step\n\n');
    const { out } = capture();
    const reference = (name: string) => `r/${name}:t1`;
    const queued = (name: string): RunEventInput => {
      return { type: 'image', reason: 'queued', name, reference: reference(name), inputDigest: 'd', parent: null };
    };
    await feed(new GitHubReporter(out, { summaryFile }), [
      { type: 'run', reason: 'started', tag: 't1', distro: 'debian', engine: 'buildah', runDir: '/r', images: [] },
      ...['base', 'cron', 'nova-api', 'keystone', 'heat-api'].map(queued),
      { type: 'image', reason: 'built', name: 'base', imageId: 'i', seconds: 30 },
      {
        type: 'scan',
        reason: 'scanned',
        name: 'base',
        reference: 'r',
        verdict: 'clean',
        counts: counts(0, 0),
        allowed: 0,
        seconds: 4.5,
      },
      { type: 'push', reason: 'pushed', name: 'base', reference: 'r', seconds: 10, attempts: 2 },
      { type: 'image', reason: 'reused', name: 'cron', imageId: 'i', seconds: 0.5 },
      { type: 'scan', reason: 'failed', name: 'cron', reference: 'r', message: 'no database' },
      { type: 'image', reason: 'built', name: 'nova-api', imageId: 'i', seconds: 100 },
      {
        type: 'scan',
        reason: 'scanned',
        name: 'nova-api',
        reference: 'r',
        verdict: 'critical',
        counts: counts(1, 2),
        allowed: 3,
        seconds: 5,
      },
      { type: 'push', reason: 'held', name: 'nova-api', reference: 'r', verdict: 'critical' },
      { type: 'image', reason: 'built', name: 'keystone', imageId: 'i', seconds: 1 },
      {
        type: 'push',
        reason: 'failed',
        name: 'keystone',
        reference: 'r',
        status: 'push_error',
        message: 'x',
        attempts: 5,
      },
      { type: 'image', reason: 'failed', name: 'heat-api', status: 'parent_error', message: 'parent', attempts: 0 },
      { type: 'run', reason: 'finished', interrupted: false },
    ]);
    assert.equal(
      readFileSync(summaryFile, 'utf8'),
      [
        '# earlier step',
        '',
        '### ci-builder run `t1` (debian)',
        '',
        '5 image(s): 3 built, 1 pushed, 1 reused, 1 held, 1 push failed, 1 not built',
        '',
        '| image | status | verdict | push | time |',
        '| --- | --- | --- | --- | ---: |',
        '| base | built | clean: 1 medium, 2 low | pushed (2 attempts) | 44.5 s |',
        '| cron | reused | scan failed | — | 0.5 s |',
        '| nova-api | built | critical: 1 critical, 2 high, 1 medium, 2 low, 3 allowed | held (critical) ' +
          '| 1 min 45 s |',
        '| keystone | built | — | failed (push_error) after 5 attempt(s) | 1.0 s |',
        '| heat-api | not built (parent_error) | — | — | — |',
        '',
        '',
      ].join('\n'),
    );
  });

  it('says so in the log, and still succeeds, when the summary cannot be written', async () => {
    const { out, text } = capture();
    const summaryFile = join(temporaryDir('ci-builder-gh-'), 'missing-folder', 'summary.md');
    await feed(new GitHubReporter(out, { summaryFile }), [{ type: 'image', reason: 'started', name: 'a', attempt: 1 }]);
    assert.match(text(), /^warning: cannot append the job summary to .*missing-folder\/summary\.md: ENOENT/m);
    assert.deepEqual(guarded(groups(text()).get('a') ?? []), [], 'an image that never finished still has its group');
  });

  it('runs a real build run over the fake engine: groups, annotations and the summary agree', async () => {
    const root = temporaryDir('ci-builder-gh-run-');
    const summaryFile = join(root, 'summary.md');
    const images = [
      plannedImage('base', null),
      plannedImage('cron', 'base'),
      plannedImage('openstack-base', 'base'),
      plannedImage('keystone', 'openstack-base'),
    ];
    const engine = engineWithBase({
      failBuild: new Map([[reference('openstack-base'), 'build']]),
      pushFailures: new Map([[reference('cron'), 10]]),
    });
    const { out, text } = capture();
    mkdirSync(join(root, 'run'));
    const result = await runPlan(planOf(images), testSettings(engine, { push: true }), {
      runDir: join(root, 'run'),
      push: { threads: 2, attempts: 2, backoffMs: 1, insecure: true },
      reporters: [new GitHubReporter(out, { summaryFile })],
    });
    assert.equal(result.exitCode, 1);
    const found = groups(text());
    assert.deepEqual([...found.keys()].sort(), ['base', 'cron', 'openstack-base']);
    assert.deepEqual(guarded(found.get('openstack-base') ?? []), ['RUN false']);
    const annotations = text()
      .split('\n')
      .filter((line) => line.startsWith('::error'))
      .sort();
    const [cron, openstackBase] = [reference('cron'), reference('openstack-base')];
    assert.deepEqual(annotations, [
      `::error title=cron%3A push failed (push_error)::${cron}: fake registry refused ${cron}: 500`,
      `::error title=openstack-base%3A build failed (error)::fake build of ${openstackBase} exited with 1: RUN false`,
    ]);
    const rows = readFileSync(summaryFile, 'utf8')
      .split('\n')
      .filter((line) => /^\| [a-z]/.test(line) && !line.startsWith('| image'))
      .map((line) => line.split(' | ').slice(0, 4).join(' | '));
    assert.deepEqual(rows, [
      '| base | built | — | pushed',
      '| cron | built | — | failed (push_error) after 2 attempt(s)',
      '| openstack-base | failed (error) | — | —',
      '| keystone | not built (parent_error) | — | —',
    ]);
  });
});

describe('choosing the progress reporter', () => {
  it('takes the GitHub one in GitHub Actions, unless JSON lines are asked for', () => {
    assert.ok(chooseProgressReporter({}, { GITHUB_ACTIONS: 'true' }) instanceof GitHubReporter);
    assert.ok(chooseProgressReporter({ quiet: true }, { GITHUB_ACTIONS: 'true' }) instanceof GitHubReporter);
    assert.ok(chooseProgressReporter({ json: true }, { GITHUB_ACTIONS: 'true' }) instanceof JsonLinesReporter);
    const elsewhere = chooseProgressReporter({}, { GITHUB_ACTIONS: 'false', CI: 'true' });
    assert.ok(elsewhere instanceof PlainReporter && !(elsewhere instanceof LiveReporter));
  });

  it('is what `build` uses: a run whose base image cannot be made annotates it and fills the summary', async () => {
    const root = temporaryDir('ci-builder-gh-cli-');
    const summaryFile = join(root, 'summary.md');
    const result = await runCli(['build', 'memcached', '--engine', 'docker', '--run-dir', join(root, 'run')], {
      env: {
        GITHUB_ACTIONS: 'true',
        GITHUB_STEP_SUMMARY: summaryFile,
        // No daemon listens there: the engine fails at once, as it would on a runner without one.
        DOCKER_HOST: `unix://${join(root, 'no-daemon.sock')}`,
        CI_BUILDER_CACHE_DIR: join(root, 'cache'),
      },
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^::error title=base image localhost\/ci-builder\/bootstrap-debian%3A.*::docker /m);
    const table = readFileSync(summaryFile, 'utf8');
    assert.match(table, /^### ci-builder run `zed-debian-bookworm-\d{8}T\d{6}` \(debian\)$/m);
    assert.match(table, /^Base image failed: localhost\/ci-builder\/bootstrap-debian:\S+ \(connection_error\)$/m);
    assert.match(table, /^\| memcached \| not built \(parent_error\) \| — \| — \| — \|$/m);
  });
});
