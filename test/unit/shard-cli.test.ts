import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readShardPlanFile } from '../../src/shard/shard-plan-file.js';
import { UsageError } from '../../src/util/errors.js';
import { runCli, runCliBounded } from '../helpers/cli.js';
import { projectRoot, temporaryDir } from '../helpers/files.js';

const SUBSET = ['^cron$', '^memcached$', '^keystone$'];
const timings = join(projectRoot, 'test/fixtures/shard/library-run');

describe('ci-builder shard plan', () => {
  it('prints the shards as a CI matrix with --json, by image count when no run was recorded', async () => {
    const cwd = temporaryDir('ci-builder-shard-');
    const result = await runCli(['--json', 'shard', 'plan', '--shards', '3', ...SUBSET], { cwd });
    assert.equal(result.code, 0, result.stderr);
    const plan = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.deepEqual(plan.shards, [
      { shard: '1/3', images: ['base'], seconds: 1 },
      { shard: '2/3', images: ['cron', 'memcached'], seconds: 2 },
      { shard: '3/3', images: ['openstack-base', 'keystone'], seconds: 2 },
    ]);
    assert.equal(plan.distro, 'debian');
    assert.equal(plan.estimated_by, 'image count');
    assert.equal(plan.max_over_mean, 1.2);
  });

  it('weighs by the given runs, and by the runs under .ci-builder/runs of the distro by default', async () => {
    const cwd = temporaryDir('ci-builder-shard-');
    const args = ['--json', 'shard', 'plan', '--shards', '3', ...SUBSET];
    const given = await runCli([...args, '--durations-from', join(timings, 'summary.json')], { cwd });
    assert.equal(given.code, 0, given.stderr);
    const weighed = JSON.parse(given.stdout) as { estimated_by: string; shards: Array<{ images: string[] }> };
    assert.equal(weighed.estimated_by, 'durations');
    // openstack-base alone outweighs the rest but keystone: the cut follows the times, not the count.
    assert.deepEqual(
      weighed.shards.map((shard) => shard.images),
      [['base', 'cron', 'memcached'], ['openstack-base'], ['keystone']],
    );
    const runs = join(cwd, '.ci-builder/runs');
    mkdirSync(join(runs, 'earlier'), { recursive: true });
    copyFileSync(join(timings, 'summary.json'), join(runs, 'earlier/summary.json'));
    // A newer run of another distro, whose times say otherwise: not this distro's.
    const other = JSON.parse(readFileSync(join(timings, 'summary.json'), 'utf8')) as Record<string, unknown>;
    const images = { keystone: { status: 'built', build_seconds: 1000 } };
    mkdirSync(join(runs, 'pipeline/rocky/overcloud'), { recursive: true });
    const newer = { ...other, distro: 'rocky', started_at: '2030-01-01T00:00:00.000Z', images };
    writeFileSync(join(runs, 'pipeline/rocky/overcloud/summary.json'), JSON.stringify(newer));
    const found = await runCli(args, { cwd });
    assert.equal(found.code, 0, found.stderr);
    assert.deepEqual(JSON.parse(found.stdout), JSON.parse(given.stdout), 'the recorded debian run was found');
  });

  it('prints a table by default, and refuses what it cannot plan in one line', async () => {
    const table = await runCli(['shard', 'plan', '--shards', '2', '--durations-from', timings]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^shard +images +estimated seconds\n1\/2 +\d+ +[\d.]+ *\n2\/2 /m);
    assert.match(table.stdout, /max÷mean 1\.035 \(within the 1\.3× goal\)/);
    for (const [args, expected] of [
      [['--shards', '0'], /--shards.*at least 1/],
      [
        ['--shards', '2', '--durations-from', '/nonexistent'],
        /--durations-from \/nonexistent: no readable run summary/,
      ],
    ] as const) {
      const result = await runCli(['shard', 'plan', ...args]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, expected);
    }
  });
});

