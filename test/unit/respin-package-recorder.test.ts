import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Engine, MountedImage } from '../../src/engine/types.js';
import type { ImagePackages } from '../../src/respin/image-packages.js';
import { PackageRecorder } from '../../src/respin/package-recorder.js';
import { fail, ok } from '../../src/util/result.js';
import { FakeEngine } from '../helpers/fake-engine.js';
import { temporaryDir } from '../helpers/files.js';

const STATUS = [
  'Package: dpkg',
  'Status: install ok installed',
  'Architecture: amd64',
  'Version: 1.21.22',
  '',
  'Package: memcached',
  'Status: install ok installed',
  'Architecture: amd64',
  'Version: 1.6.18-1',
  '',
].join('\n');

/** An image root holding dpkg's status, as an engine's mount gives it. */
function imageRoot(): string {
  const root = temporaryDir('ci-builder-root-');
  mkdirSync(join(root, 'var/lib/dpkg'), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), STATUS);
  return root;
}

/** The fake engine with a mount as given, counting the mounts released and the exports asked for. */
function engineWithMount(mount: Engine['mountImage']) {
  const counts = { released: 0, exported: 0 };
  const engine = new FakeEngine();
  const exportOci = engine.exportOci.bind(engine);
  Object.assign(engine, {
    mountImage: mount,
    exportOci: (reference: string) => {
      counts.exported++;
      return exportOci(reference);
    },
  });
  return { engine, counts };
}

describe("keeping each made image's packages for the next respin", () => {
  it('reads the image through the mount into the cache by image id, and settles once every read ended', async () => {
    const root = imageRoot();
    const { engine, counts } = engineWithMount(() => {
      const mounted: MountedImage = { root, release: () => Promise.resolve(void counts.released++) };
      return Promise.resolve(ok(mounted));
    });
    const cacheDir = temporaryDir('ci-builder-respin-cache-');
    const failures: string[] = [];
    const recorder = new PackageRecorder(engine, cacheDir, (message) => failures.push(message));
    recorder.record('sha256:aaaa');
    recorder.record('sha256:bbbb');
    await recorder.settle();
    assert.deepEqual(failures, []);
    assert.equal(counts.released, 2, 'every mount released');
    for (const id of ['aaaa', 'bbbb']) {
      const kept = JSON.parse(readFileSync(join(cacheDir, `${id}.json`), 'utf8')) as ImagePackages;
      assert.equal(kept.packageType, 'deb');
      assert.deepEqual(
        kept.installed.map((entry) => `${entry.name}=${entry.version}`),
        ['dpkg=1.21.22', 'memcached=1.6.18-1'],
      );
    }
  });

  it('never exports an image it cannot mount: the failure is said and nothing is kept', async () => {
    const { engine, counts } = engineWithMount(() =>
      Promise.resolve(fail({ kind: 'engine', message: 'mount is not permitted' })),
    );
    const cacheDir = temporaryDir('ci-builder-respin-cache-');
    const failures: string[] = [];
    const recorder = new PackageRecorder(engine, cacheDir, (message) => failures.push(message));
    recorder.record('sha256:cccc');
    await recorder.settle();
    assert.equal(counts.exported, 0);
    assert.deepEqual(failures, ['sha256:cccc: the engine can neither mount it nor copy files out of it']);
    assert.equal(existsSync(join(cacheDir, 'cccc.json')), false);
  });

  it('reads through a copy of the few files it needs where the engine cannot mount (docker), never an export', async () => {
    const asked: string[][] = [];
    const engine = Object.assign(new FakeEngine(), {
      copyFiles: (_reference: string, paths: readonly string[]) => {
        asked.push([...paths]);
        const files = new Map([
          ['var/lib/dpkg/status', Buffer.from(STATUS)],
          ['etc/apt/sources.list', Buffer.from('deb http://deb.debian.org/debian bookworm main\n')],
          [
            'etc/apt/preferences.d/hold',
            Buffer.from('Package: memcached\nPin: version 1.6.18-1\nPin-Priority: 1001\n'),
          ],
        ]);
        return Promise.resolve(ok(files));
      },
    });
    assert.equal(PackageRecorder.canRecord(engine), true);
    const cacheDir = temporaryDir('ci-builder-respin-cache-');
    const failures: string[] = [];
    const recorder = new PackageRecorder(engine, cacheDir, (message) => failures.push(message));
    recorder.record('sha256:dddd');
    await recorder.settle();
    assert.deepEqual(failures, []);
    assert.ok(asked[0]?.includes('/var/lib/dpkg/status') && asked[0].includes('/etc/apt'), asked.join(' '));
    assert.equal(asked.length, 1, 'dpkg status found: no rpm database asked for');
    const kept = JSON.parse(readFileSync(join(cacheDir, 'dddd.json'), 'utf8')) as ImagePackages;
    assert.deepEqual(
      kept.installed.map((entry) => entry.name),
      ['dpkg', 'memcached'],
    );
    assert.equal(kept.pins.length, 1, "the image's own pin, from the copied folder");
  });

  it('records only on an engine that mounts images or copies files out of them', () => {
    assert.equal(PackageRecorder.canRecord(new FakeEngine()), false);
    assert.equal(PackageRecorder.canRecord(engineWithMount(() => Promise.reject(new Error('unused'))).engine), true);
  });
});
