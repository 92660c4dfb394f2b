import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifiedFiles } from '../../bench/respin/verified-files.js';
import { createEngine } from '../../src/engine/index.js';
import { INPUT_DIGEST_LABEL, RECIPE_DIGEST_LABEL, SNAPSHOT_SET_LABEL } from '../../src/plan/plan.js';
import type { PatchedPackage } from '../../src/report/events.js';
import type { RunSummary } from '../../src/report/summary.js';
import type { ImagePackages } from '../../src/respin/image-packages.js';
import {
  describePatched,
  PATCH_LAYERS_LABEL,
  PATCHED_FROM_LABEL,
  PATCHED_PACKAGES_LABEL,
} from '../../src/respin/patch-layer.js';
import { VERSION_LABEL } from '../../src/run/version-label.js';
import { runProcess } from '../../src/util/process.js';
import { runCli } from '../helpers/cli.js';
import { startFakePulp, type FakePulp } from '../helpers/fake-pulp.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { installedPackages } from '../helpers/installed-packages.js';
import { aptAgainst, simulatedInstalls } from '../helpers/snapshot-repos/apt-against.js';
import { RESPIN_TREE } from '../helpers/snapshot-repos/respin-tree.js';
import { snapshotConfig, TINY_PACKAGES } from '../helpers/snapshot-repos/snapshot-config.js';
import { pulpContent, snapshotRepos, type SnapshotName, type SnapshotRepos } from '../helpers/snapshot-repos.js';

const username = 'respin-reader';
const password = `pulp-${Math.random().toString(36).slice(2)}-secret`;
const IMAGES = ['respin-base', 'respin-child', 'respin-memcached'];
/** The digest of a layer that changes nothing (a metadata-only step's). */
const EMPTY_LAYER = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

const moves = (packages: readonly PatchedPackage[]) =>
  Object.fromEntries(packages.map((entry) => [entry.name, [entry.from, entry.to]]));

/**
 * Run on buildah and on podman, which stacks through buildah on the store the two share (src/engine/podman-stack.ts).
 */
