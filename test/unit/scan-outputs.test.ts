import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { purlOf } from '../../src/scan/purl.js';
import { cycloneDx } from '../../src/scan/sbom.js';
import { summaryCsv } from '../../src/scan/scan-outputs.js';
import type { ImageScan } from '../../src/scan/scan-image.js';
import { parseTrivyReport } from '../../src/scan/trivy.js';
import type { Inventory } from '../../src/scan/types.js';
import { classify } from '../../src/scan/verdict.js';
import { projectRoot } from '../helpers/files.js';

const trivyFixture = () => readFileSync(`${projectRoot}/test/fixtures/scan/trivy-report.json`, 'utf8');

describe('trivy reports', () => {
  it('reads findings from every result; a result without Vulnerabilities has none', () => {
    const findings = parseTrivyReport(trivyFixture(), 'fixture');
    assert.deepEqual(findings.map((f) => `${f.id} ${f.package} ${f.packageType} ${f.installed} ${f.fixed || '-'} ${f.severity}`), [
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

const inventory: Inventory = {
  os: { id: 'debian', versionId: '12', codename: 'bookworm', prettyName: '' },
  packages: [
    { type: 'deb', name: 'libssl3', version: '3.0.11-1~deb12u2', sourceName: 'openssl', sourceVersion: '3.0.11-1~deb12u2', arch: 'amd64' },
    { type: 'deb', name: 'zlib1g', version: '1:1.2.13.dfsg-1', sourceName: 'zlib', sourceVersion: '1:1.2.13.dfsg-1', arch: 'amd64' },
    { type: 'pypi', name: 'pyyaml', version: '6.0', sourceName: 'pyyaml', sourceVersion: '6.0', location: 'a/PyYAML-6.0.dist-info' },
    { type: 'pypi', name: 'pyyaml', version: '6.0', sourceName: 'pyyaml', sourceVersion: '6.0', location: 'b/PyYAML-6.0.dist-info' },
  ],
};

describe('SBOM and summary', () => {
  it('spells purls as the purl spec does for deb, rpm and pypi', () => {
    assert.equal(purlOf(inventory.packages[1]!, inventory.os), 'pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12');
    assert.equal(purlOf({ type: 'deb', name: 'libstdc++6', version: '12.2.0-14+deb12u1', sourceName: 'gcc-12', sourceVersion: '12.2.0-14' }, inventory.os), 'pkg:deb/debian/libstdc%2B%2B6@12.2.0-14%2Bdeb12u1?distro=debian-12');
    const rocky = { id: 'rocky', versionId: '9.4', codename: '', prettyName: '' };
    assert.equal(purlOf({ type: 'rpm', name: 'openssl-libs', version: '1:3.0.7-27.el9', sourceName: 'openssl', sourceVersion: '1:3.0.7-27.el9', arch: 'x86_64' }, rocky), 'pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rocky-9.4&epoch=1');
    assert.equal(purlOf(inventory.packages[2]!, undefined), 'pkg:pypi/pyyaml@6.0');
  });

  it('writes a CycloneDX 1.5 document with unique bom-refs and the source package as a property', () => {
    const bom = cycloneDx(inventory, { reference: 'localhost/ns/keystone:t1', name: 'keystone', toolVersion: '0.1.0' }, new Date('2026-11-26T00:00:00Z')) as {
      bomFormat: string; specVersion: string; serialNumber: string; metadata: { timestamp: string; component: { name: string; version: string; type: string } };
      components: Array<{ type: string; 'bom-ref': string; purl?: string; properties?: Array<{ name: string; value: string }> }>;
    };
    assert.equal(bom.bomFormat, 'CycloneDX');
    assert.equal(bom.specVersion, '1.5');
    assert.match(bom.serialNumber, /^urn:uuid:[0-9a-f-]{36}$/);
    assert.equal(bom.metadata.timestamp, '2026-11-26T00:00:00Z');
    assert.deepEqual(bom.metadata.component, { type: 'container', 'bom-ref': 'localhost/ns/keystone:t1', name: 'keystone', version: 't1' });
    assert.deepEqual(bom.components.map((component) => component.type), ['operating-system', 'library', 'library', 'library', 'library']);
    const refs = bom.components.map((component) => component['bom-ref']);
    assert.equal(new Set(refs).size, refs.length);
    assert.deepEqual(bom.components[1]?.properties, [{ name: 'ci-builder:package:source', value: 'openssl 3.0.11-1~deb12u2' }]);
  });

  it('puts the findings that decide, worst first, in the operators\' CSV columns', () => {
    const findings = parseTrivyReport(trivyFixture(), 'fixture');
    const { verdict, statuses } = classify(findings, { ignoreUnfixed: false, allowed: new Set() });
    const scan: ImageScan = {
      reference: 'localhost/ns/keystone:t1', name: 'keystone', scanner: 'trivy', verdict, inventory,
      findings: findings.map((finding, index) => ({ ...finding, status: statuses[index] ?? 'counted' })),
      seconds: { export: 0, inventory: 0, match: 0 },
    };
    assert.equal(summaryCsv([scan]), [
      '"Image","PkgName","InstalledVersion","VulnerabilityID","FixedVersion","PrimaryURL","Severity"',
      '"localhost/ns/keystone:t1","libssl3","3.0.11-1~deb12u2","CVE-2099-3001","3.0.15-1~deb12u1","https://avd.aquasec.com/nvd/cve-2099-3001","CRITICAL"',
      '"localhost/ns/keystone:t1","libc6","2.36-9+deb12u4","CVE-2099-3002","","https://avd.aquasec.com/nvd/cve-2099-3002","HIGH"',
      '',
    ].join('\n'));
  });
});
