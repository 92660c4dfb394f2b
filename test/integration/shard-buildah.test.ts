import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { INPUT_DIGEST_LABEL } from '../../src/plan/plan.js';
import type { RunSummary } from '../../src/report/summary.js';
import { RegistryClient } from '../../src/registry/client.js';
import { buildWorkspace, type BuildWorkspace } from '../helpers/build-workspace.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const SUBSET = ['^cron$', '^memcached$', '^keystone$'];
const BUNDLED = ['base', 'cron', 'keystone', 'memcached', 'openstack-base'];
const storage = ['--storage-driver', 'overlay'];
const names = (entries: Array<{ name: string }>) => entries.map((entry) => entry.name).sort();

/**
 * The workspace's images (every one carries its base image's unique test label) leave buildah's storage:
 * the next shard starts as on a fresh CI runner, with only what the registry hands it.
 */
function forgetWorkspaceImages(workspace: BuildWorkspace): void {
  const template = readFileSync(join(workspace.imagesDir, 'base/Dockerfile.j2'), 'utf8');
  const nonce = /ci-builder\.test-run="([^"]+)"/.exec(template)?.[1];
  assert.ok(nonce, 'the workspace labels its base image');
  const filter = ['--filter', `label=ci-builder.test-run=${nonce}`];
  const ids = execFileSync('buildah', [...storage, 'images', '-q', ...filter], { encoding: 'utf8' }).split('\n');
  const unique = [...new Set(ids.filter((id) => id !== ''))];
  if (unique.length > 0) execFileSync('buildah', [...storage, 'rmi', '-f', ...unique], { stdio: 'ignore' });
}

describe('a run split into three shards with buildah and a real registry', { timeout: 40 * 60_000 }, () => {
  let registry: TestRegistry;
  let workspace: BuildWorkspace;
  let client: RegistryClient;

  const cli = (args: string[]): Promise<CliResult> =>
    runCli(['-q', '--config', workspace.configDir, ...args], { cwd: workspace.dir });
  const summaryOf = (runDir: string) => JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as RunSummary;
  const inputDigestInRegistry = async (name: string, tag: string) =>
    (await client.getImageConfig(`ci-builder-dev/${name}`, tag)).config?.Labels?.[INPUT_DIGEST_LABEL];

  before(async () => {
    registry = await startRegistry();
    workspace = buildWorkspace(registry);
    const login = { username: registry.username, password: registry.password };
    client = new RegistryClient(registry.address, login, { insecure: true });
  });
  after(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    if (workspace) forgetWorkspaceImages(workspace);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await registry?.stop();
  });

  it('builds each image once over the shards, hands parents over by the registry, and merges to one run', async () => {
    const planned = await cli(['--json', 'shard', 'plan', '--shards', '3', ...SUBSET]);
    assert.equal(planned.code, 0, planned.stderr);
    const planFile = join(workspace.dir, 'shard-plan.json');
    writeFileSync(planFile, planned.stdout);
    const plan = JSON.parse(planned.stdout) as { shards: Array<{ shard: string; images: string[] }> };
    assert.deepEqual(
      plan.shards.map((shard) => shard.images),
      [['base'], ['cron', 'memcached'], ['openstack-base', 'keystone']],
    );

    const shardDirs: string[] = [];
    for (const shard of ['1/3', '2/3', '3/3']) {
      forgetWorkspaceImages(workspace);
      const runDir = join(workspace.runsDir, `shard-${shard[0] ?? ''}`);
      shardDirs.push(runDir);
      const args = ['build', '--push', '--tag', 'sharded', '--run-dir', runDir, '--shard', shard];
      const result = await cli([...args, '--shard-plan', planFile, '--shard-wait', '60', ...SUBSET]);
      assert.equal(result.code, 0, `shard ${shard}: ${result.stderr}`);
    }
    const [first, second, third] = shardDirs.map(summaryOf);
    assert.ok(first && second && third);
    assert.equal(first.shard, '1/3');
    assert.deepEqual(names(first.built), ['base']);
    assert.deepEqual(names(second.built), ['cron', 'memcached']);
    assert.deepEqual(names(third.built), ['keystone', 'openstack-base']);
    assert.deepEqual(second.skipped, [{ name: 'base', reason: 'built by shard 1/3' }]);
    assert.deepEqual(third.skipped, [{ name: 'base', reason: 'built by shard 1/3' }]);
    assert.match(readFileSync(join(shardDirs[2] ?? '', 'logs', 'base.log'), 'utf8'), /pulling .*@sha256:/);
    const pushes = [first, second, third].flatMap((summary) => names(summary.pushed));
    assert.deepEqual(pushes.sort(), BUNDLED, 'every image pushed once, by its shard');

    forgetWorkspaceImages(workspace);
    const whole = await cli(['build', '--push', '--tag', 'whole', ...SUBSET]);
    assert.equal(whole.code, 0, whole.stderr);
    const unsharded = summaryOf(join(workspace.runsDir, 'whole'));
    assert.deepEqual(names(unsharded.pushed), BUNDLED);
    for (const name of BUNDLED) {
      const sharded = await inputDigestInRegistry(name, 'sharded');
      assert.equal(sharded, unsharded.images[name]?.input_digest, `${name}: the same input digest as one run`);
      assert.equal(sharded, await inputDigestInRegistry(name, 'whole'));
    }

    const mergedDir = join(workspace.dir, 'merged');
    const merged = await cli(['summary', 'merge', ...shardDirs, '--out', mergedDir]);
    assert.equal(merged.code, 0, merged.stderr);
    const summary = summaryOf(mergedDir);
    assert.deepEqual(names(summary.built), BUNDLED, 'built is the union of the shards');
    assert.deepEqual(summary.skipped, [], 'a parent pulled by a shard counts once, as built');
    assert.deepEqual(names(summary.pushed), BUNDLED);
    assert.equal(summary.images.base?.status, 'built');
    assert.match(readFileSync(join(mergedDir, 'logs', 'base.log'), 'utf8'), /pushed/, "the log of base's own shard");
    assert.match(readFileSync(join(mergedDir, 'report.html'), 'utf8'), /logs\/keystone\.log/);
  });

  it('fails the images of a shard whose parent never reaches the registry, after the wait', async () => {
    const runDir = join(workspace.runsDir, 'orphan');
    const planFile = join(workspace.dir, 'hand-made-plan.json');
    const shards = [['base'], ['cron', 'memcached'], ['openstack-base', 'keystone']];
    writeFileSync(planFile, JSON.stringify({ shards: shards.map((images, i) => ({ shard: `${i + 1}/3`, images })) }));
    const args = ['build', '--push', '--tag', 'orphan', '--run-dir', runDir, '--shard', '2/3', '--shard-wait', '2'];
    const result = await cli([...args, '--shard-plan', planFile, ...SUBSET]);
    assert.equal(result.code, 1, result.stderr);
    const summary = summaryOf(runDir);
    assert.deepEqual(names(summary.built), []);
    const base = summary.failed.find((entry) => entry.name === 'base');
    assert.match(base?.reason ?? '', /not in the registry after 2 s/);
    assert.deepEqual(
      summary.failed.filter((entry) => entry.name !== 'base').map((entry) => [entry.name, entry.status]),
      [
        ['cron', 'parent_error'],
        ['memcached', 'parent_error'],
      ],
    );
  });
});
