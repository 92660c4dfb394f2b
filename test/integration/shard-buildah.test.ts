import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { INPUT_DIGEST_LABEL } from '../../src/plan/plan.js';
import type { RunSummary } from '../../src/report/summary.js';
import { RegistryClient } from '../../src/registry/client.js';
import { projectRoot, temporaryDir, writeTree } from '../helpers/files.js';
import { forgetBuildahImages } from '../helpers/buildah-images.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const NAMESPACE = `shard-test-${Date.now()}`;
/** sh-base on the base image; sh-a and sh-b on it; sh-leaf on sh-mid on it: three levels, two branches. */
const TREE = ['sh-a', 'sh-b', 'sh-base', 'sh-leaf', 'sh-mid'];
const SUBSET = ['^sh-a$', '^sh-b$', '^sh-leaf$'];
const names = (entries: Array<{ name: string }>) => entries.map((entry) => entry.name).sort();

const forgetImages = () => forgetBuildahImages(NAMESPACE);

/**
 * Small images FROM the suite's bootstrapped base keep this about the hand-over, not package installs; the
 * bundled library's partition is checked by the unit tests, its builds by the benchmark.
 */
describe('a run split into three shards with buildah and a real registry', { timeout: 20 * 60_000 }, () => {
  const work = temporaryDir('ci-builder-shard-');
  let registry: TestRegistry;
  let client: RegistryClient;

  const cli = (args: string[]): Promise<CliResult> =>
    runCli(['-q', '--config', join(work, 'etc'), ...args], { cwd: work });
  const runsDir = join(work, '.ci-builder/runs');
  const summaryOf = (runDir: string) => JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as RunSummary;
  const inputDigestInRegistry = async (name: string, tag: string) =>
    (await client.getImageConfig(`${NAMESPACE}/${name}`, tag)).config?.Labels?.[INPUT_DIGEST_LABEL];

  before(async () => {
    registry = await startRegistry();
    const login = { username: registry.username, password: registry.password };
    client = new RegistryClient(registry.address, login, { insecure: true });
    const config = readFileSync(join(projectRoot, 'etc/ci-builder/config.yml'), 'utf8')
      .replace(/^registry: .*$/m, `registry: ${registry.address}`)
      .replace(/^namespace: .*$/m, `namespace: ${NAMESPACE}`)
      .replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${join(work, 'images')}`);
    const on = (parent: string, word: string) =>
      `FROM {{ namespace }}/${parent}:{{ tag }}\nRUN echo ${word} > /${word}\n`;
    writeTree(work, {
      'etc/config.yml': config,
      'etc/secrets.yml': `registry_username: ${registry.username}\nregistry_password: ${registry.password}\n`,
      'images/sh-base/Dockerfile.j2': `FROM {{ base_image }}:{{ base_distro_tag }}\nRUN echo ${NAMESPACE} > /run-id\n`,
      'images/sh-a/Dockerfile.j2': on('sh-base', 'a'),
      'images/sh-b/Dockerfile.j2': on('sh-base', 'b'),
      'images/sh-mid/Dockerfile.j2': on('sh-base', 'mid'),
      'images/sh-leaf/Dockerfile.j2': on('sh-mid', 'leaf'),
    });
  });
  after(async () => {
    // The registry first: a server left running would keep this file's process from ever ending.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await registry?.stop();
    forgetImages();
  });

  it('builds each image once over the shards, hands parents over by the registry, and merges to one run', async () => {
    const planned = await cli(['--json', 'shard', 'plan', '--shards', '3', ...SUBSET]);
    assert.equal(planned.code, 0, planned.stderr);
    const planFile = join(work, 'shard-plan.json');
    writeFileSync(planFile, planned.stdout);
    const plan = JSON.parse(planned.stdout) as { shards: Array<{ shard: string; images: string[] }> };
    // By image count (no earlier runs): parents first, a subtree kept together where the balance allows.
    assert.deepEqual(
      plan.shards.map((shard) => shard.images),
      [['sh-base'], ['sh-a', 'sh-b'], ['sh-mid', 'sh-leaf']],
    );

    const shardDirs: string[] = [];
    for (const shard of ['1/3', '2/3', '3/3']) {
      forgetImages();
      const runDir = join(runsDir, `shard-${shard[0] ?? ''}`);
      shardDirs.push(runDir);
      const args = ['build', '--push', '--tag', 'sharded', '--run-dir', runDir, '--shard', shard];
      const result = await cli([...args, '--shard-plan', planFile, '--shard-wait', '60', ...SUBSET]);
      assert.equal(result.code, 0, `shard ${shard}: ${result.stderr}`);
    }
    const [first, second, third] = shardDirs.map(summaryOf);
    assert.ok(first && second && third);
    assert.equal(first.shard, '1/3');
    assert.deepEqual(names(first.built), ['sh-base']);
    assert.deepEqual(names(second.built), ['sh-a', 'sh-b']);
    assert.deepEqual(names(third.built), ['sh-leaf', 'sh-mid']);
    assert.deepEqual(second.skipped, [{ name: 'sh-base', reason: 'built by shard 1/3' }]);
    assert.deepEqual(third.skipped, [{ name: 'sh-base', reason: 'built by shard 1/3' }]);
    assert.match(readFileSync(join(shardDirs[2] ?? '', 'logs', 'sh-base.log'), 'utf8'), /pulling .*@sha256:/);
    const pushes = [first, second, third].flatMap((summary) => names(summary.pushed));
    assert.deepEqual(pushes.sort(), TREE, 'every image pushed once, by its shard');

    forgetImages();
    const whole = await cli(['build', '--push', '--tag', 'whole', ...SUBSET]);
    assert.equal(whole.code, 0, whole.stderr);
    const unsharded = summaryOf(join(runsDir, 'whole'));
    assert.deepEqual(names(unsharded.pushed), TREE);
    for (const name of TREE) {
      const sharded = await inputDigestInRegistry(name, 'sharded');
      assert.equal(sharded, unsharded.images[name]?.input_digest, `${name}: the same input digest as one run`);
      assert.equal(sharded, await inputDigestInRegistry(name, 'whole'));
    }

    const mergedDir = join(work, 'merged');
    const merged = await cli(['summary', 'merge', ...shardDirs, '--out', mergedDir]);
    assert.equal(merged.code, 0, merged.stderr);
    const summary = summaryOf(mergedDir);
    assert.deepEqual(names(summary.built), TREE, 'built is the union of the shards');
    assert.deepEqual(summary.skipped, [], 'a parent pulled by a shard counts once, as built');
    assert.deepEqual(names(summary.pushed), TREE);
    assert.equal(summary.images['sh-base']?.status, 'built');
    assert.match(readFileSync(join(mergedDir, 'logs', 'sh-base.log'), 'utf8'), /pushed/, 'the log of its own shard');
    assert.match(readFileSync(join(mergedDir, 'report.html'), 'utf8'), /logs\/sh-leaf\.log/);
  });

  it('fails the images of a shard whose parent never reaches the registry, after the wait', async () => {
    const runDir = join(runsDir, 'orphan');
    const planFile = join(work, 'hand-made-plan.json');
    const shards = [['sh-base'], ['sh-a', 'sh-b'], ['sh-mid', 'sh-leaf']];
    writeFileSync(planFile, JSON.stringify({ shards: shards.map((images, i) => ({ shard: `${i + 1}/3`, images })) }));
    const args = ['build', '--push', '--tag', 'orphan', '--run-dir', runDir, '--shard', '2/3', '--shard-wait', '2'];
    const result = await cli([...args, '--shard-plan', planFile, ...SUBSET]);
    assert.equal(result.code, 1, result.stderr);
    const summary = summaryOf(runDir);
    assert.deepEqual(names(summary.built), []);
    const base = summary.failed.find((entry) => entry.name === 'sh-base');
    assert.match(base?.reason ?? '', /not in the registry after 2 s/);
    assert.deepEqual(
      summary.failed.filter((entry) => entry.name !== 'sh-base').map((entry) => [entry.name, entry.status]),
      [
        ['sh-a', 'parent_error'],
        ['sh-b', 'parent_error'],
      ],
    );
  });
});
