import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { INPUT_DIGEST_LABEL } from '../../src/plan/plan.js';
import type { RunSummary } from '../../src/report/summary.js';
import { RegistryClient } from '../../src/registry/client.js';
import { buildWorkspace, type BuildWorkspace } from '../helpers/build-workspace.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { filesContaining, secretForms } from '../helpers/leaks.js';
import { startPodmanService, type TestPodmanService } from '../helpers/podman-service.js';
import { clientOf, startRegistry, type TestRegistry } from '../helpers/registry.js';

const names = (entries: Array<{ name: string }>) => entries.map((entry) => entry.name).sort();

describe(
  'building the bundled tree with the podman adapter, locally and through a podman service',
  {
    timeout: 30 * 60_000,
  },
  () => {
    let registry: TestRegistry;
    let client: RegistryClient;

    const build = async (
      workspace: BuildWorkspace,
      tag: string,
      subset: string[],
    ): Promise<{ result: CliResult; summary: RunSummary }> => {
      const result = await runCli(['--config', workspace.configDir, 'build', '--push', '--tag', tag, ...subset], {
        cwd: workspace.dir,
      });
      const summary = JSON.parse(readFileSync(join(workspace.runsDir, tag, 'summary.json'), 'utf8')) as RunSummary;
      return { result, summary };
    };

    const assertPushedWithDigests = async (summary: RunSummary, tag: string) => {
      for (const [name, record] of Object.entries(summary.images)) {
        const config = await client.getImageConfig(`ci-builder-dev/${name}`, tag);
        assert.equal(
          config.config?.Labels?.[INPUT_DIGEST_LABEL],
          record.input_digest,
          `${name}:${tag} in the registry`,
        );
      }
    };

    before(async () => {
      registry = await startRegistry();
      client = clientOf(registry);
    });
    after(async () => registry.stop());

    it('builds the base chain, keystone, cron and memcached with the local podman and pushes them', async () => {
      const workspace = buildWorkspace(registry, { engine: 'podman' });
      const { result, summary } = await build(workspace, 'podman-1', ['^cron$', '^memcached$', '^keystone$']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(summary.engine, 'podman');
      assert.deepEqual(names(summary.built), ['base', 'cron', 'keystone', 'memcached', 'openstack-base']);
      assert.deepEqual(names(summary.pushed), names(summary.built));
      await assertPushedWithDigests(summary, 'podman-1');
      const layers = async (name: string) =>
        (await client.getManifest(`ci-builder-dev/${name}`, 'podman-1')).layers.length;
      // One layer for the build's steps, one (empty) for the version label's build: not one per step.
      assert.equal(await layers('keystone'), (await layers('openstack-base')) + 2, 'one layer per build');
      const keystone = (await client.getImageConfig('ci-builder-dev/keystone', 'podman-1')).config?.Labels ?? {};
      // Read by running dpkg-query in a throwaway podman container.
      assert.match(keystone['org.opencontainers.image.version'] ?? '', /^2:22\./);
      assert.deepEqual(
        filesContaining(join(workspace.dir, '.ci-builder'), secretForms(registry.username, registry.password)),
        [],
      );
    });

    describe('through `podman system service` on a unix socket', () => {
      let service: TestPodmanService;
      let workspace: BuildWorkspace;
      before(async () => {
        service = await startPodmanService();
        // The same storage as the local podman's (a root service): its own base, so this first build is cold.
        workspace = buildWorkspace(registry, { engine: 'podman', apart: 'podman-service' });
        appendFileSync(join(workspace.configDir, 'config.yml'), `engine_url: ${service.url}\n`);
      });
      after(async () => service.stop());

      it('builds and pushes, then reuses every image on a re-run, and says so when the service is gone', async () => {
        const cold = await build(workspace, 'remote-1', ['^cron$']);
        assert.equal(cold.result.code, 0, cold.result.stderr);
        assert.deepEqual(names(cold.summary.built), ['base', 'cron']);
        assert.deepEqual(names(cold.summary.pushed), ['base', 'cron']);
        await assertPushedWithDigests(cold.summary, 'remote-1');

        const rerun = await build(workspace, 'remote-2', ['^cron$']);
        assert.equal(rerun.result.code, 0, rerun.result.stderr);
        assert.deepEqual(rerun.summary.built, []);
        assert.deepEqual(names(rerun.summary.reused), ['base', 'cron']);
        await assertPushedWithDigests(rerun.summary, 'remote-2');

        // The image comes back through the socket as an OCI layout (podman save), then is searched.
        const cron = `${registry.address}/ci-builder-dev/cron:remote-2`;
        const verified = await runCli(['--config', workspace.configDir, 'verify-no-secrets', cron], {
          cwd: workspace.dir,
        });
        assert.equal(verified.code, 0, verified.stdout + verified.stderr);
        assert.equal(verified.stdout, `${cron}: clean\n`);

        await service.stop();
        const gone = await runCli(['--config', workspace.configDir, 'build', '--tag', 'remote-3', '^cron$'], {
          cwd: workspace.dir,
        });
        assert.equal(gone.code, 1, gone.stderr);
        assert.match(gone.stdout + gone.stderr, /connect to Podman/);
      });
    });
  },
);
