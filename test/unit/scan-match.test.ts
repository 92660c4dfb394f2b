import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { allowedFor, parseAllowList } from '../../src/scan/allow-list.js';
import { cvss3BaseScore, severityOfScore } from '../../src/scan/cvss.js';
import { matchInventory } from '../../src/scan/match.js';
import type { Finding, InstalledPackage, Inventory } from '../../src/scan/types.js';
import { classify } from '../../src/scan/verdict.js';
import { loadVulnerabilityDatabase, VulnerabilityDatabase } from '../../src/scan/vulnerability-db.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { CRITICAL_VECTOR, HIGH_VECTOR, osvRecord } from '../helpers/osv-fixture.js';

const BOOKWORM = { id: 'debian', versionId: '12', codename: 'bookworm', prettyName: 'Debian 12' };
const ROCKY = { id: 'rocky', versionId: '9.4', codename: '', prettyName: 'Rocky Linux 9.4' };
const CRITICAL = CRITICAL_VECTOR;

function deb(name: string, version: string, source = name, sourceVersion = version): InstalledPackage {
  return { type: 'deb', name, version, sourceName: source, sourceVersion };
}

/** The common base of every image, and what each adds. */
const BASE = [deb('libc6', '2.36-9+deb12u4', 'glibc'), deb('libssl3', '3.0.11-1~deb12u2', 'openssl')];
const IMAGES: Record<string, Inventory> = {
  'keystone-api': { os: BOOKWORM, packages: [...BASE, deb('libcurl4', '7.88.1-10+deb12u5', 'curl')] },
  glance: { os: BOOKWORM, packages: [...BASE, deb('libxml2', '2.9.14+dfsg-1.3~deb12u1')] },
  nova: { os: BOOKWORM, packages: [...BASE, deb('zlib1g', '1:1.2.13.dfsg-1', 'zlib')] },
  cron: { os: BOOKWORM, packages: [...BASE] },
  barbican: { os: BOOKWORM, packages: [...BASE, deb('libexpat1', '2.5.0-1', 'expat')] },
};
const inventoryOf = (name: string): Inventory => IMAGES[name] ?? { os: undefined, packages: [] };

/**
 * keystone-api: a fixed CRITICAL; glance: a HIGH; nova: an unfixed CRITICAL;
 * barbican: a CRITICAL the allow-list silences.
 */
function fixtureRecords() {
  type More = { fixed?: string; vector?: string; word?: string; aliases?: string[] };
  const debian = (id: string, name: string, more: More) => osvRecord({ id, ecosystem: 'Debian:12', name, ...more });
  return [
    debian('DSA-9001-1', 'curl', { fixed: '7.88.1-10+deb12u6', vector: CRITICAL, aliases: ['CVE-2099-1001'] }),
    debian('DSA-9002-1', 'libxml2', { fixed: '2.9.14+dfsg-1.3~deb12u2', word: 'HIGH' }),
    debian('DEBIAN-CVE-2099-1003', 'zlib', { vector: CRITICAL }),
    debian('DSA-9004-1', 'expat', { fixed: '2.5.0-1+deb12u1', vector: CRITICAL, aliases: ['CVE-2099-1004'] }),
    // Every image has these packages, and none is affected: fixed below, another release, another ecosystem.
    debian('DSA-9005-1', 'openssl', { fixed: '3.0.11-1~deb12u1', vector: CRITICAL }),
    osvRecord({ id: 'DSA-9006-1', ecosystem: 'Debian:11', name: 'glibc', fixed: '2.31-13+deb11u9', vector: CRITICAL }),
    osvRecord({ id: 'UBUNTU-CVE-2099-1007', ecosystem: 'Ubuntu:22.04:LTS', name: 'glibc', vector: CRITICAL }),
    debian('DSA-9008-1', 'glibc', { fixed: '2.36-9+deb12u4', vector: CRITICAL }),
  ];
}