for (const engineName of ['buildah', 'podman'] as const) {
  describe(
    `the respin on ${engineName}, end to end: patched images hold what a full rebuild holds`,
    { timeout: 15 * 60_000 },
    () => {
      let repos: SnapshotRepos;
      let pulp: FakePulp;
      let dir: string;
      const engine = createEngine(engineName);
      const stamp = `${engineName}-${Date.now()}`;
      const made: string[] = [];
      const bases: string[] = [];
      const seconds: Record<string, number> = {};
      const summaries: Partial<Record<string, RunSummary>> = {};

      before(async () => {
        repos = await snapshotRepos({ packages: TINY_PACKAGES, log: (line) => process.stderr.write(`${line}\n`) });
        pulp = await startFakePulp({ username, password, localContent: pulpContent(repos) });
        dir = temporaryDir(`ci-builder-respin-${engineName}-`);
        const imagesDir = writeTree(join(dir, 'images'), RESPIN_TREE);
        for (const snapshot of ['A', 'B', 'C'] as const) {
          writeTree(join(dir, `etc-${snapshot}`), {
            'config.yml': snapshotConfig(pulp.origin, imagesDir, join(dir, 'package-cache'), snapshot),
            'secrets.yml': `pulp_username: ${username}\npulp_password: ${password}\n`,
          });
        }
      });
      after(async () => {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
        await pulp?.stop();
        // Newest first, bases last: an image another one is made from cannot be removed before it.
        for (const reference of [...made.reverse(), ...bases.reverse()]) {
          const removed = await engine.remove(reference);
          if (!removed.ok) process.stderr.write(`respin: ${reference} not removed: ${removed.failure.message}\n`);
        }
        process.stderr.write(`respin: wall times ${JSON.stringify(seconds)}\n`);
      });

      /** `ci-builder build` of the tree at a snapshot, in `cwd` (whose runs folder says what earlier runs made). */
      async function build(name: string, snapshot: SnapshotName, flags: string[] = [], cwd = dir): Promise<RunSummary> {
        const tag = `respin-${name}-${stamp}`;
        const started = Date.now();
        const args = [
          '--config',
          join(dir, `etc-${snapshot}`),
          'build',
          '--engine',
          engineName,
          '--auth-proxy',
          '--tag',
          tag,
          ...flags,
          '^respin-',
        ];
        const result = await runCli(args, { cwd, env: { CI_BUILDER_CACHE_DIR: join(dir, 'cache') } });
        seconds[name] = (Date.now() - started) / 1000;
        const runDir = join(cwd, '.ci-builder/runs', tag);
        const summaryFile = join(runDir, 'summary.json');
        const summary = existsSync(summaryFile)
          ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary)
          : undefined;
        for (const image of Object.values(summary?.images ?? {})) made.push(image.reference);
        if (summary?.base_image?.outcome === 'bootstrapped') bases.push(summary.base_image.reference);
        const logs = IMAGES.map((image) => join(runDir, 'logs', `${image}.log`))
          .filter(existsSync)
          .map((file) => readFileSync(file, 'utf8').slice(-2000))
          .join('\n');
        assert.equal(result.code, 0, `${result.stderr}\n${logs}`);
        assert.ok(summary, 'the run wrote its summary');
        summaries[name] = summary;
        return summary;
      }

      async function automaticPackages(reference: string): Promise<string[]> {
        const ran = await engine.run({ reference, user: 'root', command: ['apt-mark', 'showauto'] });
        assert.ok(ran.ok, ran.ok ? '' : ran.failure.message);
        assert.equal(ran.value.exitCode, 0, ran.value.output);
        return ran.value.output.split('\n').filter(Boolean).sort();
      }

      async function labelsOf(reference: string): Promise<Record<string, string>> {
        const info = await engine.inspect(reference);
        assert.ok(info.ok, info.ok ? '' : info.failure.message);
        return info.value.labels;
      }

      /** The packages the run kept of an image for the next respin are the ones installed in it. */
      async function assertKeptPackages(
        record: { image_id?: string; reference: string },
        image: string,
      ): Promise<void> {
        const kept = join(dir, 'cache/respin', `${(record.image_id ?? '').replace(/^sha256:/, '')}.json`);
        const packages = JSON.parse(readFileSync(kept, 'utf8')) as ImagePackages;
        assert.deepEqual(
          new Map(packages.installed.map((entry) => [entry.name, entry.version])),
          await installedPackages(engine, record.reference),
          `${image}: the kept packages are the image's`,
        );
      }

      const movedIn = (run: string, image: string) => {
        const respin = imageOf(run, image).respin;
        return respin?.outcome === 'patched' ? respin.packages.map((entry) => entry.name) : [];
      };
      const basePackages = () => movedIn('b', 'respin-base');
      const memcachedPackages = () => movedIn('b', 'respin-memcached');

      /** The digests of the image's layers' contents, bottom first. */
      async function layerDigests(reference: string): Promise<string[]> {
        // buildah's answer for podman's images too: the two share the store podman stacks in.
        const ran = await runProcess('buildah', ['inspect', '--type', 'image', reference], { captureStdout: true });
        assert.equal(ran.exitCode, 0, ran.stderrTail.join('\n'));
        const inspected = JSON.parse(ran.stdout) as { OCIv1: { rootfs: { diff_ids: string[] } } };
        return inspected.OCIv1.rootfs.diff_ids;
      }

      /** The image's layers above its parent's that change anything. */
      async function ownLayerDigests(reference: string, parent: string): Promise<string[]> {
        const [mine, below] = [await layerDigests(reference), await layerDigests(parent)];
        return mine.slice(below.length).filter((digest) => digest !== EMPTY_LAYER);
      }

      const imageOf = (run: string, image: string) => {
        const record = summaries[run]?.images[image];
        assert.ok(record, `${run} made ${image}`);
        return record;
      };

      it("builds the tree at snapshot A (version 1), keeping each image's packages for the next respin", async () => {
        const summary = await build('a', 'A');
        assert.deepEqual(summary.built.map((entry) => entry.name).sort(), IMAGES);
        for (const image of IMAGES) {
          const record = imageOf('a', image);
          assert.deepEqual(record.respin, {
            outcome: 'rebuilt',
            reason_kind: 'new-recipe',
            reason: 'no earlier image of this recipe',
          });
          // Kept by the run as it built the image: the respin reads this instead of the image.
          await assertKeptPackages(record, image);
        }
      });

      it('A→C patches only the memcached image (memcached bumped) and reuses the others', async () => {
        // A runs folder holding only A's run: C is a respin of A's images, whatever B's runs make later.
        const cwd = temporaryDir('ci-builder-respin-c-');
        const tagA = `respin-a-${stamp}`;
        cpSync(join(dir, '.ci-builder/runs', tagA), join(cwd, '.ci-builder/runs', tagA), { recursive: true });
        const summary = await build('c', 'C', [], cwd);
        assert.deepEqual(summary.built, []);
        assert.deepEqual(summary.patched, [{ name: 'respin-memcached', packages: 1 }]);
        assert.deepEqual(summary.reused.map((entry) => entry.name).sort(), ['respin-base', 'respin-child']);
        for (const image of ['respin-base', 'respin-child']) {
          assert.deepEqual(imageOf('c', image).respin, {
            outcome: 'reused',
            snapshots_moved: true,
            from: imageOf('a', image).image_id,
            earlier_snapshot_set: 'debian=1',
          });
        }
        const memcached = imageOf('c', 'respin-memcached').respin;
        assert.equal(memcached?.outcome, 'patched');
        assert.deepEqual(moves(memcached.packages), { memcached: [repos.bumped.from, repos.bumped.to] });
        const installed = await installedPackages(engine, imageOf('c', 'respin-memcached').reference);
        assert.equal(installed.get('memcached'), repos.bumped.to);
        // The service's version label follows the package the patch moved.
        assert.equal((await labelsOf(imageOf('c', 'respin-memcached').reference))[VERSION_LABEL], repos.bumped.to);
      });

      it('A→B patches every image, each with exactly the packages apt-get dist-upgrade would upgrade', async () => {
        const summary = await build('b', 'B');
        assert.deepEqual(summary.built, []);
        assert.deepEqual(summary.reused, []);
        assert.deepEqual(summary.patched.map((entry) => entry.name).sort(), IMAGES);
        for (const image of IMAGES) {
          const record = imageOf('b', image);
          const earlier = imageOf('a', image);
          assert.equal(record.status, 'patched');
          assert.equal(record.respin?.outcome, 'patched');
          assert.equal(record.respin.from, earlier.image_id);
          assert.equal(record.respin.earlier_snapshot_set, 'debian=1');
          assert.equal(record.recipe_digest, earlier.recipe_digest);
          assert.notEqual(record.input_digest, earlier.input_digest);
          assert.equal(summary.patched.find((entry) => entry.name === image)?.packages, record.respin.packages.length);

          // What apt itself would upgrade in the A image against B, through the same stand-in Pulp.
          const simulated = simulatedInstalls(
            await aptAgainst(
              engine,
              earlier.reference,
              { origin: pulp.origin, username, password },
              'B',
              '-s dist-upgrade',
            ),
          );
          const upgrades = Object.fromEntries([...simulated].filter(([, [installed]]) => installed !== ''));
          assert.ok(Object.keys(upgrades).length > 0, `B moves some package of ${image}`);
          assert.deepEqual(
            moves(record.respin.packages),
            upgrades,
            `${image}: the respin moved what apt would upgrade`,
          );

          const info = await engine.inspect(record.reference);
          assert.ok(info.ok, info.ok ? '' : info.failure.message);
          const { labels } = info.value;
          assert.equal(labels[PATCHED_FROM_LABEL], earlier.image_id);
          assert.equal(labels[PATCHED_PACKAGES_LABEL], describePatched(record.respin.packages));
          assert.equal(labels[PATCH_LAYERS_LABEL], '1');
          assert.equal(labels[SNAPSHOT_SET_LABEL], 'debian=2');
          assert.equal(labels[RECIPE_DIGEST_LABEL], earlier.recipe_digest);
          assert.equal(labels[INPUT_DIGEST_LABEL], record.input_digest);
          assert.equal(info.value.user, image === 'respin-memcached' ? 'memcache' : '');
          // The root image gets a patch layer; its children, patched too, get their own layers onto the patched root.
          assert.equal(record.stacked_on_patched_parent, image === 'respin-base' ? undefined : true, image);
          // A stacked image's seconds by step are in the summary, as its log line names them.
          const steps = Object.keys(record.stack_steps ?? {});
          if (image === 'respin-base') assert.deepEqual(steps, [], image);
          else
            for (const step of ['parents_mounted', 'layers_read', 'carried', 'mounted', 'merged', 'committed'])
              assert.ok(steps.includes(step), `${image}: ${step} in ${steps.join(', ')}`);
        }
      });

      it("stacks a child's own layer onto its patched parent byte for byte (the same digest: a registry holding it is not sent it)", async () => {
        // memcached's own dependencies moved too: the stack upgrades them in its last layer (the base's patch holds none).
        const movedInBase = new Set(basePackages());
        const ownMoved = memcachedPackages().filter((name) => !movedInBase.has(name));
        assert.ok(ownMoved.length > 0, 'B moves a package only respin-memcached holds');
        for (const image of ['respin-child', 'respin-memcached']) {
          const own = await ownLayerDigests(imageOf('a', image).reference, imageOf('a', 'respin-base').reference);
          assert.ok(own.length > 0, `${image} has a layer of its own`);
          const patched = await layerDigests(imageOf('b', image).reference);
          const patchedParent = await layerDigests(imageOf('b', 'respin-base').reference);
          assert.deepEqual(
            patched.slice(0, patchedParent.length),
            patchedParent,
            `${image} sits on the patched respin-base`,
          );
          for (const digest of own) assert.ok(patched.includes(digest), `${image} carries its own layer ${digest}`);
        }
        // The image's log accounts for the whole stack, step by step: where a respin's time goes is read there.
        const log = readFileSync(
          join(dir, '.ci-builder/runs', `respin-b-${stamp}`, 'logs', 'respin-memcached.log'),
          'utf8',
        );
        assert.match(log, /parents mounted in \d+\.\d s/);
        assert.match(
          log,
          /own layers \(\d+\) stacked onto \S+: read its layers [\d.]+ s, carried [\d.]+ s, mounted [\d.]+ s, merged [\d.]+ s, ran its command [\d.]+ s, read [\d.]+ s, committed [\d.]+ s/,
        );
        // Its packages, read from the working container before the commit ("read" above), kept for the next respin.
        for (const image of ['respin-child', 'respin-memcached']) await assertKeptPackages(imageOf('b', image), image);
      });

      it('leaves no mirror address in /etc/apt of a patched image, and no credential anywhere in it', async () => {
        const references = IMAGES.map((image) => imageOf('b', image).reference);
        const { host } = new URL(pulp.origin);
        for (const reference of references) {
          const ran = await engine.run({
            reference,
            user: 'root',
            command: ['sh', '-c', `grep -rlF -e '${host}' -e /pulp/content/ /etc/apt; ls /var/lib/apt/lists`],
          });
          assert.ok(ran.ok, ran.ok ? '' : ran.failure.message);
          assert.deepEqual(
            ran.value.output
              .split('\n')
              .filter(Boolean)
              .filter((line) => line !== 'partial' && line !== 'lock'),
            [],
            reference,
          );
        }
        // The root image's patch runs as root, memcached's switches to root and back: one of each is searched whole.
        const searched = ['respin-base', 'respin-memcached'].map((image) => imageOf('b', image).reference);
        const verified = await runCli(['--config', join(dir, 'etc-B'), 'verify-no-secrets', ...searched], { cwd: dir });
        assert.equal(verified.code, 0, `${verified.stdout}${verified.stderr}`);
        assert.equal(verified.stdout, searched.map((reference) => `${reference}: clean\n`).join(''));
      });

      it('a --full build at B installs, image by image, the very package set the patched images hold', async () => {
        const summary = await build('b-full', 'B', ['--full']);
        assert.deepEqual(summary.built.map((entry) => entry.name).sort(), IMAGES);
        assert.deepEqual(summary.patched, []);
        for (const image of IMAGES) {
          assert.deepEqual(imageOf('b-full', image).respin, {
            outcome: 'rebuilt',
            reason_kind: 'full',
            reason: 'full rebuild asked (--full)',
          });
          const patched = await installedPackages(engine, imageOf('b', image).reference);
          const full = await installedPackages(engine, imageOf('b-full', image).reference);
          assert.deepEqual(Object.fromEntries(patched), Object.fromEntries(full), image);
          // File by file: each package's files against dpkg's checksums, the same findings in both.
          const patchedFiles = await verifiedFiles(engine, imageOf('b', image).reference);
          assert.deepEqual(
            Object.fromEntries(patchedFiles),
            Object.fromEntries(await verifiedFiles(engine, imageOf('b-full', image).reference)),
            image,
          );
          // Which of them apt counts as installed only for others (what a later autoremove would take): the same too.
          const autoInPatched = await automaticPackages(imageOf('b', image).reference);
          assert.equal(
            (await labelsOf(imageOf('b', image).reference))[VERSION_LABEL],
            (await labelsOf(imageOf('b-full', image).reference))[VERSION_LABEL],
            `${image}: the version label`,
          );
          assert.ok(autoInPatched.length > 0, `${image} has automatically installed packages`);
          assert.deepEqual(autoInPatched, await automaticPackages(imageOf('b-full', image).reference), image);
        }
      });
    },
  );
}
