import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { INPUT_DIGEST_LABEL } from '../../src/plan/plan.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { RunSummary } from '../../src/report/summary.js';
import { buildWorkspace } from '../helpers/build-workspace.js';
import { writeTree } from '../helpers/files.js';
import { runCli, startCli } from '../helpers/cli.js';
import { startDockerd, type TestDockerd } from '../helpers/dockerd.js';
import { clientOf, startRegistry, type TestRegistry } from '../helpers/registry.js';

const SUBSET = ['^cron$', '^memcached$', '^keystone$'];
const BUNDLED = ['base', 'cron', 'keystone', 'memcached', 'openstack-base'];
const LOSS_TREE = ['lb-a', 'lb-b', 'lb-c', 'lb-d', 'lb-root'];

const readSummary = (runsDir: string, tag: string) =>
  JSON.parse(readFileSync(join(runsDir, tag, 'summary.json'), 'utf8')) as RunSummary;

describe('one run spread over two dockerd builders on loopback TCP', { timeout: 60 * 60_000 }, () => {
  let registry: TestRegistry;
  let first: TestDockerd;
  let second: TestDockerd;
  /** A fresh daemon for the loss: its first build is a real one, not a cache hit. */
  let doomed: TestDockerd | undefined;
  let client: RegistryClient;

  before(async () => {
    [registry, first, second] = await Promise.all([
      startRegistry(),
      startDockerd({ tcp: true }),
      startDockerd({ tcp: true }),
    ]);
    client = clientOf(registry);
  });
  after(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await Promise.all([registry?.stop(), first?.stop(), second?.stop(), doomed?.stop()]);
  });

  it('builds the subset across both builders, pushing every image exactly once with its input digest', async () => {
    const workspace = buildWorkspace(registry, { engine: 'docker' });
    const builders = `${first.host},${second.host}`;
    const result = await runCli(
      ['--config', workspace.configDir, 'build', '--builders', builders, '--tag', 'spread-1', ...SUBSET],
      { cwd: workspace.dir },
    );
    assert.equal(result.code, 0, result.stderr);
    const summary = readSummary(workspace.runsDir, 'spread-1');
    assert.deepEqual(summary.builders, [first.host, second.host]);
    assert.deepEqual(summary.lost_builders, []);
    assert.deepEqual(summary.built.map((entry) => entry.name).sort(), BUNDLED);
    const where = Object.fromEntries(BUNDLED.map((name) => [name, summary.images[name]?.builder]));
    assert.deepEqual(new Set(Object.values(where)), new Set([first.host, second.host]), JSON.stringify(where));
    // Pushed once each: one successful push per image, none found already there, no push failed.
    assert.deepEqual(summary.pushed.map((entry) => entry.name).sort(), BUNDLED);
    assert.ok(summary.pushed.every((entry) => entry.already === undefined));
    assert.deepEqual(summary.push_failed, []);
    for (const name of BUNDLED) {
      const config = await client.getImageConfig(`ci-builder-dev/${name}`, 'spread-1');
      assert.equal(config.config?.Labels?.[INPUT_DIGEST_LABEL], summary.images[name]?.input_digest, name);
    }
    // A child built away from its parent got the parent from the registry, by digest.
    const log = (name: string) => readFileSync(join(workspace.runsDir, 'spread-1/logs', `${name}.log`), 'utf8');
    const handedOver = BUNDLED.filter((name) => name !== 'base').filter((name) => {
      const parent = summary.images[name]?.parent ?? '';
      return where[parent] !== where[name];
    });
    assert.ok(handedOver.length > 0, JSON.stringify(where));
    for (const name of handedOver) assert.match(log(name), /pulling .*@sha256:[0-9a-f]{64} \(built elsewhere/);
  });

  it('finishes on the other builder when one dockerd is killed after its first build started', async () => {
    const lost = await startDockerd({ tcp: true });
    doomed = lost;
    // Small images FROM the base image keep this about the loss, not about package installs.
    const workspace = buildWorkspace(registry, { engine: 'docker' });
    const leaf = (word: string) => `FROM {{ namespace }}/lb-root:{{ tag }}\nRUN sleep 2 && echo ${word} > /${word}\n`;
    writeTree(workspace.imagesDir, {
      'lb-root/Dockerfile.j2': `FROM {{ base_image }}:{{ base_distro_tag }}\nRUN echo ${workspace.dir} > /run-id\n`,
      'lb-a/Dockerfile.j2': leaf('a'),
      'lb-b/Dockerfile.j2': leaf('b'),
      'lb-c/Dockerfile.j2': leaf('c'),
      'lb-d/Dockerfile.j2': leaf('d'),
    });
    const builders = `${first.host},${lost.host}`;
    let killedDuring = '';
    const started = new RegExp(`^.*?(\\S+): building on ${lost.host.replace(/[.]/g, '\\.')}`, 'm');
    let seen = '';
    const run = startCli(
      ['--config', workspace.configDir, 'build', '--builders', builders, '--tag', 'spread-2', '^lb-'],
      {
        cwd: workspace.dir,
        env: { CI: 'true' },
        onStderr: (text) => {
          seen += text;
          const match = started.exec(seen);
          if (match && killedDuring === '') {
            killedDuring = match[1] ?? '?';
            lost.kill();
          }
        },
      },
    );
    const result = await run.done;
    assert.notEqual(killedDuring, '', `the doomed builder started a build: ${result.stderr}`);
    assert.equal(result.code, 0, result.stderr);
    const summary = readSummary(workspace.runsDir, 'spread-2');
    assert.deepEqual(summary.lost_builders, [lost.host]);
    assert.match(result.stderr, new RegExp(`builder ${lost.host.replace(/[.]/g, '\\.')} lost`));
    assert.deepEqual(summary.failed, []);
    assert.deepEqual(summary.built.map((entry) => entry.name).sort(), LOSS_TREE);
    assert.equal(summary.images[killedDuring]?.builder, first.host, 'the cut image was built on the other builder');
    assert.equal(summary.images[killedDuring]?.attempts, 1, "the loss did not eat the image's retries");
    for (const name of LOSS_TREE) {
      const config = await client.getImageConfig(`ci-builder-dev/${name}`, 'spread-2');
      assert.equal(config.config?.Labels?.[INPUT_DIGEST_LABEL], summary.images[name]?.input_digest, name);
    }
  });
});
