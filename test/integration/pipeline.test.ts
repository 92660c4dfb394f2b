import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { OsvRecord } from '../../src/scan/osv-record.js';
import { runCli } from '../helpers/cli.js';
import { assertValidCycloneDx } from '../helpers/cyclonedx-schema.js';
import { projectRoot, temporaryDir, writeTree } from '../helpers/files.js';
import { CRITICAL_VECTOR, osvRecord } from '../helpers/osv-fixture.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const SITE = '/usr/local/lib/python3.11/dist-packages';

/** Each image adds one Python distribution (a real dist-info) to the bootstrapped Debian base. */
const OVERCLOUD: Record<string, string> = {
  'pipe-critical': 'fixture-critical',
  'pipe-high': 'fixture-high',
  'pipe-unfixed': 'fixture-unfixed',
  'pipe-allowed': 'fixture-allowed',
  'pipe-clean': 'fixture-clean',
};
const SEED: Record<string, string> = { 'pipe-seed': 'fixture-seed' };

function dockerfile(distribution: string): string {
  const dir = `${SITE}/${distribution.replace(/-/g, '_')}-1.0.dist-info`;
  const metadata = `Metadata-Version: 2.1\\nName: ${distribution}\\nVersion: 1.0\\n`;
  return `FROM {{ base_image }}:{{ base_distro_tag }}\nRUN mkdir -p ${dir} && printf '${metadata}' > ${dir}/METADATA\n`;
}

/** The OSV fixture: a CRITICAL, a HIGH, an unfixed CRITICAL, a CRITICAL the allow-list silences. */
function writeDatabase(dir: string): { db: string; allowList: string } {
  const records: OsvRecord[] = [
    osvRecord({
      id: 'PYSEC-2099-11',
      ecosystem: 'PyPI',
      name: 'fixture-critical',
      fixed: '1.1',
      vector: CRITICAL_VECTOR,
    }),
    osvRecord({ id: 'PYSEC-2099-12', ecosystem: 'PyPI', name: 'fixture-high', fixed: '1.0.1', word: 'HIGH' }),
    osvRecord({ id: 'PYSEC-2099-13', ecosystem: 'PyPI', name: 'fixture-unfixed', vector: CRITICAL_VECTOR }),
    osvRecord({
      id: 'PYSEC-2099-14',
      ecosystem: 'PyPI',
      name: 'fixture-allowed',
      fixed: '2.0',
      vector: CRITICAL_VECTOR,
    }),
  ];
  writeTree(dir, Object.fromEntries(records.map((record) => [`db/PyPI/${record.id}.json`, JSON.stringify(record)])));
  const allowed = 'pipe_allowed_allowed_vulnerabilities:\n  - PYSEC-2099-14\nworkaround_ansible_issue_8743: yes\n';
  writeTree(dir, { 'allowed.yml': allowed });
  return { db: join(dir, 'db'), allowList: join(dir, 'allowed.yml') };
}

