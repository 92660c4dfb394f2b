import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Engine, EngineResult } from '../../src/engine/types.js';
import { InventoryLimitError } from '../../src/scan/inventory-limits.js';
import { inventoryOfLayout, scanImage } from '../../src/scan/scan-image.js';
import {
  ImageLayoutError,
  LayeredFiles,
  layoutLayers,
  readLayoutFiles,
  type LayerCache,
} from '../../src/scan/layer-files.js';
import { TarFormatError, TarLimitError, type TarEntry } from '../../src/util/tar-stream.js';
import { VulnerabilityDatabase } from '../../src/scan/vulnerability-db.js';
import { InterruptedError } from '../../src/util/errors.js';
import { ok } from '../../src/util/result.js';
import { FakeEngine } from '../helpers/fake-engine.js';
import { temporaryDir } from '../helpers/files.js';
import { ociLayout, tarOf } from '../helpers/oci-layout.js';
import { rawTar } from '../helpers/tar-builder.js';

const DPKG_STATUS = `Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit
 multi-line description

Package: old-config
Status: deinstall ok config-files
Version: 1.0-1

Package: libgcc-s1
Status: install ok installed
Architecture: amd64
Source: gcc-12 (12.2.0-14)
Version: 12.2.0-14+deb12u1
`;

const OS_RELEASE = [
  'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
  'ID=debian',
  'VERSION_ID="12"',
  'VERSION_CODENAME=bookworm',
  '',
].join('\n');
const SITE = 'usr/lib/python3/dist-packages';
const LONG = `${SITE}/${'a-very-long-folder-name-'.repeat(6)}`;

describe('reading an image from its layers', () => {
  it('overlays layers: later files replace earlier ones; whiteouts and opaque folders hide what is below', async () => {
    const base = tarOf({
      'etc/os-release': OS_RELEASE,
      'var/lib/dpkg/status': 'Package: first\nStatus: install ok installed\nVersion: 1\n',
      [`${SITE}/requests-2.28.1.dist-info/METADATA`]: 'Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\n',
      [`${SITE}/gone-1.0.dist-info/METADATA`]: 'Name: gone\nVersion: 1.0\n',
      'opt/venv/lib/site/old-1.0.dist-info/METADATA': 'Name: old\nVersion: 1.0\n',
    });
    const middle = tarOf(
      {
        'var/lib/dpkg/status': DPKG_STATUS,
        [`${SITE}/.wh.gone-1.0.dist-info`]: '',
        'opt/venv/lib/site/.wh..wh..opq': '',
        'opt/venv/lib/site/new-2.0.dist-info/METADATA': 'Name: New_Package\nVersion: 2.0\n\nName: not-a-header\n',
      },
      'pax',
    );
    const egg = `${LONG}/Long.Name-0.1.egg-info/PKG-INFO`;
    const top = tarOf({ [egg]: 'Metadata-Version: 1.1\nName: Long.Name\nVersion: 0.1\n' });
    const layout = ociLayout([gzipSync(base), middle, gzipSync(top)]);

    const files = await readLayoutFiles(layout, () => true);
    assert.equal(files.get('var/lib/dpkg/status')?.content?.toString(), DPKG_STATUS, 'the upper layer wins');
    assert.ok(!files.has(`${SITE}/gone-1.0.dist-info/METADATA`), 'a whiteout hides a folder and its files');
    assert.ok(!files.has('opt/venv/lib/site/old-1.0.dist-info/METADATA'), 'an opaque folder hides what was below');
    const kept = files.has('opt/venv/lib/site/new-2.0.dist-info/METADATA');
    assert.ok(kept, "an opaque folder keeps its own layer's files");
    assert.ok(![...files.keys()].some((path) => path.includes('.wh.')), 'markers are not files');

    const inventory = await inventoryOfLayout(layout);
    const pretty = 'Debian GNU/Linux 12 (bookworm)';
    assert.deepEqual(inventory.os, { id: 'debian', versionId: '12', codename: 'bookworm', prettyName: pretty });
    const summary = inventory.packages
      .map((pkg) => `${pkg.type} ${pkg.name} ${pkg.version} <- ${pkg.sourceName} ${pkg.sourceVersion}`)
      .sort();
    assert.deepEqual(summary, [
      'deb libgcc-s1 12.2.0-14+deb12u1 <- gcc-12 12.2.0-14',
      'deb libssl3 3.0.11-1~deb12u2 <- openssl 3.0.11-1~deb12u2',
      'pypi Long.Name 0.1 <- Long.Name 0.1',
      'pypi New_Package 2.0 <- New_Package 2.0',
      'pypi requests 2.28.1 <- requests 2.28.1',
    ]);
    const longName = inventory.packages.find((pkg) => pkg.name === 'Long.Name');
    assert.equal(longName?.location, `${LONG}/Long.Name-0.1.egg-info`, 'GNU long names are read whole');
  });

  it('reads ustar names split into prefix and name, and an egg-info that is a file', async () => {
    const deep = `${'d'.repeat(90)}/${'e'.repeat(60)}`;
    const files = { [`${deep}/Thing-1.2.egg-info`]: 'Name: Thing\nVersion: 1.2\n', 'usr/lib/os-release': OS_RELEASE };
    const layout = ociLayout([tarOf(files, 'ustar')]);
    const inventory = await inventoryOfLayout(layout);
    const described = inventory.packages.map((pkg) => `${pkg.name} ${pkg.version} ${pkg.location}`);
    assert.deepEqual(described, [`Thing 1.2 ${deep}/Thing-1.2.egg-info`]);
    assert.equal(inventory.os?.codename, 'bookworm', 'os-release is also read from usr/lib');
  });

  it('reads a layer blob once for every image of a run that shares it', async () => {
    const layer = gzipSync(tarOf({ 'var/lib/dpkg/status': DPKG_STATUS, 'etc/os-release': OS_RELEASE }));
    const layout = ociLayout([layer]);
    const cache: LayerCache = new Map();
    const first = await inventoryOfLayout(layout, cache);
    const [blob] = await layoutLayers(layout);
    writeFileSync(blob ?? '', 'no longer a layer');
    const second = await inventoryOfLayout(layout, cache);
    assert.deepEqual(second, first, 'the second image reads the shared layer from the cache');
    await assert.rejects(inventoryOfLayout(layout), 'without the cache the blob is read again');
  });

  it('says which layout is not an image', async () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, 'index.json'), '{"manifests":[]}');
    await assert.rejects(
      readLayoutFiles(dir, () => true),
      /no image manifest/,
    );
  });
});

