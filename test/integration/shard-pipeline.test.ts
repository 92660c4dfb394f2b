import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunSummary } from '../../src/report/summary.js';
import { forgetBuildahImages } from '../helpers/buildah-images.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { projectRoot, temporaryDir, writeTree } from '../helpers/files.js';
import { osvRecord } from '../helpers/osv-fixture.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const NAMESPACE = `shard-pipeline-${Date.now()}`;
const names = (entries: Array<{ name: string }>) => entries.map((entry) => entry.name).sort();

const forgetImages = () => forgetBuildahImages(NAMESPACE);

/**
 * A parent both sets need (overcloud's sh-over and seed's sh-seed are built FROM it): the pipeline's
 * sets share one partition, so the parent has one owner in both.
 */
describe('the pipeline split into two shards', { timeout: 20 * 60_000 }, () => {
  const work = temporaryDir('ci-builder-shard-pipeline-');
  let registry: TestRegistry;

  before(async () => {
    registry = await startRegistry();
    const bundled = readFileSync(join(projectRoot, 'etc/ci-builder/config.yml'), 'utf8');
    const sets = [
      'sets:',
      '  overcloud:',
      '    - { regex: "^sh-over$" }',
      '  seed:',
      '    - { regex: "^sh-seed$" }',
      '',
    ];
    const config = bundled
      .replace(/^registry: .*$/m, `registry: ${registry.address}`)
      .replace(/^namespace: .*$/m, `namespace: ${NAMESPACE}`)
      .replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${join(work, 'images')}`)
      .replace(/^sets:\n(?: {2,}.*\n)+/m, sets.join('\n'));
    const child = (word: string) => `FROM {{ namespace }}/sh-parent:{{ tag }}\nRUN echo ${word} > /${word}\n`;
    const record = osvRecord({ id: 'PYSEC-2099-99', ecosystem: 'PyPI', name: 'nothing-here', fixed: '1.1' });
    writeTree(work, {
      'etc/config.yml': config,
      'etc/secrets.yml': `registry_username: ${registry.username}\nregistry_password: ${registry.password}\n`,
      'images/sh-parent/Dockerfile.j2': `FROM {{ base_image }}:{{ base_distro_tag }}\nRUN echo ${NAMESPACE} > /run-id\n`,
      'images/sh-over/Dockerfile.j2': child('over'),
      'images/sh-seed/Dockerfile.j2': child('seed'),
      [`db/PyPI/${record.id}.json`]: JSON.stringify(record),
    });
  });
  after(async () => {
    // The registry first: a server left running would keep this file's process from ever ending.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await registry?.stop();
    forgetImages();
  });

  const cli = (args: string[]): Promise<CliResult> =>
    runCli(['-q', '--config', join(work, 'etc'), ...args], { cwd: work });
  const summaryOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;

  it('builds each image in one shard, hands the shared parent over in both sets, and merges per set', async () => {
    const planned = await cli(['--json', 'shard', 'plan', '--shards', '2', '--set', 'overcloud,seed']);
    assert.equal(planned.code, 0, planned.stderr);
    const planFile = join(work, 'plan.json');
    writeFileSync(planFile, planned.stdout);
    const plan = JSON.parse(planned.stdout) as { shards: Array<{ images: string[] }> };
    assert.deepEqual(
      plan.shards.map((shard) => shard.images),
      [['sh-parent'], ['sh-over', 'sh-seed']],
    );
    const common = ['pipeline', '--set', 'overcloud,seed', '--push', '--timestamp', '20260101T000000'];
    for (const shard of ['1', '2']) {
      forgetImages();
      const artifacts = join(work, `artifacts-${shard}`);
      const shardFlags = ['--shard', `${shard}/2`, '--shard-plan', planFile, '--shard-wait', '60'];
      const result = await cli([...common, '--osv-db', join(work, 'db'), '--artifacts', artifacts, ...shardFlags]);
      assert.equal(result.code, 0, `shard ${shard}: ${result.stderr}`);
    }
    const run = (shard: string, set: string) => summaryOf(join(work, `artifacts-${shard}`, 'debian', set));
    assert.deepEqual(names(run('1', 'overcloud').built), ['sh-parent']);
    assert.deepEqual(names(run('1', 'seed').reused), ['sh-parent'], 'the parent again, for the seed set');
    assert.deepEqual(names(run('2', 'overcloud').built), ['sh-over']);
    assert.deepEqual(names(run('2', 'seed').built), ['sh-seed']);
    for (const set of ['overcloud', 'seed'])
      assert.deepEqual(run('2', set).skipped, [{ name: 'sh-parent', reason: 'built by shard 1/2' }], set);

    for (const [set, built, reused] of [
      ['overcloud', ['sh-over', 'sh-parent'], []],
      ['seed', ['sh-seed'], ['sh-parent']],
    ] as const) {
      const out = join(work, 'merged', set);
      const folders = ['1', '2'].map((shard) => join(work, `artifacts-${shard}`, 'debian', set));
      const merged = await cli(['summary', 'merge', ...folders, '--out', out]);
      assert.equal(merged.code, 0, merged.stderr);
      const summary = summaryOf(out);
      assert.deepEqual(names(summary.built), [...built].sort(), set);
      assert.deepEqual(names(summary.reused), reused, set);
      assert.deepEqual(summary.skipped, [], set);
      assert.deepEqual(names(summary.scanned), [...built, ...reused].sort(), `${set}: each image scanned once`);
    }
  });
});
