import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BuildahEngine } from '../../src/engine/buildah.js';
import { runCli } from '../helpers/cli.js';
import { projectRoot, temporaryDir, writeTree } from '../helpers/files.js';
import type { OsvRecord } from '../../src/scan/osv-record.js';
import { assertValidCycloneDx } from '../helpers/cyclonedx-schema.js';
import { CRITICAL_VECTOR, osvRecord } from '../helpers/osv-fixture.js';

const storage = ['--storage-driver', 'overlay'];
const SITE = '/usr/local/lib/python3.11/dist-packages';
const CRITICAL = CRITICAL_VECTOR;

/** Each image adds one Python distribution (a real dist-info) to the bootstrapped Debian base. */
const IMAGES: Record<string, string> = {
  'scan-critical': 'fixture-critical',
  'scan-high': 'fixture-high',
  'scan-unfixed': 'fixture-unfixed',
  'scan-clean': 'fixture-clean',
};

/**
 * Python installed both ways: a deb's (python3-six, from the mirror) and pip's (a dist-info with
 * pip's INSTALLER and RECORD, as pip writes them; there is no PyPI to install from here).
 */
const OWNED = 'scan-owned';
const OWNED_DOCKERFILE = [
  'FROM {{ base_image }}:{{ base_distro_tag }}',
  'RUN apt-get update && apt-get install -y --no-install-recommends python3-six && rm -rf /var/lib/apt/lists/*',
  `RUN d=${SITE}/fixture_pip-1.0.dist-info && mkdir -p $d && ` +
    "printf 'Metadata-Version: 2.1\\nName: fixture-pip\\nVersion: 1.0\\n' > $d/METADATA && " +
    "printf 'pip\\n' > $d/INSTALLER && printf 'fixture_pip-1.0.dist-info/METADATA,,\\n' > $d/RECORD",
  '',
].join('\n');

function dockerfile(distribution: string): string {
  const dir = `${SITE}/${distribution.replace(/-/g, '_')}-1.0.dist-info`;
  const metadata = `Metadata-Version: 2.1\\nName: ${distribution}\\nVersion: 1.0\\n`;
  return `FROM {{ base_image }}:{{ base_distro_tag }}\nRUN mkdir -p ${dir} && printf '${metadata}' > ${dir}/METADATA\n`;
}