const ALLOW_LIST = `
global_allowed_vulnerabilities:
  - CVE-2000-0001
barbican_allowed_vulnerabilities:
  - CVE-2099-1004
workaround_ansible_issue_8743: yes
`;

function database(): VulnerabilityDatabase {
  const db = new VulnerabilityDatabase();
  for (const record of fixtureRecords()) db.addRecord(record);
  return db;
}

function verdicts(db: VulnerabilityDatabase, ignoreUnfixed: boolean): Record<string, string> {
  const allowList = parseAllowList(ALLOW_LIST, 'allowed-vulnerabilities.yml');
  const verdictOf = (name: string, inventory: Inventory) =>
    classify(matchInventory(inventory, db), { ignoreUnfixed, allowed: allowedFor(allowList, name) }).verdict;
  return Object.fromEntries(Object.entries(IMAGES).map(([name, inventory]) => [name, verdictOf(name, inventory)]));
}

const pypi = (version: string): Inventory => ({
  os: undefined,
  packages: [{ type: 'pypi', name: 'requests', version, sourceName: 'requests', sourceVersion: version }],
});

describe('matching inventories against OSV and classifying', () => {
  it('classifies as the operators do: critical, dirty (HIGH), an unfixed critical, an allowed one, clean', () => {
    assert.deepEqual(verdicts(database(), false), {
      'keystone-api': 'critical',
      glance: 'dirty',
      nova: 'critical',
      cron: 'clean',
      barbican: 'clean',
    });
  });

  it('with --ignore-unfixed, an image whose only CRITICAL has no fix is clean', () => {
    assert.deepEqual(verdicts(database(), true), {
      'keystone-api': 'critical',
      glance: 'dirty',
      nova: 'clean',
      cron: 'clean',
      barbican: 'clean',
    });
  });

  it('reports each finding on the binary package, with the fixed version, the severity from the CVSS vector and the source version compared', () => {
    const [finding, ...rest] = matchInventory(inventoryOf('keystone-api'), database());
    assert.deepEqual(rest, []);
    assert.deepEqual(finding, {
      id: 'DSA-9001-1',
      aliases: ['CVE-2099-1001'],
      package: 'libcurl4',
      packageType: 'deb',
      installed: '7.88.1-10+deb12u5',
      fixed: '7.88.1-10+deb12u6',
      severity: 'CRITICAL',
      url: 'https://osv.dev/vulnerability/DSA-9001-1',
      source: 'osv',
      compared: { kind: 'source', package: 'curl', version: '7.88.1-10+deb12u5' },
    });
  });

  it('evaluates introduced, fixed and last_affected events and versions lists', () => {
    const db = new VulnerabilityDatabase();
    type More = { introduced: string; fixed?: string; lastAffected?: string; versions?: string[]; word: string };
    const record = (id: string, more: More) =>
      osvRecord({ id, ecosystem: 'PyPI', name: id === 'R-1' ? 'Requests' : 'requests', ...more });
    db.addRecord(record('R-1', { introduced: '2.0', fixed: '2.31.0', word: 'MODERATE' }));
    db.addRecord(record('R-2', { introduced: '2.10', lastAffected: '2.28.1', word: 'HIGH' }));
    db.addRecord(record('R-3', { introduced: '9.0', versions: ['2.28.2'], word: 'LOW' }));
    const ids = (version: string) => matchInventory(pypi(version), db).map((f) => `${f.id}:${f.severity}:${f.fixed}`);
    assert.deepEqual(ids('1.9'), []);
    assert.deepEqual(ids('2.28.1'), ['R-1:MEDIUM:2.31.0', 'R-2:HIGH:']);
    assert.deepEqual(ids('2.28.2'), ['R-1:MEDIUM:2.31.0', 'R-3:LOW:']);
    assert.deepEqual(ids('2.31.0'), []);
  });

  it('matches rpm packages in Rocky Linux by binary or source name, with rpm ordering', () => {
    const db = new VulnerabilityDatabase();
    const rocky = (id: string, release: string, fixed: string, word: string) =>
      osvRecord({ id, ecosystem: `Rocky Linux:${release}`, name: 'openssl', fixed, word });
    db.addRecord(rocky('RLSA-2099:1', '9', '1:3.0.7-27.el9_4', 'Important'));
    db.addRecord(rocky('RLSA-2099:2', '8', '1:3.0.7-99.el8', 'Critical'));
    const version = '1:3.0.7-27.el9';
    const pkg: InstalledPackage = {
      type: 'rpm',
      name: 'openssl-libs',
      version,
      sourceName: 'openssl',
      sourceVersion: version,
      arch: 'x86_64',
    };
    const found = matchInventory({ os: ROCKY, packages: [pkg] }, db).map(
      (f) => `${f.id} ${f.package} ${f.severity} ${f.fixed}`,
    );
    assert.deepEqual(found, ['RLSA-2099:1 openssl-libs HIGH 1:3.0.7-27.el9_4']);
  });

  it('reads the Debian Security Tracker: open is unfixed, resolved fixed at its version, "0" never affected', () => {
    const db = new VulnerabilityDatabase();
    const bookworm = (status: string, urgency: string, fixed?: string) => ({
      releases: { bookworm: { status, urgency, ...(fixed ? { fixed_version: fixed } : {}) } },
    });
    db.addTracker({
      curl: {
        'CVE-2099-2001': bookworm('resolved', 'high', '7.88.1-10+deb12u6'),
        'CVE-2099-2002': bookworm('open', 'low*'),
        'CVE-2099-2003': bookworm('resolved', 'high', '0'),
        'CVE-2099-2004': bookworm('resolved', 'high', '7.88.1-10+deb12u1'),
        'CVE-2099-2005': { releases: { bullseye: { status: 'open', urgency: 'high' } } },
      },
    });
    const covering = { fixed: '7.88.1-10+deb12u7', word: 'HIGH', aliases: ['CVE-2099-2001'] };
    db.addRecord(osvRecord({ id: 'DSA-9009-1', ecosystem: 'Debian:12', name: 'curl', ...covering }));
    const found = matchInventory(inventoryOf('keystone-api'), db).map(
      (f) => `${f.id} ${f.severity} ${f.fixed || '-'} ${f.source}`,
    );
    assert.deepEqual(
      found,
      ['DSA-9009-1 HIGH 7.88.1-10+deb12u7 osv', 'CVE-2099-2002 LOW - debian-tracker'],
      'the urgency is the severity; the tracker entry an OSV alias covers is not counted twice',
    );
  });

  it('loads an all.zip, a folder of JSON and a tracker dump, and refuses an unknown document', async () => {
    const dir = temporaryDir();
    const records = fixtureRecords();
    writeTree(dir, Object.fromEntries(records.map((record) => [`unpacked/${record.id}.json`, JSON.stringify(record)])));
    const files = records.map((record) => join(dir, 'unpacked', `${record.id}.json`));
    execFileSync('zip', ['-q', '-j', join(dir, 'all.zip'), ...files]);
    const tracker = { curl: { 'CVE-2099-2002': { releases: { bookworm: { status: 'open', urgency: 'high' } } } } };
    writeTree(dir, { 'tracker.json': JSON.stringify(tracker) });
    const fromZip = await loadVulnerabilityDatabase([join(dir, 'all.zip')]);
    assert.equal(fromZip.recordCount, records.length);
    assert.deepEqual(verdicts(fromZip, false), verdicts(database(), false));
    const fromFolder = await loadVulnerabilityDatabase([join(dir, 'unpacked'), join(dir, 'tracker.json')]);
    assert.deepEqual(verdicts(fromFolder, false), verdicts(database(), false));
    const trackerFindings = matchInventory(inventoryOf('keystone-api'), fromFolder).filter(
      (f) => f.source === 'debian-tracker',
    );
    assert.deepEqual(
      trackerFindings.map((f) => `${f.id} ${f.severity}`),
      ['CVE-2099-2002 HIGH'],
    );
    writeTree(dir, { 'bad/x.json': '{"hello": 1}', 'broken/y.json': '{' });
    await assert.rejects(loadVulnerabilityDatabase([join(dir, 'bad')]), /x\.json: neither an OSV record/);
    await assert.rejects(
      loadVulnerabilityDatabase([join(dir, 'broken')]),
      /y\.json: line 1, column 2: not a valid JSON/,
    );
    await assert.rejects(loadVulnerabilityDatabase([join(dir, 'missing')]), /no such vulnerability database/);
  });
});