describe('the pipeline: build, scan, gate and push with buildah and a real registry', { timeout: 20 * 60_000 }, () => {
  const work = temporaryDir('ci-builder-pipeline-');
  const configDir = join(work, 'etc');
  const built: string[] = [];
  let registry: TestRegistry;
  let fixture: { db: string; allowList: string };

  before(async () => {
    registry = await startRegistry();
    fixture = writeDatabase(join(work, 'fixture'));
    const bundled = readFileSync(join(projectRoot, 'etc/ci-builder/config.yml'), 'utf8');
    const sets = [
      'sets:',
      '  overcloud:',
      `    - { regex: "^pipe-(critical|high|unfixed|allowed|clean)$", enabled: true }`,
      '  seed:',
      '    - { regex: "^pipe-seed$", enabled: true }',
      '',
    ].join('\n');
    // A second distro whose base image exists nowhere: it fails on its own, the Debian runs go on.
    const broken = [
      '  broken:',
      '    version: none',
      '    package_type: deb',
      '    base_image: { image: localhost/pipeline-test/no-such-base, tag: none }',
      '',
    ].join('\n');
    const config = bundled
      .replace(/^registry: .*$/m, `registry: ${registry.address}`)
      .replace(/^namespace: .*$/m, 'namespace: pipeline-test')
      .replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${join(work, 'images')}`)
      .replace(/^distros:\n/m, `distros:\n${broken}`)
      .replace(/^sets:\n(?: {2,}.*\n)+/m, sets);
    writeTree(work, {
      'etc/config.yml': config,
      'etc/secrets.yml': `registry_username: ${registry.username}\nregistry_password: ${registry.password}\n`,
      ...Object.fromEntries(
        Object.entries({ ...OVERCLOUD, ...SEED }).map(([name, pkg]) => [
          `images/${name}/Dockerfile.j2`,
          dockerfile(pkg),
        ]),
      ),
    });
  });
  after(async () => {
    await registry.stop();
    if (built.length > 0)
      execFileSync('buildah', ['--storage-driver', 'overlay', 'rmi', ...built], { stdio: 'ignore' });
  });

  const pipeline = (args: string[]) =>
    runCli(['-q', '--config', configDir, 'pipeline', '--distro', 'debian', '--set', 'overcloud,seed', ...args], {
      cwd: work,
    });

  /** Whether the registry holds the image at this tag (a manifest HEAD with the registry's credentials). */
  async function inRegistry(name: string, tag: string): Promise<boolean> {
    const auth = Buffer.from(`${registry.username}:${registry.password}`).toString('base64');
    const url = `http://${registry.address}/v2/pipeline-test/${name}/manifests/${tag}`;
    const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
    const response = await fetch(url, { method: 'HEAD', headers: { authorization: `Basic ${auth}`, accept } });
    return response.status === 200;
  }

  const list = (dir: string, file: string) =>
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((reference) => reference.replace(/^.*\/([^/:]+):.*$/, '$1'))
      .sort();

  interface PipelineSummary {
    exit_code: number;
    reasons: string[];
    runs: Array<{ distro: string; set: string; tag: string; run_dir: string; summary: Record<string, unknown> | null }>;
  }
  const pipelineSummary = (dir: string) =>
    JSON.parse(readFileSync(join(dir, 'pipeline-summary.json'), 'utf8')) as PipelineSummary;

  it('scans each image as it is built, pushes clean and dirty, holds the critical one and exits 1 naming it', async () => {
    const artifacts = join(work, 'artifacts-1');
    const args = ['--push', '--osv-db', fixture.db, '--allowed-vulnerabilities', fixture.allowList];
    const result = await pipeline([...args, '--ignore-unfixed', '--artifacts', artifacts]);
    const summary = pipelineSummary(artifacts);
    const tag = summary.runs[0]?.tag ?? '';
    built.push(
      ...Object.keys({ ...OVERCLOUD, ...SEED }).map((name) => `${registry.address}/pipeline-test/${name}:${tag}`),
    );
    assert.equal(result.code, 1, result.stderr);
    const reasons = result.stderr.split('\n').filter((line) => line.startsWith('ci-builder: pipeline failed: '));
    assert.deepEqual(reasons, [
      'ci-builder: pipeline failed: debian overcloud: critical vulnerabilities, not pushed (--push-dirty pushes them): pipe-critical',
    ]);
    assert.match(tag, /^zed-debian-bookworm-\d{8}T\d{6}$/);
    assert.deepEqual(
      summary.runs.map((run) => `${run.distro} ${run.set} ${run.tag}`),
      [`debian overcloud ${tag}`, `debian seed ${tag}`],
      'overcloud then seed, under one tag',
    );

    assert.deepEqual(list(artifacts, 'critical-images.txt'), ['pipe-critical']);
    assert.deepEqual(list(artifacts, 'dirty-images.txt'), ['pipe-high']);
    assert.deepEqual(list(artifacts, 'clean-images.txt'), ['pipe-allowed', 'pipe-clean', 'pipe-seed', 'pipe-unfixed']);
    const pushed = ['pipe-allowed', 'pipe-clean', 'pipe-high', 'pipe-seed', 'pipe-unfixed'];
    assert.deepEqual(list(artifacts, 'push-attempt-images.txt'), pushed);
    assert.deepEqual(list(artifacts, 'push-failed-images.txt'), []);
    for (const name of pushed) assert.ok(await inRegistry(name, tag), `${name} is in the registry`);
    assert.equal(await inRegistry('pipe-critical', tag), false, 'the critical image was not pushed');

    const csv = readFileSync(join(artifacts, 'scan-summary.csv'), 'utf8');
    assert.ok(
      csv.startsWith('"Image","PkgName","InstalledVersion","VulnerabilityID","FixedVersion","PrimaryURL"'),
      csv,
    );
    const row = ['fixture-critical', '1.0', 'PYSEC-2099-11', '1.1', 'https://osv.dev/vulnerability/PYSEC-2099-11'];
    assert.ok(csv.includes(`"${row.join('","')}","CRITICAL"`), csv);
    assert.ok(csv.includes('"PYSEC-2099-12"') && !csv.includes('PYSEC-2099-14'), 'allowed findings are not rows');

    const overcloud = join(artifacts, 'debian', 'overcloud');
    for (const file of ['summary.json', 'report.html', 'build.log', 'logs/pipe-high.log', 'scan/pipe-high.cdx.json'])
      assert.ok(existsSync(join(overcloud, file)), file);
    assert.ok(existsSync(join(artifacts, 'debian', 'seed', 'scan', 'pipe-seed.json')));
    for (const set of ['overcloud', 'seed']) {
      const scanDir = join(artifacts, 'debian', set, 'scan');
      for (const file of readdirSync(scanDir).filter((name) => name.endsWith('.cdx.json')))
        await assertValidCycloneDx(readFileSync(join(scanDir, file), 'utf8'));
    }
    type Scanned = { name: string; verdict: string; counts: Record<string, number>; allowed: number };
    const runSummary = JSON.parse(readFileSync(join(overcloud, 'summary.json'), 'utf8')) as {
      scanned: Scanned[];
      held: Array<{ name: string; verdict: string }>;
    };
    const allowed = runSummary.scanned.find((scan) => scan.name === 'pipe-allowed');
    assert.deepEqual([allowed?.verdict, allowed?.allowed, allowed?.counts.CRITICAL], ['clean', 1, 0]);
    assert.equal(runSummary.scanned.find((scan) => scan.name === 'pipe-critical')?.counts.CRITICAL, 1);
    assert.deepEqual(
      runSummary.held.map((entry) => `${entry.name} ${entry.verdict}`),
      ['pipe-critical critical'],
    );
    const report = readFileSync(join(overcloud, 'report.html'), 'utf8');
    assert.match(report, /PYSEC-2099-14<\/a> fixture-allowed 1\.0, fixed in 2\.0 <span class="badge">allowed<\/span>/);
    assert.match(
      report,
      /<tr class="verdict-critical"><td><a href="scan\/pipe-critical\.json">pipe-critical<\/a><\/td><td>critical \(held\)/,
    );
  });

  it('with --push-dirty pushes every image, the unfixed critical one included, and exits 0', async () => {
    const artifacts = join(work, 'artifacts-2');
    const args = ['--push', '--push-dirty', '--osv-db', fixture.db, '--allowed-vulnerabilities', fixture.allowList];
    const result = await pipeline([...args, '--artifacts', artifacts]);
    const tag = pipelineSummary(artifacts).runs[0]?.tag ?? '';
    built.push(
      ...Object.keys({ ...OVERCLOUD, ...SEED }).map((name) => `${registry.address}/pipeline-test/${name}:${tag}`),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(list(artifacts, 'critical-images.txt'), ['pipe-critical', 'pipe-unfixed'], 'unfixed counts now');
    for (const name of Object.keys({ ...OVERCLOUD, ...SEED })) assert.ok(await inRegistry(name, tag), name);
    assert.equal(list(artifacts, 'push-attempt-images.txt').length, 6);
  });

  it('fails a distro that cannot be built on its own rules while the other distro is built and pushed', async () => {
    const artifacts = join(work, 'artifacts-3');
    const args = ['--distro', 'broken,debian', '--push', '--push-dirty', '--osv-db', fixture.db];
    const result = await pipeline([...args, '--artifacts', artifacts]);
    const summary = pipelineSummary(artifacts);
    const tag = summary.runs.find((run) => run.distro === 'debian')?.tag ?? '';
    built.push(
      ...Object.keys({ ...OVERCLOUD, ...SEED }).map((name) => `${registry.address}/pipeline-test/${name}:${tag}`),
    );
    assert.equal(result.code, 1, result.stderr);
    const reasons = result.stderr.split('\n').filter((line) => line.startsWith('ci-builder: pipeline failed: '));
    assert.equal(reasons[0], 'ci-builder: pipeline failed: broken: no image was built');
    assert.ok(
      reasons.some((line) => line.includes('broken overcloud: 5 build(s) failed')),
      reasons.join('\n'),
    );
    assert.ok(
      reasons.every((line) => !line.includes('debian')),
      reasons.join('\n'),
    );
    const stamps = new Set(summary.runs.map((run) => run.tag.slice(-15)));
    assert.equal(stamps.size, 1, 'one timestamp for every distro');
    assert.deepEqual(
      summary.runs.map((run) => `${run.distro} ${run.set}`),
      ['debian overcloud', 'debian seed', 'broken overcloud', 'broken seed'],
    );
    for (const name of Object.keys({ ...OVERCLOUD, ...SEED })) assert.ok(await inRegistry(name, tag), name);
  });

  it('refuses bad input with exit 2 and one line', async () => {
    const noDb = await pipeline(['--artifacts', join(work, 'artifacts-bad')]);
    assert.equal(noDb.code, 2, noDb.stderr);
    assert.match(noDb.stderr, /the osv scanner needs a database/);
    assert.equal(noDb.stderr.trim().split('\n').length, 1, noDb.stderr);
    assert.equal(existsSync(join(work, 'artifacts-bad')), false, 'nothing was written');
    const unknownSet = await pipeline(['--set', 'nope', '--osv-db', fixture.db]);
    assert.equal(unknownSet.code, 2);
    assert.match(unknownSet.stderr, /unknown set "nope"/);
  });
});