/** The typed refusal a scan reports for the image: its class and its one line. */
const refusal = (kind: new (message: string) => Error, pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof kind, `not a ${kind.name}: ${String(error)}`);
  assert.ok(!error.message.includes('\n'), `more than one line: ${error.message}`);
  assert.match(error.message, pattern);
  return true;
};

const LAYER = 'layer sha256:[0-9a-f]{16}';
const MiB = 1024 * 1024;

/** An engine that exports a prepared layout, so scanImage reads it as it would an image's. */
function layoutEngine(layout: string): Engine {
  return Object.assign(new FakeEngine(), {
    exportOci: (_reference: string, dir: string): EngineResult<void> => {
      cpSync(layout, dir, { recursive: true });
      return Promise.resolve(ok(undefined));
    },
  });
}

describe('reading layers someone else made', () => {
  it('refuses each inventory file past its limit before reading it, naming the layer, the path and the limit', async () => {
    const cases = [
      ['var/lib/dpkg/status', 65 * MiB, '65.0 MiB, more than the 64.0 MiB'],
      ['var/lib/dpkg/status.d/libc6', 65 * MiB, '65.0 MiB, more than the 64.0 MiB'],
      [`${SITE}/huge-1.0.dist-info/METADATA`, 9 * MiB, '9.0 MiB, more than the 8.0 MiB'],
      ['etc/os-release', 65 * 1024, '66560 bytes, more than the 65536 bytes'],
      ['var/lib/rpm/rpmdb.sqlite', 257 * MiB, '257.0 MiB, more than the 256.0 MiB'],
    ] as const;
    for (const [index, [path, size, said]] of cases.entries()) {
      // The first inflates for real; the others stop at their header (they would be read whole before it).
      const member = index === 0 ? { path, content: Buffer.alloc(size, 0x41) } : { path, declaredSize: size };
      const layout = ociLayout([gzipSync(rawTar([member], { end: index === 0 }))]);
      const escaped = path.replace(/[.]/g, '\\.');
      await assert.rejects(
        inventoryOfLayout(layout),
        refusal(TarLimitError, new RegExp(`^${LAYER}: ${escaped} is ${said} allowed$`)),
      );
    }
  });

  it("caps the image's total and each layer's kept entries", async () => {
    const metadata = (index: number) => ({
      path: `${SITE}/p${index}-1.dist-info/METADATA`,
      content: Buffer.alloc(MiB),
    });
    const layout = ociLayout([rawTar([metadata(1), metadata(2)]), rawTar([metadata(3)])]);
    await assert.rejects(
      readLayoutFiles(layout, () => true, new Map(), { maxImageBytes: 2.5 * MiB }),
      refusal(
        InventoryLimitError,
        new RegExp(`^${LAYER}: the files read from the image add up to more than the 2\\.5 MiB allowed$`),
      ),
    );
    const whiteouts = rawTar(Array.from({ length: 5 }, (_, index) => ({ path: `opt/.wh.gone-${index}` })));
    await assert.rejects(
      readLayoutFiles(ociLayout([whiteouts]), () => true, new Map(), { maxLayerEntries: 4 }),
      refusal(InventoryLimitError, new RegExp(`^${LAYER}: more than the 4 files and whiteouts allowed$`)),
    );
  });

  it('refuses a pax header or long name of megabytes, and a size that is not a number', async () => {
    const pax = rawTar([
      { path: 'PaxHeaders/x', type: 'x', content: Buffer.alloc(2 * MiB, 0x41) },
      { path: 'etc/os-release', content: Buffer.from(OS_RELEASE) },
    ]);
    await assert.rejects(
      inventoryOfLayout(ociLayout([pax])),
      refusal(TarLimitError, new RegExp(`^${LAYER}: a pax header of 2\\.0 MiB, more than the 1\\.0 MiB allowed$`)),
    );
    const longName = rawTar([{ path: '././@LongLink', type: 'L', content: Buffer.alloc(2 * MiB, 0x41) }]);
    await assert.rejects(
      inventoryOfLayout(ociLayout([longName])),
      refusal(TarLimitError, /a GNU long name of 2\.0 MiB/),
    );
    const badSize = rawTar([
      { path: 'PaxHeaders/y', type: 'x', content: Buffer.from('13 size=zzzz\n') },
      { path: 'etc/os-release', content: Buffer.from(OS_RELEASE) },
    ]);
    await assert.rejects(
      inventoryOfLayout(ociLayout([badSize])),
      refusal(TarFormatError, new RegExp(`^${LAYER}: a member's size is not a size$`)),
    );
  });

  it('a layer cut short is a TarFormatError naming the layer, and the scan reports it as the image failing', async () => {
    const layer = gzipSync(tarOf({ 'var/lib/dpkg/status': DPKG_STATUS.repeat(200), 'etc/os-release': OS_RELEASE }));
    const layout = ociLayout([layer.subarray(0, Math.floor(layer.length / 2))]);
    await assert.rejects(
      inventoryOfLayout(layout),
      refusal(TarFormatError, new RegExp(`^${LAYER}: cannot be read to its end \\(unexpected end of file\\)$`)),
    );
    const settings = {
      scanner: { kind: 'osv' as const, database: new VulnerabilityDatabase() },
      ignoreUnfixed: false,
      allowList: new Map(),
    };
    const scanned = await scanImage('localhost/cut:1', { ...settings, engine: layoutEngine(layout) });
    if (scanned.ok) assert.fail('the scan read an image whose layer is cut short');
    assert.match(
      scanned.failure,
      new RegExp(`^localhost/cut:1: cannot read the image's packages: ${LAYER}: cannot be read to its end`),
    );
  });

  it('refuses a manifest past 4 MiB, one that is not JSON, and a digest that leaves the layout', async () => {
    const layout = () => ociLayout([tarOf({ 'etc/os-release': OS_RELEASE })]);
    const big = layout();
    const index = readFileSync(join(big, 'index.json'), 'utf8');
    writeFileSync(join(big, 'index.json'), `${index}${' '.repeat(5 * MiB)}`);
    await assert.rejects(
      inventoryOfLayout(big),
      refusal(ImageLayoutError, /index\.json: OCI index or manifest is 5\.0 MiB, more than the 4\.0 MiB allowed$/),
    );
    const broken = layout();
    writeFileSync(join(broken, 'index.json'), '{"manifests": [');
    await assert.rejects(inventoryOfLayout(broken), refusal(ImageLayoutError, /index\.json: not valid JSON \(/));
    const escaping = layout();
    writeFileSync(
      join(escaping, 'index.json'),
      JSON.stringify({ manifests: [{ digest: 'sha256:../../../../etc/passwd' }] }),
    );
    await assert.rejects(
      inventoryOfLayout(escaping),
      refusal(ImageLayoutError, /index\.json: manifests\[0\]\.digest is not a sha256 or sha512 digest$/),
    );
  });

  it('matches whiteouts by folder: a hundred thousand of them over as many files take well under a second', () => {
    const count = 100_000;
    const merged = new LayeredFiles();
    const file = (index: number): TarEntry => ({
      path: `opt/site/p${index}.dist-info/METADATA`,
      kind: 'file',
      linkTarget: '',
      content: Buffer.from('Name: p\n'),
    });
    merged.applyLayer(Array.from({ length: count }, (_, index) => file(index)));
    const whiteout = (index: number): TarEntry => ({
      path: `opt/site/.wh.p${index}.dist-info`,
      kind: 'file',
      linkTarget: '',
    });
    const started = performance.now();
    merged.applyLayer([
      ...Array.from({ length: count - 1 }, (_, index) => whiteout(index)),
      { path: 'etc/.wh..wh..opq', kind: 'file', linkTarget: '' },
    ]);
    const seconds = (performance.now() - started) / 1000;
    assert.deepEqual([...merged.files.keys()], [`opt/site/p${count - 1}.dist-info/METADATA`]);
    assert.ok(seconds < 5, `took ${seconds.toFixed(1)} s`);
  });

  it('stops reading a large layer soon after the signal aborts', async () => {
    const layer = gzipSync(rawTar([{ path: 'usr/share/big.bin', content: Buffer.alloc(256 * MiB) }]), { level: 1 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    await assert.rejects(inventoryOfLayout(ociLayout([layer]), new Map(), controller.signal), InterruptedError);
    assert.ok(performance.now() - started < 1500, 'stopped in well under the 2 s an interrupt may take');
  });
});
