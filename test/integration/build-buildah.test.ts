import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { INPUT_DIGEST_LABEL } from '../../src/plan/plan.js';
import type { RunSummary } from '../../src/report/summary.js';
import { RegistryClient } from '../../src/registry/client.js';
import { buildWorkspace, type BuildWorkspace } from '../helpers/build-workspace.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { filesContaining, secretForms } from '../helpers/leaks.js';
import { freePort } from '../helpers/ports.js';
import { clientOf, startRegistry, type TestRegistry } from '../helpers/registry.js';

/** A representative subset of the bundled library: the base chain, an OpenStack service and two infrastructure leaves. */
const SUBSET = ['^cron$', '^memcached$', '^keystone$'];
const BUNDLED = ['base', 'cron', 'keystone', 'memcached', 'openstack-base'];
const names = (entries: Array<{ name: string }>) => entries.map((entry) => entry.name).sort();

describe('building the bundled tree with buildah and pushing to a real registry', { timeout: 30 * 60_000 }, () => {
  let registry: TestRegistry;
  let workspace: BuildWorkspace;
  let client: RegistryClient;

  const build = async (
    tag: string,
    extra: string[] = [],
  ): Promise<{ result: CliResult; summary: RunSummary; runDir: string }> => {
    const runDir = join(workspace.runsDir, tag);
    const result = await runCli(
      ['--config', workspace.configDir, 'build', '--push', '--tag', tag, ...(extra.length > 0 ? extra : SUBSET)],
      { cwd: workspace.dir },
    );
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as RunSummary;
    return { result, summary, runDir };
  };

  before(async () => {
    registry = await startRegistry();
    workspace = buildWorkspace(registry);
    client = clientOf(registry);
  });
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
  after(async () => registry?.stop());

  it('builds every image cold, pushes each, and labels it with its input digest', async () => {
    const { result, summary, runDir } = await build('cold-1');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(names(summary.built), BUNDLED);
    assert.deepEqual(names(summary.pushed), BUNDLED);
    assert.deepEqual(Object.keys(summary).slice(0, 5), ['built', 'failed', 'not_matched', 'skipped', 'unbuildable']);
    for (const name of BUNDLED) {
      const repository = `ci-builder-dev/${name}`;
      assert.ok((await client.listTags(repository)).includes('cold-1'), `${repository}:cold-1 is in the registry`);
      const config = await client.getImageConfig(repository, 'cold-1');
      assert.equal(
        config.config?.Labels?.[INPUT_DIGEST_LABEL],
        summary.images[name]?.input_digest,
        `${name} carries its input digest`,
      );
      assert.match(readFileSync(join(runDir, 'logs', `${name}.log`), 'utf8'), /pushed/);
      assert.equal(summary.images[name]?.reference, `${registry.address}/ci-builder-dev/${name}:cold-1`);
    }
    const head = await client.headManifest('ci-builder-dev/keystone', 'cold-1');
    assert.match(head?.digest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.equal(await client.headManifest('ci-builder-dev/keystone', 'no-such-tag'), undefined);
    const keystone = (await client.getImageConfig('ci-builder-dev/keystone', 'cold-1')).config?.Labels ?? {};
    assert.match(
      keystone['org.opencontainers.image.version'] ?? '',
      /^2:22\./,
      'the version label is the keystone package version',
    );
    assert.equal(keystone['org.opencontainers.image.title'], 'keystone');
    assert.match(keystone['ci-builder.repositories'] ?? '', /^debian=http:\/\/deb\.debian\.org\/debian,/);
    const report = readFileSync(join(runDir, 'report.html'), 'utf8');
    for (const name of BUNDLED) assert.ok(report.includes(`data-image="${name}"`), `report.html shows ${name}`);
    assert.equal(readFileSync(join(runDir, 'push-failed.txt'), 'utf8'), '');
    assert.deepEqual(
      filesContaining(workspace.dir + '/.ci-builder', secretForms(registry.username, registry.password)),
      [],
      'no credential in the run folder',
    );
    assert.ok(!result.stderr.includes(registry.password));
  });

  it('passes the smoke checks: each service answers and kolla_start applies a config.json as the service user', async () => {
    const result = await runCli(['--config', workspace.configDir, 'images', 'test', '--tag', 'cold-1', ...SUBSET], {
      cwd: workspace.dir,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^ok +keystone service: keystone-manage --version: 22\./m);
    assert.match(
      result.stdout,
      /^ok +keystone kolla_start: config copied as keystone:keystone 0640 and the command ran$/m,
    );
    assert.match(result.stdout, /^ok +cron kolla_start: config copied as kolla:kolla 0640/m);
    assert.match(result.stderr, /5 image\(s\) tested, 0 check\(s\) failed/);
  });

  it('builds nothing on a re-run with no change, and pushes the new tag', async () => {
    const started = Date.now();
    const { result, summary } = await build('rerun-2');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(summary.built, []);
    assert.deepEqual(names(summary.reused), BUNDLED);
    assert.deepEqual(names(summary.pushed), BUNDLED);
    assert.ok((await client.listTags('ci-builder-dev/keystone')).includes('rerun-2'));
    // Not a speed target (that is the benchmark's): a re-run that rebuilt anything would take minutes.
    assert.ok(Date.now() - started < 120_000, 're-run finishes in seconds, not a rebuild');
  });

  it('rebuilds exactly the leaf whose template changed', async () => {
    const template = join(workspace.imagesDir, 'memcached/Dockerfile.j2');
    writeFileSync(
      template,
      readFileSync(template, 'utf8').replace(
        '{% block memcached_footer %}',
        'RUN memcached -h > /dev/null\n{% block memcached_footer %}',
      ),
    );
    const { result, summary } = await build('leaf-3');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(names(summary.built), ['memcached']);
    assert.deepEqual(
      names(summary.reused),
      BUNDLED.filter((name) => name !== 'memcached'),
    );
  });

  it('with --skip-existing leaves images that exist at the tag alone, even when their inputs changed', async () => {
    const template = join(workspace.imagesDir, 'memcached/Dockerfile.j2');
    writeFileSync(
      template,
      readFileSync(template, 'utf8').replace(
        'RUN memcached -h > /dev/null\n',
        'RUN memcached -h > /dev/null && true\n',
      ),
    );
    const { result, summary } = await build('leaf-3', ['--skip-existing', ...SUBSET]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(summary.built, []);
    assert.deepEqual(summary.reused, []);
    assert.deepEqual(summary.pushed, [], 'skipped images are not pushed, as kolla-build does');
    assert.deepEqual(names(summary.skipped), [...BUNDLED].sort());
    assert.match(
      summary.skipped.find((entry) => entry.name === 'memcached')?.reason ?? '',
      /memcached:leaf-3 exists \(--skip-existing\)/,
    );
  });

  it('keeps building and pushing siblings of a failed image; its descendants are parent_error, naming it', async () => {
    const overlay = writeTree(temporaryDir(), {
      'broken/Dockerfile.j2':
        'FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\nRUN echo "about to fail" && false\n',
      'broken-child/Dockerfile.j2': 'FROM {{ namespace }}/{{ image_prefix }}broken:{{ tag }}\nRUN true\n',
      'sibling/Dockerfile.j2': `FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\nRUN echo sibling-${Date.now()} > /sibling\n`,
    });
    // One attempt: what a failure does to the rest is the subject here, not retries (a fail that never passes).
    const { result, summary, runDir } = await build('fail-4', [
      '--retries',
      '0',
      '--images-dir',
      overlay,
      '^broken',
      '^sibling$',
      '^cron$',
    ]);
    assert.equal(result.code, 1, result.stderr);
    const failed = summary.failed.map((entry) => [entry.name, entry.status]);
    assert.deepEqual(failed, [
      ['broken', 'error'],
      ['broken-child', 'parent_error'],
    ]);
    assert.match(summary.failed[0]?.reason ?? '', /buildah bud exited with/);
    assert.equal(summary.failed[1]?.reason, 'parent broken failed');
    assert.deepEqual(summary.skipped, []);
    assert.deepEqual(names(summary.built), ['sibling']);
    assert.deepEqual(names(summary.pushed), ['base', 'cron', 'sibling']);
    assert.match(readFileSync(join(runDir, 'logs/broken.log'), 'utf8'), /about to fail/);
    assert.ok((await client.listTags('ci-builder-dev/sibling')).includes('fail-4'));
    assert.match(result.stderr, /broken: FAILED/);
  });

  it('puts kolla-style sources into the build context: the image archive, a git plugin and an addition; a source that cannot be fetched fails only its image', async () => {
    const sources = temporaryDir();
    writeTree(sources, {
      'app/setup.py': 'print("app")\n',
      'extra/README': 'addition\n',
      'plugin/plugin.py': 'VERSION = 1\n',
    });
    const plugin = join(sources, 'plugin');
    for (const args of [
      ['init', '-q', '-b', 'main'],
      ['add', '.'],
      ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-q', '-m', 'plugin'],
      ['tag', '1.0'],
    ])
      execFileSync('git', ['-C', plugin, ...args]);
    const overlay = writeTree(temporaryDir(), {
      'sourced/Dockerfile.j2': [
        'FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}',
        'ADD sourced-archive /sourced-source',
        'ADD plugins-archive /',
        'ADD additions-archive /',
        'RUN test -f /sourced-source/app/setup.py && test -f /plugins/sourced-plugin-one-archive-1.0/plugin.py && test -d /plugins/sourced-plugin-one-archive-1.0/.git && test -f /additions/extra/README',
        '',
      ].join('\n'),
      'unfetchable/Dockerfile.j2':
        'FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\nADD unfetchable-archive /src\n',
    });
    const configFile = join(workspace.configDir, 'config.yml');
    const original = readFileSync(configFile, 'utf8');
    writeFileSync(
      configFile,
      `${original}\nsources:\n  sourced: { type: local, location: ${join(sources, 'app')} }\n  sourced-plugin-one: { type: git, location: ${plugin}, reference: '1.0' }\n  sourced-additions-extra: { type: local, location: ${join(sources, 'extra')} }\n  unfetchable: { type: url, location: 'http://127.0.0.1:${await freePort()}/nothing.tar.gz' }\n`,
    );
    try {
      const { result, summary, runDir } = await build('sources-5', [
        '--retries',
        '0',
        '--images-dir',
        overlay,
        '^sourced$',
        '^unfetchable$',
      ]);
      assert.equal(result.code, 1, result.stderr);
      assert.deepEqual(names(summary.built), ['sourced'], JSON.stringify(summary.failed));
      assert.deepEqual(
        summary.failed.map((entry) => entry.name),
        ['unfetchable'],
      );
      assert.match(summary.failed[0]?.reason ?? '', /^source unfetchable: /);
      assert.ok(existsSync(join(runDir, 'dockerfiles/sourced/Dockerfile')));
    } finally {
      writeFileSync(configFile, original);
    }
  });
});
