import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { cycloneDxJson, SBOM_SPEC_VERSIONS } from '../../src/scan/sbom.js';
import { summaryCsv } from '../../src/scan/scan-outputs.js';
import type { ImageScan } from '../../src/scan/scan-image.js';
import { parseTrivyReport } from '../../src/scan/trivy.js';
import type { InstalledPackage, Inventory } from '../../src/scan/types.js';
import { classify } from '../../src/scan/verdict.js';
import { assertValidCycloneDx } from '../helpers/cyclonedx-schema.js';
import { projectRoot } from '../helpers/files.js';

const trivyFixture = () => readFileSync(`${projectRoot}/test/fixtures/scan/trivy-report.json`, 'utf8');

describe('trivy reports', () => {
  it('reads findings from every result; a result without Vulnerabilities has none', () => {
    const findings = parseTrivyReport(trivyFixture(), 'fixture');
    const described = findings.map((f) =>
      [f.id, f.package, f.packageType, f.installed, f.fixed || '-', f.severity].join(' '),
    );
    assert.deepEqual(described, [
      'CVE-2099-3001 libssl3 deb 3.0.11-1~deb12u2 3.0.15-1~deb12u1 CRITICAL',
      'CVE-2099-3002 libc6 deb 2.36-9+deb12u4 - HIGH',
      'CVE-2099-3003 linux-libc-dev deb 6.1.76-1 6.1.90-1 MEDIUM',
    ]);
    assert.equal(classify(findings, { ignoreUnfixed: false, allowed: new Set(['CVE-2099-3001']) }).verdict, 'dirty');
    assert.equal(classify(findings, { ignoreUnfixed: true, allowed: new Set(['CVE-2099-3001']) }).verdict, 'clean');
  });
  it('refuses output that is not a schema 2 report', () => {
    assert.throws(() => parseTrivyReport('{"SchemaVersion": 1}', 'x'), /not a trivy JSON report/);
    assert.throws(() => parseTrivyReport('2026-11-20 INFO starting', 'x'), /no JSON report/);
  });
});

function deb(
  name: string,
  version: string,
  sourceName: string,
  more: Partial<InstalledPackage> = {},
): InstalledPackage {
  return { type: 'deb', name, version, sourceName, sourceVersion: version, arch: 'amd64', ...more };
}
const python = (name: string, version: string, more: Partial<InstalledPackage> = {}): InstalledPackage => ({
  type: 'pypi',
  name,
  version,
  sourceName: name,
  sourceVersion: version,
  ...more,
});

const inventory: Inventory = {
  os: {
    id: 'debian',
    versionId: '12',
    codename: 'bookworm',
    prettyName: 'Debian GNU/Linux 12 (bookworm)',
    pointRelease: '12.8',
  },
  packages: [
    deb('libssl3', '3.0.11-1~deb12u2', 'openssl', { licenses: ['Apache-2.0', 'GPL-2+'], dependsOn: ['libc6'] }),
    deb('libc6', '2.36-9+deb12u4', 'glibc', { state: 'unpacked' }),
    deb('python3-yaml', '6.0-3+b2', 'pyyaml', { dependsOn: ['libc6'] }),
    python('PyYAML', '6.0', {
      location: 'usr/lib/python3/dist-packages/PyYAML-6.0.egg-info',
      owner: { type: 'deb', name: 'python3-yaml' },
      licenses: ['MIT License'],
    }),
    python('PyYAML', '6.0', { location: 'a/PyYAML-6.0.dist-info', installer: 'pip', licenses: ['MIT OR Apache-2.0'] }),
    python('PyYAML', '6.0', { location: 'b/PyYAML-6.0.dist-info' }),
  ],
};
const DIGEST = 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const subject = { reference: 'localhost/ns/keystone:t1', name: 'keystone', toolVersion: '0.1.0', digest: DIGEST };

type Property = { name: string; value: string };
type Component = {
  type: string;
  'bom-ref': string;
  name: string;
  version?: string;
  purl?: string;
  properties?: Property[];
  licenses?: unknown[];
  hashes?: Array<{ alg: string; content: string }>;
};
interface Bom {
  bomFormat: string;
  specVersion: string;
  serialNumber: string;
  metadata: { timestamp: string; component: Component };
  components: Component[];
  dependencies: Array<{ ref: string; dependsOn?: string[] }>;
}

