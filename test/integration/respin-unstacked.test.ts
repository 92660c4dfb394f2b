import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DockerEngine } from '../../src/engine/docker.js';
import { PodmanEngine } from '../../src/engine/podman.js';
import type { Engine } from '../../src/engine/types.js';
import type { RunSummary } from '../../src/report/summary.js';
import { runProcess } from '../../src/util/process.js';
import { runCli } from '../helpers/cli.js';
import { startDockerd, type TestDockerd } from '../helpers/dockerd.js';
import { startFakePulp, type FakePulp } from '../helpers/fake-pulp.js';
import { startPodmanService, type TestPodmanService } from '../helpers/podman-service.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { installedPackages } from '../helpers/installed-packages.js';
import { RESPIN_TREE } from '../helpers/snapshot-repos/respin-tree.js';
import { snapshotConfig, TINY_PACKAGES } from '../helpers/snapshot-repos/snapshot-config.js';
import { pulpContent, snapshotRepos, type SnapshotName, type SnapshotRepos } from '../helpers/snapshot-repos.js';

const username = 'respin-reader';
const password = `pulp-${Math.random().toString(36).slice(2)}-secret`;
/**
 * docker cannot put a child's own layers onto its patched parent, nor can podman through a service (or without
 * buildah beside it), so a child patched as a whole would upgrade again everything its parent's patch upgrades.
 * The respin builds it on the patched parent instead where that is less package work: here the tree's root and
 * its child that adds no package of its own. Run on a dockerd and on a podman service the test starts (a local
 * podman with buildah installed stacks: respin.test.ts).
 */
for (const engineName of ['docker', 'podman'] as const) {
  const where = engineName === 'docker' ? 'docker' : 'a podman service';
  describe(`the respin on ${where}: a child of a patched parent built on it`, { timeout: 15 * 60_000 }, () => {
    let repos: SnapshotRepos;
    let pulp: FakePulp;
    let dockerd: TestDockerd | undefined;
    let podman: TestPodmanService | undefined;
    let engine: Engine;
    let env: NodeJS.ProcessEnv;
    let dir: string;
    const summaries: Partial<Record<string, RunSummary>> = {};

    before(async () => {
      [repos, dockerd, podman] = await Promise.all([
        snapshotRepos({ packages: TINY_PACKAGES, log: (line) => process.stderr.write(`${line}\n`) }),
        engineName === 'docker' ? startDockerd() : undefined,
        engineName === 'podman' ? startPodmanService() : undefined,
      ]);
      pulp = await startFakePulp({ username, password, localContent: pulpContent(repos) });
      env = dockerd ? { DOCKER_HOST: dockerd.host } : { CONTAINER_HOST: podman?.url };
      engine = dockerd
        ? new DockerEngine('docker', { ...process.env, ...env })
        : new PodmanEngine('podman', podman?.url);
      dir = temporaryDir(`ci-builder-respin-${engineName}-`);
      const imagesDir = writeTree(join(dir, 'images'), RESPIN_TREE);
      for (const snapshot of ['A', 'B'] as const) {
        writeTree(join(dir, `etc-${snapshot}`), {
          'config.yml': snapshotConfig(pulp.origin, imagesDir, join(dir, 'package-cache'), snapshot),
          'secrets.yml': `pulp_username: ${username}\npulp_password: ${password}\n`,
        });
      }
    });
    after(async () => {
      // podman keeps its images in the host's store (dockerd's go with its folder): newest first, the base last.
      const made = ['b', 'a'].flatMap((run) => Object.values(summaries[run]?.images ?? {}).reverse());
      if (!dockerd) for (const image of made) await engine.remove(image.reference);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
      await Promise.all([pulp?.stop(), dockerd?.stop(), podman?.stop()]);
    });

    async function build(name: string, snapshot: SnapshotName): Promise<RunSummary> {
      const tag = `respin-${engineName}-${name}-${Date.now()}`;
      const args = ['--config', join(dir, `etc-${snapshot}`), 'build', '--engine', engineName, '--auth-proxy'];
      const result = await runCli([...args, '--tag', tag, '^respin-base$', '^respin-child$'], {
        cwd: dir,
        env: { CI_BUILDER_CACHE_DIR: join(dir, 'cache'), ...env },
      });
      const summaryFile = join(dir, '.ci-builder/runs', tag, 'summary.json');
      assert.equal(result.code, 0, result.stderr);
      assert.ok(existsSync(summaryFile), 'the run wrote its summary');
      const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary;
      summaries[name] = summary;
      return summary;
    }

    const imageOf = (run: string, image: string) => {
      const record = summaries[run]?.images[image];
      assert.ok(record, `${run} made ${image}`);
      return record;
    };

    async function layers(reference: string): Promise<string[]> {
      const command = dockerd ? '/usr/bin/docker' : 'podman';
      const ran = await runProcess(command, ['image', 'inspect', '--format', '{{json .RootFS.Layers}}', reference], {
        captureStdout: true,
        env: { ...process.env, ...env },
      });
      assert.equal(ran.exitCode, 0, ran.stderrTail.join('\n'));
      return JSON.parse(ran.stdout) as string[];
    }

    it('patches the root image and builds the child on it, holding every package at the version B holds', async () => {
      await build('a', 'A');
      const summary = await build('b', 'B');
      assert.deepEqual(
        summary.patched.map((entry) => entry.name),
        ['respin-base'],
      );
      assert.deepEqual(
        summary.built.map((entry) => entry.name),
        ['respin-child'],
      );

      // The child adds no package to its parent: nothing to install, against the parent's moved ones to upgrade.
      const moved = imageOf('b', 'respin-base').respin;
      assert.equal(moved?.outcome, 'patched');
      const child = imageOf('b', 'respin-child');
      assert.equal(child.respin?.outcome, 'rebuilt');
      assert.equal(child.respin.reason_kind, 'parent-patched');
      assert.equal(
        child.respin.reason,
        `its parent respin-base is patched: built on it, 0 packages to install (it and the images below it) ` +
          `against ${moved.packages.length} patched as a whole`,
      );

      const base = await layers(imageOf('b', 'respin-base').reference);
      assert.deepEqual((await layers(child.reference)).slice(0, base.length), base, 'built on the patched parent');
      const toVersions = new Map(repos.movedInB.map((entry) => [entry.name, entry.to]));
      const before = await installedPackages(engine, imageOf('a', 'respin-child').reference);
      const after = await installedPackages(engine, child.reference);
      assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), 'the same packages as before');
      for (const [name, version] of after) {
        const expected = toVersions.get(name) ?? before.get(name);
        assert.equal(version, expected, `${name} is at the version snapshot B holds`);
      }
      assert.ok(
        [...after.keys()].some((name) => toVersions.has(name)),
        'B moves some package the child holds',
      );
    });
  });
}