describe('severity', () => {
  const scores: Array<[string, number]> = [
    [CRITICAL_VECTOR, 9.8],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10],
    [HIGH_VECTOR, 7.5],
    ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.8],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
    ['CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N', 5.9],
    ['CVSS:3.0/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N', 1.6],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', 0],
  ];
  for (const [vector, score] of scores) {
    it(`${vector} scores ${score}`, () => assert.equal(cvss3BaseScore(vector), score));
  }
  it('refuses what is not a v3 vector', () => {
    assert.equal(cvss3BaseScore('AV:N/AC:L/Au:N/C:P/I:P/A:P'), undefined);
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L'), undefined);
  });
  it('rates scores as CVSS does', () => {
    const rated = [9, 8.9, 7, 6.9, 4, 3.9, 0.1].map(severityOfScore);
    assert.deepEqual(rated, ['CRITICAL', 'HIGH', 'HIGH', 'MEDIUM', 'MEDIUM', 'LOW', 'LOW']);
  });
  it('is UNKNOWN when the record rates nothing', () => {
    const db = new VulnerabilityDatabase();
    db.addRecord(osvRecord({ id: 'X-1', ecosystem: 'Debian:12', name: 'glibc', fixed: '9:0' }));
    const [finding] = matchInventory(inventoryOf('cron'), db);
    assert.equal(finding?.severity, 'UNKNOWN');
    assert.equal(classify([finding], { ignoreUnfixed: false, allowed: new Set() }).verdict, 'clean');
  });
});

