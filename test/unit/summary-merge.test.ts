import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SummaryCollector, type RunSummary } from '../../src/report/summary.js';
import { mergeShardSummaries } from '../../src/shard/merge-summaries.js';
import { runCli, runCliBounded, type CliResult } from '../helpers/cli.js';
import { temporaryDir } from '../helpers/files.js';

type Outcome = 'built' | 'reused' | 'pulled' | 'failed' | 'push-failed';

/** A shard's summary as the events of a real shard run leave it. */
function shardSummary(shard: string, images: Array<[string, string | null, Outcome]>, tag = 't1'): RunSummary {
  const collector = new SummaryCollector();
  collector.summary.shard = shard;
  let second = 0;
  const emit = (event: Record<string, unknown>) =>
    collector.handle({ at: new Date(Date.UTC(2026, 0, 1, 0, 0, second++)).toISOString(), ...event } as never);
  const names = images.map(([name]) => name);
  emit({ type: 'run', reason: 'started', tag, distro: 'debian', engine: 'buildah', runDir: '/r', images: names });
  emit({ type: 'image', reason: 'not-matched', name: 'horizon' });
  for (const [name, parent] of images) {
    const reference = `127.0.0.1:5000/ns/${name}:${tag}`;
    emit({ type: 'image', reason: 'queued', name, reference, inputDigest: `sha256:${name}`, parent });
  }
  for (const [name, , outcome] of images) {
    const reference = `127.0.0.1:5000/ns/${name}:${tag}`;
    switch (outcome) {
      case 'pulled':
        emit({ type: 'image', reason: 'skipped', name, because: 'built by shard 1/3' });
        break;
      case 'failed':
        emit({ type: 'image', reason: 'failed', name, status: 'error', message: 'RUN false', attempts: 1 });
        break;
      case 'built':
      case 'reused':
      case 'push-failed':
        emit({ type: 'image', reason: outcome === 'reused' ? 'reused' : 'built', name, imageId: 'i', seconds: 3 });
        emit({ type: 'push', reason: 'started', name, reference, attempt: 1 });
        if (outcome === 'push-failed') {
          const failure = { status: 'push_error', message: 'denied', attempts: 1 };
          emit({ type: 'push', reason: 'failed', name, reference, ...failure });
        } else emit({ type: 'push', reason: 'pushed', name, reference, seconds: 1, attempts: 1 });
        break;
    }
  }
  emit({ type: 'run', reason: 'finished', interrupted: false });
  return collector.summary;
}

const names = (entries: Array<{ name: string }>) => entries.map((entry) => entry.name).sort();

const threeShards = () => [
  { runDir: '/s1', summary: shardSummary('1/3', [['base', null, 'built']]) },
  {
    runDir: '/s2',
    summary: shardSummary('2/3', [
      ['base', null, 'pulled'],
      ['cron', 'base', 'built'],
      ['memcached', 'base', 'reused'],
    ]),
  },
  {
    runDir: '/s3',
    summary: shardSummary('3/3', [
      ['base', null, 'pulled'],
      ['openstack-base', 'base', 'built'],
      ['keystone', 'openstack-base', 'failed'],
      ['glance', 'openstack-base', 'push-failed'],
    ]),
  },
];