describe('scanning images built with buildah', { timeout: 20 * 60_000 }, () => {
  const tag = `scan-${Date.now()}`;
  const work = temporaryDir('ci-builder-scan-');
  const reference = (name: string) => `localhost/scan-test/${name}:${tag}`;
  const references = Object.keys(IMAGES).map(reference);
  const owned = reference(OWNED);
  const clean = reference('scan-clean');
  const configDir = join(work, 'etc');
  const engine = new BuildahEngine();
  let dpkg: Array<{ name: string; version: string; source: string; sourceVersion: string }> = [];
  const scan = (args: string[], env?: NodeJS.ProcessEnv) => runCli(['--config', configDir, 'scan', ...args], { env });

  before(async () => {
    // The bundled config's Debian distro: the suite's bootstrapped base image, reused from its cache.
    const bundled = readFileSync(join(projectRoot, 'etc/ci-builder/config.yml'), 'utf8');
    writeTree(work, {
      'etc/config.yml': bundled
        .replace(/^namespace: .*$/m, 'namespace: scan-test')
        .replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${join(work, 'images')}`),
      // The bundled config names a secrets file; these images need no credentials.
      'etc/secrets.yml': '{}\n',
      ...Object.fromEntries(
        Object.entries(IMAGES).map(([name, pkg]) => [`images/${name}/Dockerfile.j2`, dockerfile(pkg)]),
      ),
      [`images/${OWNED}/Dockerfile.j2`]: OWNED_DOCKERFILE,
    });
    const built = await runCli(['-q', '--config', configDir, 'build', '--tag', tag], { cwd: work });
    assert.equal(built.code, 0, built.stderr);
    const format = '${db:Status-Status}\\t${Package}\\t${Version}\\t${source:Package}\\t${source:Version}\\n';
    const ran = await engine.run({ reference: reference('scan-clean'), command: ['dpkg-query', '-W', '-f', format] });
    assert.ok(ran.ok, ran.ok ? '' : ran.failure.message);
    const query = ran.value;
    assert.equal(query.exitCode, 0, query.output);
    dpkg = query.output
      .split('\n')
      .filter((line) => line.startsWith('installed\t'))
      .map((line) => {
        const [, name = '', version = '', source = '', sourceVersion = ''] = line.split('\t');
        return { name, version, source, sourceVersion };
      });
    assert.ok(dpkg.length > 50, 'dpkg-query lists the base packages');
  });
  after(() => execFileSync('buildah', [...storage, 'rmi', ...references, owned], { stdio: 'ignore' }));

  /** Every SBOM a scan wrote into `out`, checked against the official CycloneDX schema. */
  async function assertSbomsValid(out: string): Promise<void> {
    const sboms = readdirSync(join(out, 'scan')).filter((file) => file.endsWith('.cdx.json'));
    assert.ok(sboms.length > 0, 'the scan wrote SBOMs');
    for (const file of sboms) await assertValidCycloneDx(readFileSync(join(out, 'scan', file), 'utf8'));
  }

  /** The fixture: Debian advisories on the base's real glibc (one globally allowed), one per Python distribution. */
  function writeDatabase(): { db: string; allowList: string } {
    const glibc = dpkg.find((pkg) => pkg.name === 'libc6');
    assert.ok(glibc, 'the base has libc6');
    const dir = temporaryDir();
    const debian = [
      osvRecord({
        id: 'DSA-9100-1',
        ecosystem: 'Debian:12',
        name: glibc.source,
        fixed: `${glibc.sourceVersion}+fix1`,
        vector: CRITICAL,
        aliases: ['CVE-2099-9100'],
      }),
      // Fixed at the installed version: not affected.
      osvRecord({ id: 'DSA-9101-1', ecosystem: 'Debian:12', name: glibc.source, fixed: glibc.sourceVersion }),
    ];
    const pypi = [
      osvRecord({ id: 'PYSEC-2099-1', ecosystem: 'PyPI', name: 'fixture-critical', fixed: '1.1', vector: CRITICAL }),
      osvRecord({ id: 'PYSEC-2099-2', ecosystem: 'PyPI', name: 'fixture_high', fixed: '1.0.1', word: 'HIGH' }),
      osvRecord({ id: 'PYSEC-2099-3', ecosystem: 'PyPI', name: 'fixture-unfixed', vector: CRITICAL }),
      osvRecord({ id: 'PYSEC-2099-4', ecosystem: 'PyPI', name: 'fixture-clean', fixed: '1.0', vector: CRITICAL }),
    ];
    const asFiles = (prefix: string, records: OsvRecord[]) =>
      Object.fromEntries(records.map((record) => [`${prefix}/${record.id}.json`, JSON.stringify(record)]));
    writeTree(dir, asFiles('records', debian));
    const debianFiles = debian.map((record) => join(dir, 'records', `${record.id}.json`));
    execFileSync('zip', ['-q', '-j', join(dir, 'Debian-all.zip'), ...debianFiles]);
    writeTree(dir, asFiles('db/PyPI', pypi));
    execFileSync('cp', [join(dir, 'Debian-all.zip'), join(dir, 'db/Debian-all.zip')]);
    const allowed = 'global_allowed_vulnerabilities:\n  - CVE-2099-9100\nworkaround_ansible_issue_8743: yes\n';
    writeTree(dir, { 'allowed.yml': allowed });
    return { db: join(dir, 'db'), allowList: join(dir, 'allowed.yml') };
  }

  it('reads the same Debian inventory from the mounted image as dpkg-query inside the image', async () => {
    const out = temporaryDir();
    const { db, allowList } = writeDatabase();
    const result = await scan(['--osv-db', db, '--allowed-vulnerabilities', allowList, '--out', out, clean]);
    assert.equal(result.code, 0, result.stderr);
    type Property = { name: string; value: string };
    type Component = { name: string; version: string; purl?: string; properties?: Property[] };
    const bom = JSON.parse(readFileSync(join(out, 'scan/scan-clean.cdx.json'), 'utf8')) as { components: Component[] };
    const debs = bom.components.filter((component) => component.purl?.startsWith('pkg:deb/debian/'));
    const fromLayers = debs.map((component) => `${component.name} ${component.version}`).sort();
    assert.deepEqual(fromLayers, dpkg.map((pkg) => `${pkg.name} ${pkg.version}`).sort());
    for (const pkg of dpkg.filter((entry) => entry.source !== entry.name || entry.sourceVersion !== entry.version)) {
      const component = debs.find((entry) => entry.name === pkg.name);
      const source = component?.properties?.find((property) => property.name === 'ci-builder:package:source');
      assert.equal(source?.value, `${pkg.source} ${pkg.sourceVersion}`, pkg.name);
    }
    assert.ok(bom.components.some((component) => component.purl === 'pkg:pypi/fixture-clean@1.0'));
    const report = JSON.parse(readFileSync(join(out, 'scan/scan-clean.json'), 'utf8')) as { source: string };
    assert.equal(report.source, 'mount', 'buildah images are read from its storage, not exported');
    await assertSbomsValid(out);
    const left = ['containers', '-q', '--filter', `ancestor=${clean}`];
    assert.equal(execFileSync('buildah', [...storage, ...left], { encoding: 'utf8' }), '', 'the mount is released');
  });

  it('classifies each image; writes reports, SBOMs, the CSV and the lists; exits 1 for a critical image', async () => {
    const { db, allowList } = writeDatabase();
    const out = temporaryDir();
    const result = await scan(['--osv-db', db, '--allowed-vulnerabilities', allowList, '--out', out, ...references]);
    assert.equal(result.code, 1, result.stderr);
    const list = (verdict: string) =>
      readFileSync(join(out, 'scan', `${verdict}-images.txt`), 'utf8')
        .split('\n')
        .filter(Boolean)
        .sort();
    assert.deepEqual(list('critical'), [reference('scan-critical'), reference('scan-unfixed')]);
    assert.deepEqual(list('dirty'), [reference('scan-high')]);
    assert.deepEqual(list('clean'), [reference('scan-clean')]);
    const glibc = dpkg.find((entry) => entry.name === 'libc6')?.source;
    const glibcBinaries = dpkg
      .filter((pkg) => pkg.source === glibc)
      .map((pkg) => pkg.name)
      .sort();
    assert.ok(glibcBinaries.length >= 2, 'libc6 and libc-bin come from one source');
    assert.match(result.stdout, new RegExp(`^${reference('scan-high')} +dirty +0 +1 +${glibcBinaries.length} `, 'm'));
    const csv = readFileSync(join(out, 'scan/summary.csv'), 'utf8');
    const header = ['Image', 'PkgName', 'InstalledVersion', 'VulnerabilityID', 'FixedVersion', 'PrimaryURL'];
    header.push('Severity', 'ComparedVersion', 'ComparedWith');
    assert.ok(csv.startsWith(`"${header.join('","')}"\n`), csv);
    const url = 'https://osv.dev/vulnerability/PYSEC-2099-1';
    const row = ['fixture-critical', '1.0', 'PYSEC-2099-1', '1.1', url, 'CRITICAL'];
    assert.ok(csv.includes(`"${reference('scan-critical')}","${row.join('","')}"`), csv);
    const rows = !csv.includes('DSA-9100-1') && !csv.includes('DSA-9101-1');
    assert.ok(rows, 'the allowed and the fixed advisories are not rows');
    type Finding = Record<'id' | 'package' | 'status', string>;
    type Report = { verdict: string; os: { codename: string }; findings: Finding[] };
    const report = JSON.parse(readFileSync(join(out, 'scan/scan-clean.json'), 'utf8')) as Report;
    assert.equal(report.verdict, 'clean');
    assert.equal(report.os.codename, 'bookworm');
    assert.deepEqual(
      report.findings.map((finding) => `${finding.id} ${finding.package} ${finding.status}`).sort(),
      glibcBinaries.map((name) => `DSA-9100-1 ${name} allowed`),
      'the real glibc matched through its source name, on every binary package, and was allowed',
    );
    for (const name of Object.keys(IMAGES)) assert.ok(existsSync(join(out, `scan/${name}.cdx.json`)));
    await assertSbomsValid(out);

    const again = [reference('scan-unfixed'), reference('scan-high')];
    const ignoring = await scan([
      '--osv-db',
      db,
      '--allowed-vulnerabilities',
      allowList,
      '--ignore-unfixed',
      '--out',
      out,
      ...again,
    ]);
    assert.equal(ignoring.code, 0, ignoring.stderr);
    assert.deepEqual(list('clean'), [reference('scan-unfixed')]);
    assert.deepEqual(list('dirty'), [reference('scan-high')]);
    assert.deepEqual(list('critical'), []);
  });

  it('with --scanner trivy runs trivy on the exported image and reads its JSON', async () => {
    const bin = temporaryDir();
    const argsFile = join(bin, 'args');
    // Stands in for trivy (not installable here): records its arguments and prints a report of trivy's shape.
    const fake = [
      '#!/bin/sh',
      '[ "$1" = --version ] && { echo "Version: 0.49.0"; exit 0; }',
      `printf '%s\\n' "$@" > ${argsFile}`,
      // Like trivy, fail when the layout it is given is not there.
      'for a; do [ "$prev" = --input ] && { test -f "$a/index.json" || exit 1; }; prev=$a; done',
      `cat ${join(projectRoot, 'test/fixtures/scan/trivy-report.json')}`,
    ];
    writeTree(bin, { trivy: `${fake.join('\n')}\n` });
    chmodSync(join(bin, 'trivy'), 0o755);
    const out = temporaryDir();
    const env = { PATH: `${bin}:${process.env.PATH ?? ''}` };
    const result = await scan(['--scanner', 'trivy', '--out', out, reference('scan-clean')], env);
    assert.equal(result.code, 1, result.stderr);
    const args = readFileSync(argsFile, 'utf8').split('\n');
    assert.deepEqual(args.slice(0, 7), ['image', '--quiet', '--scanners', 'vuln', '--format', 'json', '--input']);
    await assertSbomsValid(out);
    assert.deepEqual(readFileSync(join(out, 'scan/critical-images.txt'), 'utf8'), `${reference('scan-clean')}\n`);
    const csv = readFileSync(join(out, 'scan/summary.csv'), 'utf8');
    const row = '"CVE-2099-3001","3.0.15-1~deb12u1","https://avd.aquasec.com/nvd/cve-2099-3001","CRITICAL"';
    assert.ok(csv.includes(row), csv);
    const report = JSON.parse(readFileSync(join(out, 'scan/scan-clean.json'), 'utf8')) as { source: string };
    assert.equal(report.source, 'layers', 'trivy reads the exported layout');
    const noTrivy = { PATH: '/usr/bin:/bin' };
    const missing = await scan(['--scanner', 'trivy', '--out', temporaryDir(), reference('scan-clean')], noTrivy);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no trivy command on PATH/);
  });

  it('applies a PyPI advisory to the pip-installed distribution only, and to the deb-owned one too when asked', async () => {
    const dir = temporaryDir();
    const pypi = [
      osvRecord({ id: 'PYSEC-2099-10', ecosystem: 'PyPI', name: 'six', fixed: '99.0', word: 'HIGH' }),
      osvRecord({ id: 'PYSEC-2099-11', ecosystem: 'PyPI', name: 'fixture_pip', fixed: '1.1', word: 'HIGH' }),
    ];
    writeTree(dir, Object.fromEntries(pypi.map((record) => [`PyPI/${record.id}.json`, JSON.stringify(record)])));
    type Report = { findings: Array<{ id: string; package: string }> };
    const findings = async (extra: string[]) => {
      const out = temporaryDir();
      const result = await scan(['--osv-db', dir, '--out', out, ...extra, owned]);
      assert.equal(result.code, 0, result.stderr);
      await assertSbomsValid(out);
      const report = JSON.parse(readFileSync(join(out, `scan/${OWNED}.json`), 'utf8')) as Report;
      return { out, found: report.findings.map((finding) => `${finding.id} ${finding.package}`).sort() };
    };
    const byDefault = await findings([]);
    assert.deepEqual(byDefault.found, ['PYSEC-2099-11 fixture-pip']);
    assert.deepEqual((await findings(['--language-packages', 'unowned'])).found, byDefault.found);
    assert.deepEqual((await findings(['--language-packages', 'all'])).found, [
      'PYSEC-2099-10 six',
      'PYSEC-2099-11 fixture-pip',
    ]);

    type Component = {
      'bom-ref': string;
      name: string;
      purl?: string;
      properties?: Array<{ name: string; value: string }>;
    };
    const bom = JSON.parse(readFileSync(join(byDefault.out, `scan/${OWNED}.cdx.json`), 'utf8')) as {
      metadata: { component: Component };
      components: Component[];
    };
    const property = (component: Component | undefined, name: string) =>
      component?.properties?.find((entry) => entry.name === `ci-builder:package:${name}`)?.value;
    const six = bom.components.find((component) => component.purl?.startsWith('pkg:pypi/six@'));
    const debSix = bom.components.find((component) => component.purl?.startsWith('pkg:deb/debian/python3-six@'));
    assert.equal(property(six, 'owner'), debSix?.['bom-ref'], 'the deb-owned distribution names its deb');
    const pip = bom.components.find((component) => component.purl?.startsWith('pkg:pypi/fixture-pip@'));
    assert.equal(property(pip, 'installer'), 'pip');
    assert.equal(property(pip, 'owner'), undefined);
    const inspected = execFileSync('buildah', [
      ...storage,
      'inspect',
      '--type',
      'image',
      '--format',
      '{{.FromImageDigest}}',
      owned,
    ]);
    assert.match(bom.metadata.component.purl ?? '', new RegExp(`^pkg:oci/${OWNED}@${inspected.toString().trim()}\\?`));
  });

  it('refuses bad input with exit 2, one line, and writes nothing', async () => {
    const { db } = writeDatabase();
    const out = temporaryDir();
    const cases: Array<[string[], RegExp]> = [
      [['--osv-db', db, '--out', out, 'localhost/scan-test/no-such-image:nope'], /no-such-image:nope: no such image/],
      [['--out', out, clean], /--osv-db PATH is needed/],
      [['--osv-db', join(out, 'missing'), '--out', out, clean], /no such vulnerability database/],
      [['--osv-db', db, '--allowed-vulnerabilities', join(out, 'none.yml'), clean], /cannot read the allowed/],
      [['--osv-db', db, '--out', out, clean, clean.replace(tag, 'other')], /two references name the image scan-clean/],
    ];
    for (const [args, message] of cases) {
      const result = await scan(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    }
    assert.deepEqual(readdirSync(out), []);
  });
});