/** RFC 4180 as spreadsheets read it: quoted cells, "" for a quote inside one. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        cell += '"';
        index++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\n') {
      rows.push([...row, cell]);
      [row, cell] = [[], ''];
    } else cell += char;
  }
  return rows;
}

describe('SBOM and summary', () => {
  for (const specVersion of SBOM_SPEC_VERSIONS) {
    it(`writes CycloneDX ${specVersion} that the official schema accepts`, async () => {
      const json = await cycloneDxJson(inventory, subject, { specVersion });
      await assertValidCycloneDx(json);
      assert.equal((JSON.parse(json) as Bom).specVersion, specVersion);
    });
  }

  it('names the image by digest and oci purl, its OS at the point release, each package with its licences', async () => {
    const bom = JSON.parse(await cycloneDxJson(inventory, subject, { now: new Date('2026-11-26T00:00:00Z') })) as Bom;
    assert.equal(bom.specVersion, '1.5', 'what the scanner writes');
    assert.match(bom.serialNumber, /^urn:uuid:[0-9a-f-]{36}$/);
    assert.match(bom.metadata.timestamp, /^2026-11-26T00:00:00(\.000)?Z$/);
    const image = bom.metadata.component;
    const purl = `pkg:oci/keystone@${DIGEST}?repository_url=localhost%2Fns%2Fkeystone&tag=t1`;
    assert.deepEqual(
      [image.type, image.name, image.version, image.purl, image['bom-ref']],
      ['container', 'keystone', 't1', purl, purl],
    );
    assert.deepEqual(image.hashes, [{ alg: 'SHA-256', content: DIGEST.slice('sha256:'.length) }]);
    const os = bom.components.find((component) => component.type === 'operating-system');
    assert.deepEqual([os?.name, os?.version], ['debian', '12.8']);
    const refs = bom.components.map((component) => component['bom-ref']);
    assert.equal(new Set(refs).size, refs.length, 'bom-refs are unique');
    const byPurl = (prefix: string) => bom.components.filter((component) => component.purl?.startsWith(prefix));
    const libssl = byPurl('pkg:deb/debian/libssl3@').at(0);
    // Sorted, as the library writes lists for a reproducible document.
    assert.deepEqual(libssl?.licenses, [{ license: { name: 'GPL-2+' } }, { license: { id: 'Apache-2.0' } }]);
    assert.deepEqual(libssl.properties, [{ name: 'ci-builder:package:source', value: 'openssl 3.0.11-1~deb12u2' }]);
    const libc = byPurl('pkg:deb/debian/libc6@').at(0);
    assert.deepEqual(libc?.properties, [
      { name: 'ci-builder:package:dpkg-state', value: 'unpacked' },
      { name: 'ci-builder:package:source', value: 'glibc 2.36-9+deb12u4' },
    ]);
    const pips = byPurl('pkg:pypi/pyyaml@6.0');
    assert.equal(pips.length, 3);
    const pipInstalled = pips.find((component) => component.properties?.some((p) => p.value === 'pip'));
    assert.deepEqual(pipInstalled?.licenses, [{ expression: 'MIT OR Apache-2.0' }]);
  });

  it('writes the dependency graph: image → OS and unowned Python, OS → packages, package → its dependencies and what it installed', async () => {
    const bom = JSON.parse(await cycloneDxJson(inventory, subject)) as Bom;
    const refOf = (test: (component: Component) => boolean) => bom.components.find(test)?.['bom-ref'] ?? '';
    const deb = (name: string) => refOf((component) => component.purl?.startsWith(`pkg:deb/debian/${name}@`) ?? false);
    const python = (location: string) =>
      refOf(
        (component) =>
          component.properties?.some((p) => p.name === 'ci-builder:package:location' && p.value.startsWith(location)) ??
          false,
      );
    const dependsOn = (ref: string) =>
      [...(bom.dependencies.find((entry) => entry.ref === ref)?.dependsOn ?? [])].sort();
    const os = refOf((component) => component.type === 'operating-system');
    assert.deepEqual(dependsOn(bom.metadata.component['bom-ref']), [os, python('a/'), python('b/')].sort());
    assert.deepEqual(dependsOn(os), [deb('libc6'), deb('libssl3'), deb('python3-yaml')].sort());
    assert.deepEqual(dependsOn(deb('libssl3')), [deb('libc6')]);
    const owned = python('usr/lib/python3');
    assert.deepEqual(dependsOn(deb('python3-yaml')), [deb('libc6'), owned].sort());
    const ownedComponent = bom.components.find((component) => component['bom-ref'] === owned);
    assert.ok(
      ownedComponent?.properties?.some((p) => p.name === 'ci-builder:package:owner' && p.value === deb('python3-yaml')),
    );
  });

  it("puts the findings that decide, worst first, in the operators' CSV columns, with the version compared", () => {
    const findings = parseTrivyReport(trivyFixture(), 'fixture');
    const dmsetup = {
      id: 'DSA-9200-1',
      aliases: [],
      package: 'dmsetup',
      packageType: 'deb',
      installed: '2:1.02.185-2',
      fixed: '2.03.16-3',
      severity: 'HIGH' as const,
      url: 'https://osv.dev/vulnerability/DSA-9200-1',
      source: 'osv',
      compared: { kind: 'source' as const, package: 'lvm2', version: '2.03.16-2' },
    };
    const all = [...findings, dmsetup];
    const { verdict, statuses } = classify(all, { ignoreUnfixed: false, allowed: new Set() });
    const scan: ImageScan = {
      reference: 'localhost/ns/keystone:t1',
      name: 'keystone',
      scanner: 'trivy',
      verdict,
      inventory,
      findings: all.map((finding, index) => ({ ...finding, status: statuses[index] ?? 'counted' })),
      source: 'layers',
      seconds: { export: 0, inventory: 0, match: 0 },
    };
    assert.equal(
      summaryCsv([scan]),
      [
        '"Image","PkgName","InstalledVersion","VulnerabilityID","FixedVersion","PrimaryURL","Severity","ComparedVersion","ComparedWith"',
        '"localhost/ns/keystone:t1","libssl3","3.0.11-1~deb12u2","CVE-2099-3001","3.0.15-1~deb12u1",' +
          '"https://avd.aquasec.com/nvd/cve-2099-3001","CRITICAL","",""',
        '"localhost/ns/keystone:t1","libc6","2.36-9+deb12u4","CVE-2099-3002","",' +
          '"https://avd.aquasec.com/nvd/cve-2099-3002","HIGH","",""',
        '"localhost/ns/keystone:t1","dmsetup","2:1.02.185-2","DSA-9200-1","2.03.16-3",' +
          '"https://osv.dev/vulnerability/DSA-9200-1","HIGH","2.03.16-2","source lvm2"',
        '',
      ].join('\n'),
    );
  });

  it('keeps every cell text in a spreadsheet: one that would start a formula gets an apostrophe', () => {
    const finding = (value: string) => ({
      id: 'CVE-1',
      aliases: [],
      package: value,
      packageType: 'deb',
      installed: '1.0-1',
      fixed: '-1',
      severity: 'HIGH' as const,
      url: value,
      source: 'osv',
      status: 'counted' as const,
    });
    const hostile = ['=HYPERLINK("http://evil.example","x")', '+1+1', '-2+3', '@SUM(1)', '\tcmd', '\rcmd', 'a=b'];
    const scan: ImageScan = {
      reference: '=cmd|" /C calc"!A0',
      name: 'keystone',
      scanner: 'osv',
      verdict: 'dirty',
      inventory,
      findings: hostile.map(finding),
      source: 'layers',
      seconds: { export: 0, inventory: 0, match: 0 },
    };
    const rows = parseCsv(summaryCsv([scan])).slice(1);
    const column = (index: number) => rows.map((row) => row[index] ?? '').sort();
    const expected = hostile.map((value) => (value === 'a=b' ? value : `'${value}`)).sort();
    assert.deepEqual(column(1), expected, 'package names');
    assert.deepEqual(column(5), expected, 'URLs');
    assert.ok(
      column(0).every((cell) => cell === `'=cmd|" /C calc"!A0`),
      'the image reference too',
    );
    assert.ok(
      column(4).every((cell) => cell === "'-1"),
      'and any other column',
    );
  });
});
