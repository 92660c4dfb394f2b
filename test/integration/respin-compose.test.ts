import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createEngine } from '../../src/engine/index.js';
import type { RunSummary } from '../../src/report/summary.js';
import { writeRegistryAuth } from '../../src/run/registry-auth.js';
import { runCli } from '../helpers/cli.js';
import { startFakePulp, type FakePulp } from '../helpers/fake-pulp.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { installedPackages } from '../helpers/installed-packages.js';
import { CRITICAL_VECTOR, osvRecord } from '../helpers/osv-fixture.js';
import { clientOf, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { readPackagesIndex } from '../helpers/snapshot-repos/packages-index.js';
import { RESPIN_TREE } from '../helpers/snapshot-repos/respin-tree.js';
import { snapshotConfig, TINY_PACKAGES } from '../helpers/snapshot-repos/snapshot-config.js';
import { pulpContent, snapshotRepos, type SnapshotName, type SnapshotRepos } from '../helpers/snapshot-repos.js';

const username = 'compose-reader';
const password = `pulp-${Math.random().toString(36).slice(2)}-secret`;
/** Stacked onto their patched parents at B, and so composed: a parent among them, whose child is composed onto it. */
const COMPOSED = ['respin-child', 'respin-expat', 'respin-grandchild', 'respin-memcached'];
const TREE = {
  ...RESPIN_TREE,
  'respin-base/respin-child/respin-grandchild/Dockerfile.j2': [
    'FROM {{ namespace }}/{{ image_prefix }}respin-child:{{ tag }}',
    'RUN echo grandchild > /etc/respin-grandchild',
    '',
  ].join('\n'),
  // Its own layer holds a package B moves, as memcached's does: its upgrade runs after memcached's, with its lists.
  'respin-base/respin-memcached/respin-expat/Dockerfile.j2': [
    'FROM {{ namespace }}/{{ image_prefix }}respin-memcached:{{ tag }}',
    'USER root',
    'RUN apt-get update && apt-get install -y --no-install-recommends libexpat1 && rm -rf /var/lib/apt/lists/*',
    'USER memcache',
    '',
  ].join('\n'),
};

/** The tree under `dir/images`, and a config for each snapshot (`dir/etc-A`, `dir/etc-B`) composing at the registry. */
function writeComposingConfigs(
  dir: string,
  on: { pulp: FakePulp; registry: TestRegistry; namespace: string; engineName: 'buildah' | 'podman' },
): void {
  const imagesDir = writeTree(join(dir, 'images'), TREE);
  for (const snapshot of ['A', 'B'] as const) {
    const config = snapshotConfig(on.pulp.origin, imagesDir, join(dir, 'package-cache'), snapshot)
      .replace(/^registry: .*$/m, `registry: ${on.registry.address}`)
      .replace(/^namespace: .*$/m, `namespace: ${on.namespace}`)
      .replace(/^engine: .*$/m, `engine: ${on.engineName}`);
    writeTree(join(dir, `etc-${snapshot}`), {
      'config.yml': `${config}respin:\n  compose: registry\n`,
      'secrets.yml': [
        `pulp_username: ${username}`,
        `pulp_password: ${password}`,
        `registry_username: ${on.registry.username}`,
        `registry_password: ${on.registry.password}`,
        '',
      ].join('\n'),
    });
  }
}

/**
 * respin.compose registry on buildah, end to end through the command line: the tree built at snapshot A and
 * pushed; the respin to B puts its stacked images together at the registry (never in the engine's store), a
 * grandchild onto its composed parent's folders, each holding B's packages once pulled; a later run at B, whose
 * images are those very ones, pulls them itself.
 */
// podman composes through buildah, on the store the two share (src/engine/podman-stack.ts).
for (const engineName of ['buildah', 'podman'] as const) {
  describe(`a respin composing its stacked images at the registry (${engineName})`, { timeout: 15 * 60_000 }, () => {
    const engine = createEngine(engineName);
    const stamp = Date.now();
    const namespace = `respin-compose-${engineName}-${stamp}`;
    let repos: SnapshotRepos;
    let pulp: FakePulp;
    let registry: TestRegistry;
    let dir: string;
    const made = new Set<string>();
    const summaries: Partial<Record<string, RunSummary>> = {};

    before(async () => {
      repos = await snapshotRepos({ packages: TINY_PACKAGES, log: (line) => process.stderr.write(`${line}\n`) });
      pulp = await startFakePulp({ username, password, localContent: pulpContent(repos) });
      registry = await startRegistry();
      dir = temporaryDir('ci-builder-respin-compose-');
      writeComposingConfigs(dir, { pulp, registry, namespace, engineName });
    });

    after(async () => {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
      await pulp?.stop();
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
      await registry?.stop();
      // Children before the images they are made from.
      for (const reference of [...made].reverse()) await engine.remove(reference);
    });

    async function build(name: string, snapshot: SnapshotName): Promise<RunSummary> {
      const tag = `compose-${name}-${stamp}`;
      const args = ['--config', join(dir, `etc-${snapshot}`), 'build', '--engine', engineName, '--auth-proxy'];
      const result = await runCli([...args, '--push', '--tag', tag, '^respin-'], {
        cwd: dir,
        env: { CI_BUILDER_CACHE_DIR: join(dir, 'cache') },
      });
      const runDir = join(dir, '.ci-builder/runs', tag);
      const summaryFile = join(runDir, 'summary.json');
      assert.ok(existsSync(summaryFile), `${name}: no summary\n${result.stderr}`);
      const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary;
      for (const image of Object.values(summary.images)) made.add(image.reference);
      assert.equal(result.code, 0, `${result.stderr}\n${logsOf(runDir)}`);
      summaries[name] = summary;
      return summary;
    }

    const logsOf = (runDir: string) =>
      ['respin-base', ...COMPOSED]
        .map((image) => join(runDir, 'logs', `${image}.log`))
        .filter(existsSync)
        .map((file) => readFileSync(file, 'utf8').slice(-2500))
        .join('\n');

    const recordOf = (run: string, image: string) => {
      const record = summaries[run]?.images[image];
      assert.ok(record, `${run} made ${image}`);
      return record;
    };

    /** Which of these files the image holds, read through the engine's mount of it. */
    const filesOf = async (reference: string, paths: string[]) => {
      const mountImage = engine.mountImage?.bind(engine);
      assert.ok(mountImage, 'buildah mounts images');
      const mounted = await mountImage(reference);
      assert.ok(mounted.ok, mounted.ok ? '' : mounted.failure.message);
      try {
        return paths.filter((path) => existsSync(join(mounted.value.root, path)));
      } finally {
        await mounted.value.release();
      }
    };

    const pull = async (reference: string) => {
      const auth = await writeRegistryAuth(registry.address, registry.username, registry.password);
      try {
        const pulled = await engine.pull({
          reference,
          authFile: auth.file,
          insecure: true,
          onLine: () => {},
          signal: AbortSignal.timeout(120_000),
        });
        assert.ok(pulled.ok, pulled.ok ? '' : pulled.failure.message);
      } finally {
        await auth.dispose();
      }
    };

    it('builds the tree at A and pushes it', async () => {
      const summary = await build('a', 'A');
      assert.deepEqual(summary.built.map((entry) => entry.name).sort(), ['respin-base', ...COMPOSED].sort());
    });

    it("composes the stacked leaves at B at the registry: pushed, not in the engine's store, B's packages", async () => {
      const summary = await build('b', 'B');
      assert.equal(recordOf('b', 'respin-base').status, 'patched');
      const client = clientOf(registry);
      const indexB = readPackagesIndex(repos.folders.B, repos.suite, repos.architecture);
      for (const image of COMPOSED) {
        const record = recordOf('b', image);
        assert.equal(record.status, 'patched');
        assert.equal(record.composed_at_registry, true, `${image} composed at the registry`);
        assert.equal(record.push?.status, 'pushed');
        const exists = await engine.exists(record.reference);
        assert.ok(exists.ok && !exists.value, `${image} is not in the engine's store`);
        const tag = record.reference.split(':').at(-1) ?? '';
        const manifest = await client.getManifest(`${namespace}/${image}`, tag);
        assert.equal(manifest.config.digest, `sha256:${(record.image_id ?? '').replace(/^sha256:/, '')}`);
        await pull(record.reference);
        const installed = await installedPackages(engine, record.reference);
        const stale = [...installed].filter(([name, version]) => {
          const indexed = indexB.get(name);
          return indexed !== undefined && indexed.version !== version;
        });
        assert.deepEqual(stale, [], `${image}: every package at B's version`);
        if (image === 'respin-child' || image === 'respin-grandchild') {
          // The child's own file, and the grandchild's over it: the grandchild was composed over the child's folders.
          const wanted =
            image === 'respin-child' ? ['/etc/respin-child'] : ['/etc/respin-child', '/etc/respin-grandchild'];
          assert.deepEqual(await filesOf(record.reference, wanted), wanted);
        }
        // Removed again, so the next run has to fetch it itself.
        assert.ok((await engine.remove(record.reference)).ok);
      }
      assert.ok(summary.patched.length >= 3);
      // memcached's upgrade fetched the lists once; the upgrade composed after it, onto it, copied them in.
      const runDir = join(dir, '.ci-builder/runs', `compose-b-${stamp}`);
      const logOf = (image: string) => readFileSync(join(runDir, 'logs', `${image}.log`), 'utf8');
      assert.match(logOf('respin-memcached'), /apt lists: fetched by this image's apt-get update and kept/);
      assert.match(logOf('respin-expat'), /apt lists: the run's, copied in \(no apt-get update\)/);
      assert.ok(
        repos.movedInB.some((entry) => entry.name === 'libexpat1'),
        "B moves libexpat1, respin-expat's own package",
      );
    });

    it('`images test` pulls the images composed at the registry, then checks them', async () => {
      const tag = `compose-b-${stamp}`;
      const args = ['--config', join(dir, 'etc-B'), '--json', 'images', 'test', '^respin-', '--tag', tag];
      const tested = await runCli(args, { cwd: dir, env: { CI_BUILDER_CACHE_DIR: join(dir, 'cache') } });
      assert.equal(tested.code, 0, `${tested.stdout}\n${tested.stderr}`);
      const results = JSON.parse(tested.stdout) as Array<{ image: string; checks: Array<{ status: string }> }>;
      assert.deepEqual(results.map((result) => result.image).sort(), ['respin-base', ...COMPOSED].sort());
      for (const image of COMPOSED) {
        const reference = recordOf('b', image).reference;
        const exists = await engine.exists(reference);
        assert.ok(exists.ok && exists.value, `${image} pulled by images test`);
        // Removed again, so the next run has to fetch it itself.
        assert.ok((await engine.remove(reference)).ok);
      }
    });

    it('pulls an image composed at the registry when a later run reuses it', async () => {
      const summary = await build('b-again', 'B');
      assert.deepEqual(summary.built, []);
      for (const image of COMPOSED) {
        const record = recordOf('b-again', image);
        assert.equal(record.status, 'reused', `${image} reused`);
        assert.equal(record.image_id, recordOf('b', image).image_id);
        const exists = await engine.exists(record.reference);
        assert.ok(exists.ok && exists.value, `${image} is in the engine's store again`);
        const log = readFileSync(
          join(dir, '.ci-builder/runs', `compose-b-again-${stamp}`, 'logs', `${image}.log`),
          'utf8',
        );
        assert.match(log, /an earlier run composed it at the registry/);
      }
    });
  });
}

/**
 * respin.compose registry under the pipeline's scan gate (buildah): each composed image is scanned from its root,
 * mounted from the composition's folders, before any of it is pushed. The fixture flags tzdata (every image holds
 * it) as critical and allows it everywhere but in respin-child: the child is composed and held, so it reaches
 * neither the registry nor the store, and its child, which cannot be put onto it, is patched as a whole on its
 * earlier self, scanned in the store and pushed.
 */
describe('a respin composing at the registry under the scan gate (buildah)', { timeout: 15 * 60_000 }, () => {
  const engine = createEngine('buildah');
  const stamp = Date.now();
  const namespace = `respin-compose-gate-${stamp}`;
  const critical = 'DSA-9900-1';
  let repos: SnapshotRepos;
  let pulp: FakePulp;
  let registry: TestRegistry;
  let dir: string;
  const made = new Set<string>();

  before(async () => {
    repos = await snapshotRepos({ packages: TINY_PACKAGES, log: (line) => process.stderr.write(`${line}\n`) });
    pulp = await startFakePulp({ username, password, localContent: pulpContent(repos) });
    registry = await startRegistry();
    dir = temporaryDir('ci-builder-respin-compose-gate-');
    writeComposingConfigs(dir, { pulp, registry, namespace, engineName: 'buildah' });
    const record = osvRecord({ id: critical, ecosystem: 'Debian:12', name: 'tzdata', vector: CRITICAL_VECTOR });
    const allowedIn = ['respin-base', 'respin-expat', 'respin-grandchild', 'respin-memcached'];
    writeTree(dir, {
      [`osv/Debian/${critical}.json`]: JSON.stringify(record),
      'allowed.yml': allowedIn
        .map((image) => `${image.replace(/-/g, '_')}_allowed_vulnerabilities: [${critical}]\n`)
        .join(''),
    });
  });

  after(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await pulp?.stop();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await registry?.stop();
    for (const reference of [...made].reverse()) await engine.remove(reference);
  });

  const env = () => ({ CI_BUILDER_CACHE_DIR: join(dir, 'cache') });

  it('composes, scans from the composed root, pushes what passes and holds the rest', async () => {
    const tagA = `gate-a-${stamp}`;
    const built = await runCli(
      ['--config', join(dir, 'etc-A'), 'build', '--auth-proxy', '--push', '--tag', tagA, '^respin-'],
      { cwd: dir, env: env() },
    );
    const summaryA = JSON.parse(
      readFileSync(join(dir, '.ci-builder/runs', tagA, 'summary.json'), 'utf8'),
    ) as RunSummary;
    for (const image of Object.values(summaryA.images)) made.add(image.reference);
    assert.equal(built.code, 0, built.stderr);

    const artifacts = join(dir, 'artifacts');
    const gated = ['--osv-db', join(dir, 'osv'), '--allowed-vulnerabilities', join(dir, 'allowed.yml')];
    const args = ['--config', join(dir, 'etc-B'), 'pipeline', '--set', 'overcloud', '--auth-proxy', '--push'];
    const result = await runCli([...args, ...gated, '--artifacts', artifacts, '^respin-'], { cwd: dir, env: env() });
    assert.equal(result.code, 1, `the held image fails the pipeline\n${result.stderr}`);
    const runDir = join(artifacts, 'debian', 'overcloud');
    assert.ok(existsSync(join(runDir, 'summary.json')), `a run folder\n${result.stderr}`);
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as RunSummary;
    for (const image of Object.values(summary.images)) made.add(image.reference);
    const record = (name: string) => {
      const found = summary.images[name];
      assert.ok(found, `the pipeline made ${name}`);
      return found;
    };
    const client = clientOf(registry);
    const log = (name: string) => readFileSync(join(runDir, 'logs', `${name}.log`), 'utf8');

    // Composed, scanned from its root before its push, pushed: the scan names the digest the registry holds.
    const memcached = record('respin-memcached');
    assert.equal(memcached.composed_at_registry, true, log('respin-memcached'));
    assert.equal(memcached.push?.status, 'pushed');
    const tag = memcached.reference.split(':').at(-1) ?? '';
    const pushed = await client.headManifest(`${namespace}/respin-memcached`, tag);
    const scanned = JSON.parse(readFileSync(join(runDir, 'scan', 'respin-memcached.json'), 'utf8')) as {
      digest: string | null;
      source: string;
    };
    assert.equal(scanned.source, 'mount', 'read from its mounted root, not from an export');
    assert.ok(pushed, 'respin-memcached is in the registry');
    assert.equal(scanned.digest, pushed.digest, 'the scan names the manifest the registry holds');
    const sbom = JSON.parse(readFileSync(join(runDir, 'scan', 'respin-memcached.cdx.json'), 'utf8')) as {
      components: Array<{ name: string; version: string }>;
    };
    const indexB = readPackagesIndex(repos.folders.B, repos.suite, repos.architecture);
    const memcachedAt = sbom.components.find((entry) => entry.name === 'memcached')?.version;
    assert.equal(memcachedAt, indexB.get('memcached')?.version, "the composed root's packages, at B");
    assert.match(log('respin-memcached'), /composed at the registry as sha256:/);

    // Composed and held: in neither the registry nor the store.
    const child = record('respin-child');
    assert.equal(child.composed_at_registry, true, log('respin-child'));
    assert.equal(child.push, undefined);
    assert.deepEqual(
      summary.held.map((entry) => entry.name),
      ['respin-child'],
    );
    assert.match(log('respin-child'), /composed and held by the gate, not pushed, as sha256:/);
    assert.equal(await client.headManifest(`${namespace}/respin-child`, tag), undefined);
    const childInStore = await engine.exists(child.reference);
    assert.ok(childInStore.ok && !childInStore.value, 'the held child is not in the store');

    // Its child is patched as a whole on its earlier self, scanned in the store, pushed.
    const grandchild = record('respin-grandchild');
    assert.equal(grandchild.status, 'patched');
    assert.notEqual(grandchild.composed_at_registry, true);
    assert.match(log('respin-grandchild'), /patched as a whole: its patched parent was composed and held/);
    assert.equal(grandchild.push?.status, 'pushed');
    assert.match(result.stderr, /respin-child/);
    // The report says both: how the held image was made, and that it was held.
    const report = readFileSync(join(runDir, 'report.html'), 'utf8');
    assert.match(report, /respin-child<\/a><\/td><td>critical \(held\)/);
    assert.match(report, /patched \(\d+ packages?\)[^<]*, composed at the registry/);
  });
});
