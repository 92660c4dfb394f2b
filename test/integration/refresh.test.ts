import assert from 'node:assert/strict';
import { readFileSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createEngine } from '../../src/engine/index.js';
import type { RunSummary } from '../../src/report/summary.js';
import { runCli } from '../helpers/cli.js';
import { projectRoot, temporaryDir, writeTree } from '../helpers/files.js';
import { installedPackages } from '../helpers/installed-packages.js';
import { readPackagesIndex } from '../helpers/snapshot-repos/packages-index.js';
import { SNAPSHOT_SUITE, snapshotRepos, type SnapshotRepos } from '../helpers/snapshot-repos.js';
import { TINY_PACKAGES } from '../helpers/snapshot-repos/snapshot-config.js';
import { startStandInMirror, type StandInMirror } from '../helpers/stand-in-mirror.js';

/** Packages bookworm-updates and -security move (snapshot B), as the snapshot fixtures' CI list has them. */

/**
 * A plain mirror (a `url:` repository, no version to pin) whose content moves under the same URL, as a
 * mirror of Debian does: first snapshot A, then B. Nothing in the configuration changes, so only
 * `--refresh` can tell that an image is out of date.
 */
describe('build --refresh against a plain mirror that moved', { timeout: 20 * 60_000 }, () => {
  let repos: SnapshotRepos;
  let mirror: StandInMirror;
  let dir: string;
  const engine = createEngine('buildah');
  const made: string[] = [];

  /** Points the mirror's `debian/` at a snapshot folder, at once (a rename over the old link). */
  const serve = (folder: string) => {
    const link = join(mirror.root, 'debian.next');
    symlinkSync(folder, link);
    renameSync(link, join(mirror.root, 'debian'));
  };
  const build = async (tag: string, extra: string[] = []) => {
    const result = await runCli(['-q', '--config', join(dir, 'etc'), 'build', '--tag', tag, ...extra, '^probe$'], {
      cwd: dir,
      env: { CI_BUILDER_CACHE_DIR: join(dir, 'cache') },
    });
    const runDir = join(dir, '.ci-builder/runs', tag);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as RunSummary;
    const reference = summary.images.probe?.reference ?? '';
    made.push(reference);
    return { summary, reference, stdout: result.stdout };
  };

  before(async () => {
    repos = await snapshotRepos({ packages: TINY_PACKAGES, log: (line) => process.stderr.write(`${line}\n`) });
    dir = temporaryDir('ci-builder-refresh-');
    mirror = await startStandInMirror(temporaryDir('ci-builder-refresh-mirror-'));
    serve(repos.folders.A);
    const imagesDir = writeTree(join(dir, 'images'), {
      'probe/Dockerfile.j2': [
        'FROM {{ base_image }}:{{ base_distro_tag }}',
        'RUN apt-get update && apt-get install -y --no-install-recommends tzdata openssl && rm -rf /var/lib/apt/lists/*',
        '',
      ].join('\n'),
    });
    const bundled = readFileSync(join(projectRoot, 'etc/ci-builder/config.yml'), 'utf8');
    const repositories = `    repositories:
      - name: debian
        url: ${mirror.origin}/debian/
        suites: [${SNAPSHOT_SUITE}]
        trusted: true
`;
    writeTree(join(dir, 'etc'), {
      'config.yml': `${bundled
        .replace(/^ {4}repositories:\n(?: {6}.*\n)+/m, repositories)
        .replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${imagesDir}`)}
proxy:
  cache_dir: ${join(dir, 'package-cache')}
`,
      // A plain mirror needs no credential.
      'secrets.yml': '{}\n',
    });
  });
  after(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await mirror?.stop();
    for (const reference of made) if (reference) await engine.remove(reference);
  });

  it('reuses an image of a moved mirror without --refresh, and patches exactly its updated packages with it', async () => {
    const first = await build('refresh-1');
    assert.deepEqual(first.summary.built, [{ name: 'probe' }]);
    const a = readPackagesIndex(repos.folders.A, SNAPSHOT_SUITE, repos.architecture);
    const b = readPackagesIndex(repos.folders.B, SNAPSHOT_SUITE, repos.architecture);
    const atA = await installedPackages(engine, first.reference);
    const moving = [...atA.keys()].filter((name) => b.get(name)?.version !== a.get(name)?.version).sort();
    assert.ok(moving.includes('tzdata'), `B moves tzdata (moving: ${moving.join(' ')})`);

    serve(repos.folders.B);
    // The configuration did not change: the input digest is the same, the image is reused as it is.
    const stale = await build('refresh-2');
    assert.deepEqual(stale.summary.reused, [{ name: 'probe' }]);
    assert.deepEqual(stale.summary.patched, []);

    const refreshed = await build('refresh-3', ['--refresh']);
    const summaryLine = JSON.stringify(refreshed.summary.images.probe);
    assert.deepEqual(refreshed.summary.patched, [{ name: 'probe', packages: moving.length }], summaryLine);
    const respin = refreshed.summary.images.probe?.respin;
    assert.equal(respin?.outcome, 'patched');
    const patchedNames = respin.packages.map((entry) => entry.name).sort();
    assert.deepEqual(patchedNames, moving);
    const atB = await installedPackages(engine, refreshed.reference);
    const notFromB = [...atB].filter(([name, version]) => b.get(name)?.version !== version);
    assert.deepEqual(notFromB, [], 'every installed package is at the version the moved mirror holds');

    // Asked again with nothing new on the mirror: the patched image is current, reused.
    const again = await build('refresh-4', ['--refresh']);
    assert.deepEqual(again.summary.reused, [{ name: 'probe' }]);
    assert.deepEqual(again.summary.patched, []);
    assert.equal((await engine.inspect(again.reference)).ok, true);
  });
});