describe('merging the summaries of a run split into shards', () => {
  it('counts each image once: a parent built by one shard and pulled by others is built', () => {
    const merged = mergeShardSummaries(threeShards());
    assert.ok(merged.ok);
    const { summary } = merged;
    assert.deepEqual(names(summary.built), ['base', 'cron', 'openstack-base']);
    assert.deepEqual(names(summary.reused), ['memcached']);
    assert.deepEqual(names(summary.failed), ['glance', 'keystone'], 'a failed push fails the image, as kolla-build');
    assert.deepEqual(summary.skipped, [], 'no "built by shard" left: the owner built it');
    assert.deepEqual(names(summary.pushed), ['base', 'cron', 'memcached', 'openstack-base']);
    assert.deepEqual(names(summary.push_failed), ['glance']);
    assert.deepEqual(summary.not_matched, [{ name: 'horizon' }], 'the same selection in every shard: once');
    assert.equal(summary.images.base?.status, 'built');
    assert.equal(merged.ownerOf.get('base'), 0, "base's record and log come from shard 1");
    assert.equal(merged.ownerOf.get('keystone'), 2);
    assert.deepEqual(Object.keys(summary.images).sort(), [
      'base',
      'cron',
      'glance',
      'keystone',
      'memcached',
      'openstack-base',
    ]);
    assert.equal(summary.started_at, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(Object.keys(summary).slice(0, 5), ['built', 'failed', 'not_matched', 'skipped', 'unbuildable']);
  });

  it('takes the record of the shard that did the work, in whatever order the shards are given', () => {
    const reversed = mergeShardSummaries([...threeShards()].reverse());
    assert.ok(reversed.ok);
    assert.equal(reversed.summary.images.base?.status, 'built');
    assert.equal(reversed.ownerOf.get('base'), 2, 'the last folder given, shard 1');
    assert.deepEqual(names(reversed.summary.built), ['base', 'cron', 'openstack-base']);
  });

  it('keeps a hand-over whose owner never built the parent (its shard failed or did not run)', () => {
    const [, second] = threeShards();
    assert.ok(second);
    const merged = mergeShardSummaries([second]);
    assert.ok(merged.ok);
    assert.deepEqual(merged.summary.skipped, [{ name: 'base', reason: 'built by shard 1/3' }]);
  });

  it('refuses shards of different tags or distros', () => {
    const [first] = threeShards();
    assert.ok(first);
    const other = { runDir: '/other', summary: shardSummary('2/3', [['cron', null, 'built']], 't2') };
    assert.deepEqual(mergeShardSummaries([first, other]), { ok: false, reason: '/other has tag t2, /s1 t1' });
    const rocky = { runDir: '/rocky', summary: { ...first.summary, distro: 'rocky' } };
    assert.deepEqual(mergeShardSummaries([first, rocky]), { ok: false, reason: '/rocky is for rocky, /s1 for debian' });
  });
});

describe('ci-builder summary merge', () => {
  const writeShards = () => {
    const dir = temporaryDir('ci-builder-merge-');
    const dirs = threeShards().map(({ summary }, index) => {
      const runDir = join(dir, `shard-${index + 1}`);
      mkdirSync(join(runDir, 'logs'), { recursive: true });
      writeFileSync(join(runDir, 'summary.json'), JSON.stringify(summary));
      mkdirSync(join(runDir, 'scan'));
      for (const name of Object.keys(summary.images)) {
        writeFileSync(join(runDir, 'logs', `${name}.log`), `${name} in shard ${index + 1}\n`);
        writeFileSync(join(runDir, 'scan', `${name}.cdx.json`), `{"shard": ${index + 1}}`);
      }
      return runDir;
    });
    return { dir, dirs };
  };

  it('writes one summary.json, report.html and the logs of the shards that did the work', async () => {
    const { dir, dirs } = writeShards();
    const out = join(dir, 'merged');
    const result = await runCli(['summary', 'merge', ...dirs, '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^merged 3 shard\(s\) of t1: 3 built, 1 reused, 2 failed, 0 skipped, 4 pushed;/);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary & {
      merged_from: unknown;
    };
    assert.deepEqual(names(summary.built), ['base', 'cron', 'openstack-base']);
    assert.deepEqual(summary.merged_from, [
      { shard: '1/3', run_dir: dirs[0] },
      { shard: '2/3', run_dir: dirs[1] },
      { shard: '3/3', run_dir: dirs[2] },
    ]);
    assert.equal(readFileSync(join(out, 'logs', 'base.log'), 'utf8'), 'base in shard 1\n', "from base's own shard");
    assert.equal(readFileSync(join(out, 'logs', 'keystone.log'), 'utf8'), 'keystone in shard 3\n');
    assert.equal(readFileSync(join(out, 'scan', 'base.cdx.json'), 'utf8'), '{"shard": 1}', 'scan reports too');
    const report = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(report, /href="logs\/keystone\.log"/);
    assert.match(report, /base in shard 1/);
  });

  it('refuses, in one line and exit 2, a folder without summary, a damaged one, and shards of two runs', async () => {
    const { dir, dirs } = writeShards();
    const out = join(dir, 'merged');
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const refused = async (args: string[], expected: RegExp) => {
      const result = await runCli(['summary', 'merge', ...args, '--out', out]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, expected);
      assert.equal(result.stderr.split('\n').length, 2, 'one line');
    };
    const prefix = '^ci-builder: error: summary merge: ';
    await refused([...dirs, empty], new RegExp(`${prefix}${empty} has no summary\\.json\\n$`));
    writeFileSync(join(dirs[1] ?? '', 'summary.json'), '{"built": [');
    await refused(
      dirs,
      new RegExp(`${prefix}.*shard-2/summary\\.json: line 1, column 12: not a valid JSON run summary\\n$`),
    );
    writeFileSync(join(dirs[1] ?? '', 'summary.json'), JSON.stringify({ built: 'all' }));
    await refused(dirs, new RegExp(`${prefix}.*shard-2/summary\\.json is damaged: built: `));
    const other = join(dir, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'summary.json'), JSON.stringify(shardSummary('2/3', [['cron', null, 'built']], 't2')));
    await refused([dirs[0] ?? '', other], new RegExp(`${prefix}shards of different runs: .*other has tag t2`));
    assert.equal(existsSync(out), false, 'nothing written');
  });
});

describe('summary merge of shards someone else made', () => {
  const writeShards = (tag = 't1') => {
    const dir = temporaryDir('ci-builder-merge-');
    const dirs = threeShards().map(({ summary }, index) => {
      const runDir = join(dir, `shard-${index + 1}`);
      mkdirSync(join(runDir, 'logs'), { recursive: true });
      mkdirSync(join(runDir, 'scan'));
      writeFileSync(join(runDir, 'summary.json'), JSON.stringify({ ...summary, tag }));
      for (const name of Object.keys(summary.images)) {
        writeFileSync(join(runDir, 'logs', `${name}.log`), `${name} in shard ${index + 1}\n`);
        writeFileSync(join(runDir, 'scan', `${name}.cdx.json`), `{"shard": ${index + 1}}`);
      }
      return runDir;
    });
    return { dir, dirs, shard: (index: number) => dirs[index] ?? '' };
  };
  const editSummary = (runDir: string, edit: (summary: Record<string, unknown>) => void) => {
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as Record<string, unknown>;
    edit(summary);
    writeFileSync(join(runDir, 'summary.json'), JSON.stringify(summary));
  };
  /** The merge as a user runs it, stopped (and failed) if it hangs. */
  const merge = async (args: string[], cwd?: string): Promise<CliResult> => {
    const result = await runCliBounded(['summary', 'merge', ...args], cwd === undefined ? {} : { cwd });
    assert.notEqual(result.code, null, 'the merge hung and was killed');
    return result;
  };

  it('copies no symbolic link from a shard: each is passed over with one warning line naming it', async () => {
    const { dir, dirs, shard } = writeShards();
    const secrets = join(dir, 'host');
    mkdirSync(secrets);
    writeFileSync(join(secrets, 'shadow'), 'root:SECRET-HASH:20228:0:99999:7:::\n');
    writeFileSync(join(secrets, 'config.json'), '{"auths": {"r": {"auth": "SECRET-AUTH"}}}');
    // base's log and SBOM come from shard 1, glance's log from shard 3 (whose logs/ is a link).
    rmSync(join(shard(0), 'logs', 'base.log'));
    symlinkSync(join(secrets, 'shadow'), join(shard(0), 'logs', 'base.log'));
    rmSync(join(shard(0), 'scan', 'base.cdx.json'));
    symlinkSync(join(secrets, 'config.json'), join(shard(0), 'scan', 'base.cdx.json'));
    const elsewhere = join(dir, 'elsewhere');
    renameSync(join(shard(2), 'logs'), elsewhere);
    writeFileSync(join(elsewhere, 'glance.log'), 'SECRET-ELSEWHERE\n');
    symlinkSync(elsewhere, join(shard(2), 'logs'));
    const out = join(dir, 'merged');

    const result = await merge([...dirs, '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    const warnings = result.stderr.split('\n').filter((line) => line.startsWith('warning: '));
    assert.deepEqual(warnings, [
      `warning: summary merge: ${join(shard(2), 'logs')} is a symbolic link, not followed`,
      `warning: summary merge: ${join(shard(0), 'logs', 'base.log')}: build log is a symbolic link, not followed; not copied`,
      `warning: summary merge: ${join(shard(0), 'scan', 'base.cdx.json')}: SBOM is a symbolic link, not followed; not copied`,
    ]);
    const base = readFileSync(join(out, 'logs', 'base.log'), 'utf8');
    assert.equal(base, 'base in shard 2\n', "the owner's link passed over, the log of a shard that pulled base");
    assert.equal(existsSync(join(out, 'logs', 'glance.log')), false);
    assert.equal(existsSync(join(out, 'scan', 'base.cdx.json')), false);
    assert.equal(readFileSync(join(out, 'logs', 'cron.log'), 'utf8'), 'cron in shard 2\n', 'the rest is merged');
    for (const file of [
      'summary.json',
      'report.html',
      ...readdirSync(join(out, 'logs')).map((name) => `logs/${name}`),
    ]) {
      assert.doesNotMatch(readFileSync(join(out, file), 'utf8'), /SECRET/, file);
    }
  });

  it('passes over a FIFO, a folder or a device in logs/ instead of hanging on it', async () => {
    const { dir, dirs, shard } = writeShards();
    rmSync(join(shard(1), 'logs', 'cron.log'));
    execFileSync('mkfifo', [join(shard(1), 'logs', 'cron.log')]);
    execFileSync('mkfifo', [join(shard(1), 'logs', 'extra.log')]);
    mkdirSync(join(shard(1), 'logs', 'folder.log'));
    const out = join(dir, 'merged');
    const result = await merge([...dirs, '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    const warnings = result.stderr.split('\n').filter((line) => line.startsWith('warning: '));
    assert.deepEqual(warnings, [
      `warning: summary merge: ${join(shard(1), 'logs', 'cron.log')}: build log is a FIFO, not a regular file; not copied`,
      `warning: summary merge: ${join(shard(1), 'logs', 'extra.log')}: build log is a FIFO, not a regular file; not copied`,
      `warning: summary merge: ${join(shard(1), 'logs', 'folder.log')}: build log is a folder, not a regular file; not copied`,
    ]);
    assert.equal(existsSync(join(out, 'logs', 'cron.log')), false);
    assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /memcached in shard 2/);
  });

  it('refuses an image name or a tag that would write outside the merged folder, naming the file and the key', async () => {
    const { dir, dirs, shard } = writeShards();
    const out = join(dir, 'merged');
    const one = async (args: string[], expected: RegExp, cwd?: string) => {
      const result = await merge(args, cwd);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, expected);
      assert.equal(result.stderr.split('\n').length, 2, 'one line');
    };
    writeFileSync(join(dir, 'escape.log'), 'not to be overwritten\n');
    editSummary(shard(0), (summary) => {
      const images = summary.images as Record<string, unknown>;
      images['../../escape'] = images.base;
    });
    const file = join(shard(0), 'summary.json');
    await one(
      [...dirs, '--out', out],
      new RegExp(
        `^ci-builder: error: summary merge: ${file} is damaged: images\\["\\.\\./\\.\\./escape"\\]: not an image name`,
      ),
    );
    editSummary(shard(0), (summary) => {
      delete (summary.images as Record<string, unknown>)['../../escape'];
      summary.scanned = [
        {
          name: '../x',
          reference: 'r',
          verdict: 'clean',
          counts: { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 0 },
          allowed: 0,
          seconds: 1,
        },
      ];
    });
    await one([...dirs, '--out', out], /is damaged: scanned\.0\.name: not an image name/);
    assert.equal(existsSync(out), false, 'nothing written');
    assert.equal(readFileSync(join(dir, 'escape.log'), 'utf8'), 'not to be overwritten\n');

    // Without --out the merged folder is named after the tag.
    const evil = writeShards('../../../../../../../../../tmp/ci-builder-merge-escape');
    const evilFirst = join(evil.shard(0), 'summary.json');
    await one(evil.dirs, new RegExp(`${evilFirst} is damaged: tag: not an image tag`), evil.dir);
    assert.equal(existsSync('/tmp/ci-builder-merge-escape-merged'), false);
    assert.equal(existsSync(join(evil.dir, '.ci-builder')), false);
  });

  it('refuses values of the wrong type the report reads, and a damaged scan report, before writing anything', async () => {
    const { dir, dirs, shard } = writeShards();
    const out = join(dir, 'merged');
    const refusedWith = async (expected: RegExp) => {
      const result = await merge([...dirs, '--out', out]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, expected);
      assert.equal(result.stderr.split('\n').length, 2, 'one line');
      assert.equal(existsSync(out), false, 'nothing written');
    };
    const base = (summary: Record<string, unknown>) =>
      (summary.images as Record<string, Record<string, unknown>>).base ?? {};
    editSummary(shard(0), (summary) => (base(summary).build_seconds = 'fast'));
    await refusedWith(/shard-1\/summary\.json is damaged: images\.base\.build_seconds: .*expected number/);
    editSummary(shard(0), (summary) => {
      base(summary).build_seconds = 3;
      (base(summary).push as Record<string, unknown>).status = '"><script>alert(1)</script>';
    });
    await refusedWith(/is damaged: images\.base\.push\.status: /);
    editSummary(shard(0), (summary) => {
      (base(summary).push as Record<string, unknown>).status = 'pushed';
      summary.scanned = [
        {
          name: 'base',
          reference: 'r',
          verdict: 'clean',
          counts: { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 0 },
          allowed: 0,
          seconds: 1,
        },
      ];
    });
    writeFileSync(join(shard(0), 'scan', 'base.json'), JSON.stringify({ findings: 'none' }));
    await refusedWith(new RegExp(`error: ${join(shard(0), 'scan', 'base.json')}: findings: .*expected array`));
    writeFileSync(
      join(shard(0), 'scan', 'base.json'),
      JSON.stringify({ findings: [{ id: 'CVE-1', severity: 'HIGH' }] }),
    );
    await refusedWith(/scan\/base\.json: findings\.0\.package: /);
    writeFileSync(join(shard(0), 'scan', 'base.json'), 'root:SECRET:20228:0:99999:7:::\n');
    await refusedWith(/scan\/base\.json: line 1, column 1: not a valid JSON scan report\n$/);
  });
});
