import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { purlOf } from '../../src/scan/purl.js';
import { cycloneDx } from '../../src/scan/sbom.js';
import { summaryCsv } from '../../src/scan/scan-outputs.js';
import type { ImageScan } from '../../src/scan/scan-image.js';
import { parseTrivyReport } from '../../src/scan/trivy.js';
import type { InstalledPackage, Inventory } from '../../src/scan/types.js';
import { classify } from '../../src/scan/verdict.js';
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

function deb(name: string, version: string, sourceName: string, arch: string | undefined = 'amd64'): InstalledPackage {
  return { type: 'deb', name, version, sourceName, sourceVersion: version, ...(arch ? { arch } : {}) };
}
const python = (name: string, version: string): InstalledPackage => ({
  type: 'pypi',
  name,
  version,
  sourceName: name,
  sourceVersion: version,
});

const inventory: Inventory = {
  os: { id: 'debian', versionId: '12', codename: 'bookworm', prettyName: '' },
  packages: [
    deb('libssl3', '3.0.11-1~deb12u2', 'openssl'),
    deb('zlib1g', '1:1.2.13.dfsg-1', 'zlib'),
    { ...python('pyyaml', '6.0'), location: 'a/PyYAML-6.0.dist-info' },
    { ...python('pyyaml', '6.0'), location: 'b/PyYAML-6.0.dist-info' },
  ],
};

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
  it('spells purls as the purl spec does for deb, rpm and pypi', () => {
    const [, zlib, pyyaml] = inventory.packages;
    const zlibPurl = 'pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12';
    assert.equal(zlib && purlOf(zlib, inventory.os), zlibPurl);
    const libstdc = deb('libstdc++6', '12.2.0-14+deb12u1', 'gcc-12', '');
    assert.equal(purlOf(libstdc, inventory.os), 'pkg:deb/debian/libstdc%2B%2B6@12.2.0-14%2Bdeb12u1?distro=debian-12');
    const rocky = { id: 'rocky', versionId: '9.4', codename: '', prettyName: '' };
    const openssl: InstalledPackage = { ...deb('openssl-libs', '1:3.0.7-27.el9', 'openssl', 'x86_64'), type: 'rpm' };
    const opensslPurl = 'pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rocky-9.4&epoch=1';
    assert.equal(purlOf(openssl, rocky), opensslPurl);
    assert.equal(pyyaml && purlOf(pyyaml, undefined), 'pkg:pypi/pyyaml@6.0');
  });

  it('writes a CycloneDX 1.5 document with unique bom-refs and the source package as a property', () => {
    const subject = { reference: 'localhost/ns/keystone:t1', name: 'keystone', toolVersion: '0.1.0' };
    type Property = { name: string; value: string };
    type Component = { type: string; 'bom-ref': string; purl?: string; properties?: Property[] };
    const bom = cycloneDx(inventory, subject, new Date('2026-11-26T00:00:00Z')) as {
      bomFormat: string;
      specVersion: string;
      serialNumber: string;
      metadata: { timestamp: string; component: Record<string, string> };
      components: Component[];
    };
    assert.equal(bom.bomFormat, 'CycloneDX');
    assert.equal(bom.specVersion, '1.5');
    assert.match(bom.serialNumber, /^urn:uuid:[0-9a-f-]{36}$/);
    assert.equal(bom.metadata.timestamp, '2026-11-26T00:00:00Z');
    const container = { type: 'container', 'bom-ref': subject.reference, name: 'keystone', version: 't1' };
    assert.deepEqual(bom.metadata.component, container);
    const types = bom.components.map((component) => component.type);
    assert.deepEqual(types, ['operating-system', 'library', 'library', 'library', 'library']);
    const refs = bom.components.map((component) => component['bom-ref']);
    assert.equal(new Set(refs).size, refs.length);
    const source = { name: 'ci-builder:package:source', value: 'openssl 3.0.11-1~deb12u2' };
    assert.deepEqual(bom.components[1]?.properties, [source]);
  });

  it("puts the findings that decide, worst first, in the operators' CSV columns", () => {
    const findings = parseTrivyReport(trivyFixture(), 'fixture');
    const { verdict, statuses } = classify(findings, { ignoreUnfixed: false, allowed: new Set() });
    const scan: ImageScan = {
      reference: 'localhost/ns/keystone:t1',
      name: 'keystone',
      scanner: 'trivy',
      verdict,
      inventory,
      findings: findings.map((finding, index) => ({ ...finding, status: statuses[index] ?? 'counted' })),
      source: 'layers',
      seconds: { export: 0, inventory: 0, match: 0 },
    };
    assert.equal(
      summaryCsv([scan]),
      [
        '"Image","PkgName","InstalledVersion","VulnerabilityID","FixedVersion","PrimaryURL","Severity"',
        '"localhost/ns/keystone:t1","libssl3","3.0.11-1~deb12u2","CVE-2099-3001","3.0.15-1~deb12u1",' +
          '"https://avd.aquasec.com/nvd/cve-2099-3001","CRITICAL"',
        '"localhost/ns/keystone:t1","libc6","2.36-9+deb12u4","CVE-2099-3002","",' +
          '"https://avd.aquasec.com/nvd/cve-2099-3002","HIGH"',
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
