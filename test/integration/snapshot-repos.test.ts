import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createEngine } from '../../src/engine/index.js';
import type { RunSummary } from '../../src/report/summary.js';
import { runCli } from '../helpers/cli.js';
import { startFakePulp, type FakePulp } from '../helpers/fake-pulp.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { installedPackages } from '../helpers/installed-packages.js';
import { aptAgainst as aptAgainstIn, simulatedInstalls } from '../helpers/snapshot-repos/apt-against.js';
import { readPackagesIndex } from '../helpers/snapshot-repos/packages-index.js';
import { snapshotConfig, TINY_PACKAGES } from '../helpers/snapshot-repos/snapshot-config.js';
import {
  pulpContent,
  SNAPSHOT_SUITE,
  snapshotRepos,
  type SnapshotName,
  type SnapshotRepos,
} from '../helpers/snapshot-repos.js';

const username = 'snapshot-reader';
const password = `pulp-${Math.random().toString(36).slice(2)}-secret`;

describe('snapshots A, B and C from Debian, served by the stand-in Pulp', { timeout: 20 * 60_000 }, () => {
  let repos: SnapshotRepos;
  let pulp: FakePulp;
  let dir: string;
  let reference = '';
  let baseReference = '';
  const engine = createEngine('buildah');
  const tag = `snapshot-a-${Date.now()}`;

  before(async () => {
    repos = await snapshotRepos({ packages: TINY_PACKAGES, log: (line) => process.stderr.write(`${line}\n`) });
    process.stderr.write(`snapshot-repos: ${repos.cached ? 'cached' : 'made'} in ${repos.seconds.toFixed(1)} s\n`);
    pulp = await startFakePulp({ username, password, localContent: pulpContent(repos) });
    dir = temporaryDir('ci-builder-snapshots-');
    const imagesDir = writeTree(join(dir, 'images'), {
      'probe/Dockerfile.j2': [
        'FROM {{ base_image }}:{{ base_distro_tag }}',
        'RUN apt-get update && apt-get install -y --no-install-recommends tzdata && rm -rf /var/lib/apt/lists/*',
        '',
      ].join('\n'),
    });
    writeTree(join(dir, 'etc'), {
      'config.yml': snapshotConfig(pulp.origin, imagesDir, join(dir, 'package-cache')),
      'secrets.yml': `pulp_username: ${username}\npulp_password: ${password}\n`,
    });
  });
  after(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await pulp?.stop();
    // The bootstrapped base is this run's alone (the stand-in Pulp's port is part of its digest).
    for (const image of [reference, baseReference]) if (image) await engine.remove(image);
  });

  const aptAgainst = (snapshot: SnapshotName, aptCommand: string) =>
    aptAgainstIn(engine, reference, { origin: pulp.origin, username, password }, snapshot, aptCommand);

  it('bootstraps and builds an image at version 1 (A) through the auth proxy', async () => {
    const result = await runCli(['--config', join(dir, 'etc'), 'build', '--auth-proxy', '--tag', tag, '^probe$'], {
      cwd: dir,
      // A cache folder of its own: the bootstrap really runs, and its root filesystem does not stay on the host.
      env: { CI_BUILDER_CACHE_DIR: join(dir, 'cache') },
    });
    const runDir = join(dir, '.ci-builder/runs', tag);
    const logTail = (name: string) =>
      existsSync(join(runDir, 'logs', name)) ? readFileSync(join(runDir, 'logs', name), 'utf8').slice(-3000) : '';
    assert.equal(result.code, 0, `${result.stderr}${logTail('base-image.log')}${logTail('probe.log')}`);
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as RunSummary;
    assert.equal(summary.base_image?.outcome, 'bootstrapped');
    assert.deepEqual(summary.built, [{ name: 'probe' }]);
    reference = summary.images.probe?.reference ?? '';
    baseReference = summary.base_image.reference;
    const content = pulp.requests.filter((request) => request.path.startsWith('/pulp/content/'));
    assert.ok(content.some((request) => request.path.endsWith('.deb')));
    assert.deepEqual(
      content.filter((request) => !request.path.startsWith('/pulp/content/debian/1/')).map((request) => request.path),
      [],
      'only version 1 was asked for',
    );

    // Every package in the image is at the version snapshot A holds.
    const a = readPackagesIndex(repos.folders.A, SNAPSHOT_SUITE, repos.architecture);
    const installed = await installedPackages(engine, reference);
    for (const name of ['apt', 'ca-certificates', 'tzdata', 'openssl', 'libssl3']) assert.ok(installed.has(name), name);
    const notFromA = [...installed].filter(([name, version]) => a.get(name)?.version !== version);
    assert.deepEqual(notFromA, []);
  });

  it('finds nothing to upgrade against version 1 (A)', async () => {
    assert.ok(reference, 'the image was built');
    assert.deepEqual([...simulatedInstalls(await aptAgainst('A', '-s dist-upgrade'))], []);
  });

  it("upgrades against version 2 (B) exactly the image's packages that bookworm-updates and -security moved", async () => {
    assert.ok(reference, 'the image was built');
    const a = readPackagesIndex(repos.folders.A, SNAPSHOT_SUITE, repos.architecture);
    const b = readPackagesIndex(repos.folders.B, SNAPSHOT_SUITE, repos.architecture);
    const installed = await installedPackages(engine, reference);
    const expected = [...installed.keys()]
      .filter((name) => b.get(name)?.version !== a.get(name)?.version)
      .map((name) => [name, [a.get(name)?.version, b.get(name)?.version]]);
    assert.ok(expected.length > 0, 'B moves some of the packages in the image');
    const installs = simulatedInstalls(await aptAgainst('B', '-s dist-upgrade'));
    assert.deepEqual(Object.fromEntries(installs), Object.fromEntries(expected));
  });

  it('finds nothing to upgrade against version 3 (C), and offers only its bumped memcached', async () => {
    assert.ok(reference, 'the image was built');
    assert.deepEqual([...simulatedInstalls(await aptAgainst('C', '-s dist-upgrade'))], []);
    const memcached = simulatedInstalls(await aptAgainst('C', '-s install memcached')).get('memcached');
    assert.deepEqual(memcached, ['', repos.bumped.to]);
    assert.equal(repos.bumped.name, 'memcached');
    assert.match(repos.bumped.to, /\+respin1$/);
  });
});