describe('allow-lists', () => {
  it("takes the global list and the image's own (dashes as underscores), and ignores other keys", () => {
    const list = parseAllowList(`${ALLOW_LIST}keystone_api_allowed_vulnerabilities: [CVE-2099-1001]\n`, 'f.yml');
    assert.deepEqual([...allowedFor(list, 'keystone-api')].sort(), ['CVE-2000-0001', 'CVE-2099-1001']);
    assert.deepEqual([...allowedFor(list, 'cron')], ['CVE-2000-0001']);
  });
  it('names the file and key of a malformed entry', () => {
    const expected = /^UsageError: a\.yml: nova_allowed_vulnerabilities: expected a list of vulnerability ids$/;
    assert.throws(() => parseAllowList('nova_allowed_vulnerabilities: CVE-1\n', 'a.yml'), expected);
    assert.throws(() => parseAllowList('- x\n', 'a.yml'), /a\.yml: \(top level\)/);
    assert.throws(() => parseAllowList('a: [\n', 'a.yml'), /a\.yml: line 2, column 1: not valid YAML/);
  });
  it("counts a kernel finding against clean but never as critical, as the operators' script does", () => {
    const kernel: Finding = {
      id: 'K',
      aliases: [],
      package: 'linux-kernel-headers',
      packageType: 'deb',
      installed: '1',
      fixed: '2',
      severity: 'CRITICAL',
      url: '',
      source: 'osv',
    };
    assert.equal(classify([kernel], { ignoreUnfixed: false, allowed: new Set() }).verdict, 'dirty');
  });
});
