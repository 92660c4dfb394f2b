import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DockerEngine } from '../../src/engine/docker.js';
import { INPUT_DIGEST_LABEL } from '../../src/plan/plan.js';
import type { RunSummary } from '../../src/report/summary.js';
import { buildWorkspace } from '../helpers/build-workspace.js';
import { runCli } from '../helpers/cli.js';
import { startDockerd, type TestDockerd } from '../helpers/dockerd.js';
import { filesContaining, secretForms } from '../helpers/leaks.js';
import { clientOf, startRegistry, type TestRegistry } from '../helpers/registry.js';

describe(
  'building the bundled tree with the docker adapter (BuildKit) against a dockerd the test started',
  { timeout: 30 * 60_000 },
  () => {
    let registry: TestRegistry;
    let dockerd: TestDockerd;

    before(async () => {
      [registry, dockerd] = await Promise.all([startRegistry(), startDockerd()]);
    });
    after(async () => {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
      await Promise.all([registry?.stop(), dockerd?.stop()]);
    });

    it('builds, pushes and labels every image, then reuses them all on a re-run', async () => {
      const workspace = buildWorkspace(registry, { engine: 'docker' });
      const env = { DOCKER_HOST: dockerd.host };
      // The adapter is what is under test here: the base chain and two leaves are enough.
      const subset = ['^cron$', '^memcached$'];
      const cold = await runCli(['--config', workspace.configDir, 'build', '--push', '--tag', 'docker-1', ...subset], {
        cwd: workspace.dir,
        env,
      });
      assert.equal(cold.code, 0, cold.stderr);
      const summary = JSON.parse(readFileSync(join(workspace.runsDir, 'docker-1/summary.json'), 'utf8')) as RunSummary;
      assert.equal(summary.engine, 'docker');
      assert.equal(summary.built.length, 3);
      assert.equal(summary.pushed.length, 3);
      const client = clientOf(registry);
      for (const [name, record] of Object.entries(summary.images)) {
        const config = await client.getImageConfig(`ci-builder-dev/${name}`, 'docker-1');
        assert.equal(config.config?.Labels?.[INPUT_DIGEST_LABEL], record.input_digest);
      }
      // The version label is read from the files docker copies out of the image: what dpkg lists.
      const engine = new DockerEngine('docker', { ...process.env, ...env });
      const memcached = summary.images.memcached?.reference ?? '';
      const copied = await engine.copyFiles(memcached, ['/var/lib/dpkg/status', '/etc/apt', '/no/such/path']);
      assert.ok(copied.ok, copied.ok ? '' : copied.failure.message);
      const status = copied.value.get('var/lib/dpkg/status')?.toString('utf8') ?? '';
      const listed = /^Package: memcached\n(?:[^\n]+\n)*?Version: (\S+)$/m.exec(status)?.[1];
      assert.ok(listed !== undefined, 'dpkg status copied out whole');
      assert.ok(
        [...copied.value.keys()].some((path) => path.startsWith('etc/apt/')),
        'a folder copied out with its files',
      );
      assert.ok(![...copied.value.keys()].some((path) => path.startsWith('no/')), 'a missing path adds nothing');
      const labels = await client.getImageConfig('ci-builder-dev/memcached', 'docker-1');
      assert.equal(labels.config?.Labels?.['org.opencontainers.image.version'], listed);
      assert.equal(summary.images.memcached?.build_steps?.version_label !== undefined, true);
      assert.deepEqual(
        filesContaining(join(workspace.dir, '.ci-builder'), secretForms(registry.username, registry.password)),
        [],
      );

      const rerun = await runCli(['--config', workspace.configDir, 'build', '--tag', 'docker-2', ...subset], {
        cwd: workspace.dir,
        env,
      });
      assert.equal(rerun.code, 0, rerun.stderr);
      const second = JSON.parse(readFileSync(join(workspace.runsDir, 'docker-2/summary.json'), 'utf8')) as RunSummary;
      assert.deepEqual(second.built, []);
      assert.equal(second.reused.length, 3);
    });
  },
);
