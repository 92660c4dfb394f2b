import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { EngineFailure, EngineResult, ImageInfo, MountedImage } from '../../src/engine/types.js';
import { scanImage } from '../../src/scan/scan-image.js';
import { VulnerabilityDatabase } from '../../src/scan/vulnerability-db.js';
import { fail, ok, type Result } from '../../src/util/result.js';
import { FakeEngine } from '../helpers/fake-engine.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;

/** An engine the scan of a composed image must not ask: the image is in no store. */
function untouchedEngine(asked: string[]): FakeEngine {
  return Object.assign(new FakeEngine(), {
    inspect: (reference: string): EngineResult<ImageInfo> => {
      asked.push(`inspect ${reference}`);
      return Promise.resolve(fail({ kind: 'not-found', message: 'no such image' }));
    },
    mountImage: (reference: string): EngineResult<MountedImage> => {
      asked.push(`mount ${reference}`);
      return Promise.resolve(fail({ kind: 'not-found', message: 'no such image' }));
    },
    exportOci: (reference: string): EngineResult<void> => {
      asked.push(`export ${reference}`);
      return Promise.resolve(fail({ kind: 'not-found', message: 'no such image' }));
    },
  });
}

const osv = { kind: 'osv' as const, database: new VulnerabilityDatabase() };
const settings = { ignoreUnfixed: false, allowList: new Map<string, string[]>() };

/** A composed root as the composition's read-only mount would show it: Debian 12 with two packages. */
function composedRoot(): string {
  const root = temporaryDir('ci-builder-composed-root-');
  writeTree(root, {
    'etc/os-release': 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n',
    'var/lib/dpkg/status': [
      'Package: memcached\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.6.18-1+deb12u1\n',
      'Package: tzdata\nStatus: install ok installed\nArchitecture: all\nVersion: 2024a-0+deb12u1\n',
    ].join('\n'),
  });
  return root;
}

describe('scanning an image composed at the registry, before its push', () => {
  it("reads the composed root through the mount it is given, names the image by its manifest's digest, and releases the mount", async () => {
    const root = composedRoot();
    const asked: string[] = [];
    let released = 0;
    const mount = (): Promise<Result<MountedImage, EngineFailure>> =>
      Promise.resolve(ok({ root, release: () => Promise.resolve(void released++) }));
    const scanned = await scanImage('registry.test/ns/memcached:t2', {
      ...settings,
      scanner: osv,
      engine: untouchedEngine(asked),
      composed: { mount, digest: DIGEST },
    });
    assert.ok(scanned.ok, scanned.ok ? '' : scanned.failure);
    assert.equal(scanned.value.digest, DIGEST);
    assert.equal(scanned.value.source, 'mount');
    assert.deepEqual(
      scanned.value.inventory.packages.map((entry) => `${entry.name} ${entry.version}`),
      ['memcached 1.6.18-1+deb12u1', 'tzdata 2024a-0+deb12u1'],
    );
    assert.deepEqual(asked, [], 'the engine was not asked for an image it does not hold');
    assert.equal(released, 1);
  });

  it('fails the scan, saying why, when the composed root cannot be mounted: there is no export to fall back on', async () => {
    const asked: string[] = [];
    const mount = (): Promise<Result<MountedImage, EngineFailure>> =>
      Promise.resolve(fail({ kind: 'engine', message: 'mount -t overlay: exit 32' }));
    const scanned = await scanImage('registry.test/ns/memcached:t2', {
      ...settings,
      scanner: osv,
      engine: untouchedEngine(asked),
      composed: { mount, digest: DIGEST },
    });
    assert.ok(!scanned.ok);
    assert.equal(scanned.failure, 'registry.test/ns/memcached:t2: cannot read the image: mount -t overlay: exit 32');
    assert.deepEqual(asked, []);
  });

  it('refuses trivy, which reads an exported image, in one line', async () => {
    const asked: string[] = [];
    const mount = () => Promise.resolve(ok({ root: join(composedRoot()), release: () => Promise.resolve() }));
    const scanned = await scanImage('registry.test/ns/memcached:t2', {
      ...settings,
      scanner: { kind: 'trivy' },
      engine: untouchedEngine(asked),
      composed: { mount, digest: DIGEST },
    });
    assert.ok(!scanned.ok);
    assert.equal(scanned.failure, 'registry.test/ns/memcached:t2: trivy cannot read an image that is in no store');
    assert.deepEqual(asked, []);
  });
});
