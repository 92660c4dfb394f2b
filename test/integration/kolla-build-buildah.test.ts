import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pythonJson } from '../../src/report/kolla-summary.js';
import type { RunSummary } from '../../src/report/summary.js';
import { runCli } from '../helpers/cli.js';
import { projectRoot, temporaryDir, writeTree } from '../helpers/files.js';
import { buildahImages } from '../helpers/buildah-images.js';

const storage = ['--storage-driver', 'overlay'];

/** The bootstrapped Debian base image the suite keeps in buildah's storage, as kolla-build's base image and tag. */
function bootstrappedBase(): { image: string; tag: string } {
  const listed = buildahImages('{{.Name}}:{{.Tag}}');
  const found = listed.split('\n').find((line) => line.startsWith('localhost/ci-builder/bootstrap-debian:'));
  assert.ok(found, 'a bootstrapped debian base image (any build of the bundled config makes one)');
  const colon = found.lastIndexOf(':');
  return { image: found.slice(0, colon), tag: found.slice(colon + 1) };
}

describe('ci-builder kolla-build builds with buildah as kolla-build would', { timeout: 20 * 60_000 }, () => {
  const stamp = Date.now();
  const namespace = `kolla-build-test-${stamp}`;
  const tag = `t${stamp}`;
  const built: string[] = [];
  after(() => {
    if (built.length > 0) execFileSync('buildah', [...storage, 'rmi', ...built], { stdio: 'ignore' });
  });

  it('builds a tiny tree: summary JSON on stdout and in the file, logs per image, exit 1 for a failed image', async () => {
    // The fixture checkout, one image whose build fails, and "broken", which its alpha distro cannot build.
    const checkout = join(temporaryDir(), 'kolla');
    cpSync(join(projectRoot, 'test/fixtures/kolla-checkout-render'), checkout, { recursive: true });
    writeTree(checkout, {
      'docker/failing/Dockerfile.j2': 'FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\nRUN exit 3\n',
      'docker/broken/Dockerfile.j2': 'FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\n',
    });
    const base = bootstrappedBase();
    const work = temporaryDir();
    const summaryFile = join(work, 'summary.json');
    const logsDir = join(work, 'logs');
    const args = ['kolla-build', '--kolla-dir', checkout, '--engine', 'buildah', '--base-image', base.image];
    args.push('--base-tag', base.tag, '--namespace', namespace, '--tag', tag, '--retries', '0', '--nopull');
    args.push('--format', 'json', '--summary-json-file', summaryFile, '--logs-dir', logsDir, '^demo$', 'failing');
    const result = await runCli(args, { cwd: work, env: { PBR_VERSION: '2.0.0' } });
    built.push(...['base', 'demo'].map((name) => `localhost/${namespace}/${name}:${tag}`));

    assert.equal(result.code, 1, result.stderr);
    const expected = {
      built: [{ name: 'base' }, { name: 'demo' }],
      failed: [{ name: 'failing', status: 'error' }],
      not_matched: [{ name: 'prom-base' }, { name: 'prom-node' }],
      skipped: [],
      // As kolla-build: every unbuildable image of the tree, matched or not.
      unbuildable: [{ name: 'broken' }],
    };
    // As kolla-build: with a summary file, the summary goes there (indented) and not to stdout.
    assert.equal(result.stdout, '');
    assert.equal(readFileSync(summaryFile, 'utf8'), pythonJson(expected, 4));
    assert.deepEqual(readdirSync(logsDir).sort(), ['base-image.log', 'base.log', 'demo.log', 'failing.log']);
    const inspected = execFileSync('buildah', [...storage, 'inspect', '--type', 'image', built[1] ?? ''], {
      encoding: 'utf8',
    });
    assert.match(inspected, /"User": "50001"/);

    // Again without a file: the summary on stdout as json.dump prints it; base and demo are reused.
    const again = await runCli(
      args.filter((arg) => arg !== summaryFile && arg !== '--summary-json-file'),
      {
        cwd: work,
        env: { PBR_VERSION: '2.0.0' },
      },
    );
    assert.equal(again.code, 1, again.stderr);
    assert.equal(again.stdout, pythonJson(expected));
    assert.deepEqual(
      runSummaryOf(again.stderr)
        .reused.map((entry) => entry.name)
        .sort(),
      ['base', 'demo'],
    );

    // --nocache (Kayobe passes it when asked): every image built again, nothing reused.
    const fresh = await runCli([...args, '--nocache'], { cwd: work, env: { PBR_VERSION: '2.0.0' } });
    assert.equal(fresh.code, 1, fresh.stderr);
    const summary = runSummaryOf(fresh.stderr);
    assert.deepEqual(summary.reused, []);
    assert.deepEqual(summary.built.map((entry) => entry.name).sort(), ['base', 'demo']);
  });
});

/** The run's own summary.json, from the folder the command names on its last line. */
function runSummaryOf(stderr: string): RunSummary {
  const runDir = /run (\S+)\n$/.exec(stderr)?.[1];
  assert.ok(runDir, stderr);
  return JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as RunSummary;
}