describe('build and pipeline --shard', () => {
  const registry = { CI_BUILDER_REGISTRY: '127.0.0.1:9' };
  const planFile = () => {
    const file = join(temporaryDir('ci-builder-shard-'), 'plan.json');
    const shards = [['base'], ['cron', 'memcached'], ['openstack-base', 'keystone']];
    writeFileSync(file, JSON.stringify({ shards: shards.map((images, i) => ({ shard: `${i + 1}/3`, images })) }));
    return file;
  };

  it('refuses each flag that does not fit with one line and exit 2, before any work', async () => {
    const plan = planFile();
    const damaged = join(temporaryDir('ci-builder-shard-'), 'damaged.json');
    writeFileSync(damaged, JSON.stringify({ shards: [{ shard: '2/2', images: ['base'] }] }));
    const cases: Array<[string[], RegExp, Record<string, string>?]> = [
      [['build', '--shard', '4/3'], /--shard.*expected k\/n with 1 <= k <= n/],
      [['build', '--shard', '0/3'], /expected k\/n/],
      [['build', '--shard', '1/3', '--tag', 't'], /--shard needs --push and a registry/],
      [
        ['build', '--shard', '1/3', '--push'],
        /--shard needs --tag: every shard of a run must build under the one tag/,
        registry,
      ],
      [['build', '--shard-plan', plan], /--shard-plan and --shard-wait go with --shard k\/n/],
      [['build', '--shard-wait', '5'], /--shard-plan and --shard-wait go with --shard k\/n/],
      [
        ['build', '--shard', '1/3', '--push', '--tag', 't', '--skip-parents'],
        /--skip-parents do not go together/,
        registry,
      ],
      [['build', '--shard', '2/4', '--push', '--tag', 't', '--shard-plan', plan], /has 3 shards/, registry],
      [
        ['build', '--shard', '1/3', '--push', '--tag', 't', '--shard-plan', '/nonexistent'],
        /--shard-plan \/nonexistent: cannot read the shard plan \(ENOENT\)/,
        registry,
      ],
      [
        ['build', '--shard', '1/1', '--push', '--tag', 't', '--shard-plan', damaged],
        /shards\.0\.shard: expected "1\/1"/,
        registry,
      ],
      [['build', '--shard', '1/3', '--push', '--tag', 't', '--shard-wait', '0'], /--shard-wait.*at least 1/, registry],
      [['pipeline', '--shard', '1/3', '--push', '--osv-db', plan], /--shard needs --timestamp/, registry],
    ];
    for (const [args, expected, env] of cases) {
      const cwd = temporaryDir('ci-builder-shard-');
      const result = await runCli(args, { cwd, ...(env ? { env } : {}) });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, expected, args.join(' '));
    }
  });

  it('documents the flags in --help', async () => {
    for (const command of ['build', 'pipeline']) {
      const help = await runCli([command, '--help']);
      assert.match(help.stdout, /--shard <k\/n> +build only shard k of n/);
      assert.match(help.stdout, /--shard-plan <file> +the output of shard plan --json/);
      assert.match(help.stdout, /--shard-wait <seconds>/);
    }
  });
});

describe('shard inputs someone else made', () => {
  const refused = (result: { code: number | null; stderr: string }, pattern: RegExp) => {
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, pattern);
    assert.equal(result.stderr.split('\n').length, 2, `one line: ${result.stderr}`);
  };

  it('refuses a FIFO as --durations-from at once, and names the key of a value of the wrong type', async () => {
    const cwd = temporaryDir('ci-builder-shard-');
    execFileSync('mkfifo', [join(cwd, 'summary.json')]);
    const plan = (from: string) =>
      runCliBounded(['shard', 'plan', '--shards', '2', '--durations-from', from], { cwd }, 20_000);
    refused(await plan(cwd), /summary\.json: run summary is a FIFO, not a regular file\n$/);
    const recorded = JSON.parse(readFileSync(join(timings, 'summary.json'), 'utf8')) as {
      images: Record<string, object>;
    };
    recorded.images.base = { ...recorded.images.base, build_seconds: 'fast' };
    writeFileSync(join(cwd, 'fast.json'), JSON.stringify(recorded));
    refused(
      await plan(join(cwd, 'fast.json')),
      /fast\.json is not a run summary: images\.base\.build_seconds: .*expected number/,
    );
    writeFileSync(join(cwd, 'shadow.json'), 'root:SECRET:20228:0:99999:7:::\n');
    const shadow = await plan(join(cwd, 'shadow.json'));
    refused(shadow, /shadow\.json: line 1, column 1: not a valid JSON run summary\n$/);
    assert.doesNotMatch(shadow.stderr, /SECRET/);
  });

  it('refuses a FIFO or a non-JSON --shard-plan in one line, without its content', () => {
    const dir = temporaryDir('ci-builder-shard-');
    execFileSync('mkfifo', [join(dir, 'plan.json')]);
    const oneLine = (pattern: RegExp) => (error: unknown) =>
      error instanceof UsageError && pattern.test(error.message) && !/\n|SECRET/.test(error.message);
    assert.throws(
      () => readShardPlanFile(join(dir, 'plan.json')),
      oneLine(/^--shard-plan .*plan\.json: shard plan is a FIFO/),
    );
    writeFileSync(join(dir, 'secret.json'), '{"shards": SECRET}');
    assert.throws(
      () => readShardPlanFile(join(dir, 'secret.json')),
      oneLine(/secret\.json: line 1, column 12: not a valid JSON shard plan/),
    );
  });
});
