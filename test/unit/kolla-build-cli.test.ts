import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import {
  hostKollaArch,
  kollaCommandLineValues,
  unhonourableKollaFlags,
  type KollaBuildSwitches,
} from '../../src/kolla/cli-flags.js';
import { kollaSummaryOf } from '../../src/report/kolla-summary.js';
import type { RunSummary } from '../../src/report/summary.js';
import { runCli } from '../helpers/cli.js';
import { projectRoot, temporaryDir, writeTree } from '../helpers/index.js';

/** A tiny checkout shaped as a 2024.1-era release (its tag is its version, from PBR_VERSION). */
const checkout = join(projectRoot, 'test/fixtures/kolla-checkout-render');
const env = { PBR_VERSION: '2.0.0' };
const kollaBuild = (args: string[], cwd = temporaryDir()) =>
  runCli(['kolla-build', '--kolla-dir', checkout, ...args], { cwd, env });

/** Every file under a folder, relative to it, sorted. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir)
    .flatMap((name) =>
      statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name), `${prefix}${name}/`) : [prefix + name],
    )
    .sort();
}

describe('ci-builder kolla-build: listings, as kolla-build prints them', () => {
  it('--list-images numbers the selected images, parents first; a regex brings its parents', async () => {
    const all = await kollaBuild(['--list-images']);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, '1 : base\n2 : demo\n3 : prom-base\n4 : prom-node\n');
    const some = await kollaBuild(['--list-images', 'node']);
    assert.equal(some.stdout, '1 : base\n2 : prom-base\n3 : prom-node\n');
  });

  it('scripts/kolla-build answers as kolla-build where Kayobe looks for it (a link in its virtualenv)', async () => {
    const venvBin = temporaryDir();
    symlinkSync(join(projectRoot, 'scripts/kolla-build'), join(venvBin, 'kolla-build'));
    const { stdout } = await promisify(execFile)(join(venvBin, 'kolla-build'), ['--list-images', 'node'], {
      cwd: temporaryDir(),
      env: { ...process.env, ...env, CI_BUILDER_KOLLA_DIR: checkout },
    });
    assert.equal(stdout, '1 : base\n2 : prom-base\n3 : prom-node\n');
  });

  it('--list-dependencies prints the JSON tree: a parent is {name: [children]}, a leaf its name', async () => {
    const result = await kollaBuild(['--list-dependencies']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { base: ['demo', { 'prom-base': ['prom-node'] }] });
    const none = await kollaBuild(['--list-dependencies', 'nothing-is-called-this']);
    assert.equal(none.stdout, 'Nothing matched!\n');
  });
});

describe('ci-builder kolla-build --template-only', () => {
  it('writes the work dir as kolla-build does: docker/<path in the tree>/Dockerfile and context', async () => {
    const workDir = join(temporaryDir(), 'work');
    const result = await kollaBuild(['--template-only', '--work-dir', workDir, '--format', 'json', 'demo']);
    assert.equal(result.code, 0, result.stderr);
    // kolla-build prints no summary for --template-only, even with --format json.
    assert.equal(result.stdout, '');
    assert.match(result.stderr, new RegExp(`Dockerfiles are generated in ${join(workDir, 'docker')}\n$`));
    // Every image of the tree is rendered, whatever the regexes, nested folders kept.
    assert.deepEqual(filesUnder(workDir), [
      'docker/base/Dockerfile',
      'docker/base/Dockerfile.j2',
      'docker/demo/Dockerfile',
      'docker/demo/Dockerfile.j2',
      'docker/demo/start.sh',
      'docker/infra/prom-base/Dockerfile',
      'docker/infra/prom-base/Dockerfile.j2',
      'docker/infra/prom-node/Dockerfile',
      'docker/infra/prom-node/Dockerfile.j2',
    ]);
    assert.equal(readFileSync(join(workDir, 'docker/demo/Dockerfile'), 'utf8'), 'FROM demo/base:2.0.0\nUSER 50001');
  });

  it("keeps the tree's files outside image folders (macros.j2 at its root) in the work dir, as kolla-build", async () => {
    const copy = join(temporaryDir(), 'kolla');
    cpSync(checkout, copy, { recursive: true });
    writeTree(join(copy, 'docker'), {
      'macros.j2': '{% macro noop() %}{% endmacro %}\n',
      'infra/README': 'shared notes\n',
      'infra/prom-base/notes.txt': 'only prom-base has it\n',
    });
    // A link at the root that stays in the tree is copied as the file it leads to, as kolla-build copies it.
    symlinkSync('infra/README', join(copy, 'docker/README'));
    const workDir = join(temporaryDir(), 'work');
    const result = await runCli(['kolla-build', '--kolla-dir', copy, '--template-only', '--work-dir', workDir], {
      cwd: temporaryDir(),
      env,
    });
    assert.equal(result.code, 0, result.stderr);
    const files = filesUnder(join(workDir, 'docker'));
    assert.deepEqual(
      files.filter((path) => !/^(base|demo|infra\/prom-(base|node))\//.test(path)),
      ['README', 'infra/README', 'macros.j2'],
    );
    assert.ok(files.includes('infra/prom-base/notes.txt'));
    const copied = (path: string) => readFileSync(join(workDir, 'docker', path), 'utf8');
    assert.equal(copied('macros.j2'), '{% macro noop() %}{% endmacro %}\n');
    assert.equal(copied('README'), 'shared notes\n');
    // A link that leaves the tree is refused, in one line naming it, as in an image folder.
    symlinkSync('/etc/hostname', join(copy, 'docker/host.txt'));
    const refused = await runCli(
      ['kolla-build', '--kolla-dir', copy, '--template-only', '--work-dir', join(temporaryDir(), 'work')],
      { cwd: temporaryDir(), env },
    );
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /docker: symlink host\.txt -> \/etc\/hostname leaves the image tree; refused\n$/);
  });

  it('reads kolla-build.conf from --config-dir, and its own flags override the file', async () => {
    const dir = writeTree(temporaryDir(), {
      'kolla/kolla-build.conf': [
        '[DEFAULT]',
        'base = beta',
        'base_tag = newname',
        'namespace = ops',
        'tag = 9.9',
        'template_override = template-override.j2',
        '',
        '[demo-user]',
        'uid = 4242',
        '',
      ].join('\n'),
      'kolla/template-override.j2':
        '{% extends parent_template %}\n{% block base_footer %}RUN echo footer{% endblock %}',
      'kolla/ignored.txt': '[DEFAULT]\nnamespace = never\n',
    });
    const workDir = join(dir, 'work');
    const args = ['--config-dir', join(dir, 'kolla'), '--template-only', '--work-dir', workDir];
    // Relative paths in the conf are taken against the working folder, as kolla-build takes them.
    const result = await kollaBuild([...args, '--registry', 'reg.example:5000', '--tag', '10.0'], join(dir, 'kolla'));
    assert.equal(result.code, 0, result.stderr);
    const read = (image: string) => readFileSync(join(workDir, 'docker', image, 'Dockerfile'), 'utf8');
    assert.match(read('base'), /^FROM beta:newname\n/);
    assert.match(read('base'), /\nRUN echo footer$/);
    assert.equal(read('demo'), 'FROM reg.example:5000/ops/base:10.0\nUSER 4242');
  });
});

describe('kolla-build.conf and the command line as the run settings', () => {
  it('threads, retries, push threads and engine: the command line over the files, the files over defaults', () => {
    const dir = writeTree(temporaryDir(), {
      'a.conf': '[DEFAULT]\nthreads = 3\nretries = 5\nengine = podman\n',
      'b.conf': '[DEFAULT]\nthreads = 4\n',
    });
    const loaded = loadConfig({
      cwd: dir,
      env,
      kolla: {
        dir: checkout,
        configFiles: [join(dir, 'a.conf'), join(dir, 'b.conf')],
        commandLine: kollaCommandLineValues({ retries: 1, pushThreads: 2 }),
      },
    });
    const { threads, retries, push_threads, engine } = loaded.config;
    assert.deepEqual(
      { threads, retries, push_threads, engine },
      { threads: 4, retries: 1, push_threads: 2, engine: 'podman' },
    );
  });
});

describe('kolla-build flags that reach the configuration', () => {
  it('--image-name-prefix names images, --timeout bounds source downloads, --enable-unbuildable empties the list', () => {
    const load = (commandLine: Parameters<typeof kollaCommandLineValues>[0], switches?: KollaBuildSwitches) =>
      loadConfig({
        cwd: temporaryDir(),
        env,
        kolla: { dir: checkout, commandLine: kollaCommandLineValues(commandLine, switches) },
      });
    const plain = load({});
    assert.equal(plain.config.image_prefix, '');
    assert.equal(plain.config.build.source_timeout, 120);
    assert.deepEqual(plain.config.distros.alpha?.unbuildable, ['broken']);
    const switches = {
      useDumbInit: false,
      dockerHealthchecks: true,
      enableUnbuildable: true,
      keep: false,
      squash: false,
    };
    const given = load({ imageNamePrefix: 'pre-', timeout: 30 }, switches);
    assert.equal(given.config.image_prefix, 'pre-');
    assert.equal(given.config.build.source_timeout, 30);
    assert.deepEqual(given.config.distros.alpha?.unbuildable, []);
    assert.equal(given.config.build.use_dumb_init, false);
  });
});

describe('ci-builder kolla-build: what it cannot honour is refused, never ignored', () => {
  it('--keep, --squash, another platform or architecture, --work-dir on a build: one line naming them, exit 2', async () => {
    const other = hostKollaArch() === 'aarch64' ? 'linux/amd64' : 'linux/arm64';
    const result = await kollaBuild(['--keep', '--platform', other, '--squash', '--nosquash', '--squash', 'demo']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /^ci-builder: error: cannot honour: --platform linux\/\w+ .*; --keep .*; --squash /);
    // The last of a pair wins, as with oslo.config.
    const unsquashed = await kollaBuild(['--squash', '--nosquash', '--keep', '--nokeep', '--list-images']);
    assert.equal(unsquashed.code, 0, unsquashed.stderr);
    const workDir = await kollaBuild(['--work-dir', temporaryDir(), 'demo']);
    assert.equal(workDir.code, 2);
    assert.match(workDir.stderr, /cannot honour: --work-dir without --template-only/);
  });

  it('an option kolla-build does not have, or no checkout: exit 2 and one line', async () => {
    const unknown = await kollaBuild(['--no-such-option', 'demo']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option '--no-such-option'/);
    // kolla-build's own, but not of this release (the fixture declares no patches_path): refused as it would be.
    const undeclared = await kollaBuild(['--patches-path', temporaryDir(), '--list-images']);
    assert.equal(undeclared.code, 2);
    assert.match(
      undeclared.stderr,
      /^ci-builder: error: --patches-path: not an option of Kolla 2030\.1's kolla-build\n$/,
    );
    const lonely = await runCli(['kolla-build', '--list-images'], { cwd: temporaryDir(), env });
    assert.equal(lonely.code, 2);
    assert.match(lonely.stderr, /^ci-builder: error: kolla-build needs the Kolla checkout .*--kolla-dir DIR/);
    const badFormat = await kollaBuild(['--format', 'yaml', '--list-images']);
    assert.equal(badFormat.code, 2);
    const badPlace = await kollaBuild(['--summary-json-file', '/proc/kolla-summary.json', 'demo']);
    assert.equal(badPlace.code, 2);
    assert.match(badPlace.stderr, /^ci-builder: error: --summary-json-file .*kernel file system/);
  });

  it("this host's platform is accepted; flags map onto kolla-build.conf's option names", () => {
    const host = hostKollaArch('x64');
    assert.deepEqual(unhonourableKollaFlags({ platform: 'linux/amd64', baseArch: 'x86_64' }, undefined, host), []);
    assert.deepEqual(unhonourableKollaFlags({ platform: 'linux/arm64' }, undefined, host).length, 1);
    assert.deepEqual(unhonourableKollaFlags({ networkMode: 'host', buildArgs: '' }, undefined, host), []);
    assert.equal(unhonourableKollaFlags({ networkMode: 'bridge', buildArgs: 'a:b' }, undefined, host).length, 2);
    assert.deepEqual(kollaCommandLineValues({ baseTag: '9', pushThreads: 2, templateOverride: ['a.j2'] }), {
      base_tag: '9',
      push_threads: 2,
      template_override: ['a.j2'],
    });
  });
});

describe("kolla-build's summary JSON", () => {
  it('has its five keys; a reused or patched image counts built, a push failure fails its image; every unbuildable is named', () => {
    const summary = {
      built: [{ name: 'base' }],
      reused: [{ name: 'demo' }, { name: 'prom-base' }],
      patched: [{ name: 'patched-one', packages: 2 }],
      failed: [{ name: 'prom-node', status: 'error', reason: 'exit 1' }],
      push_failed: [{ name: 'prom-base', reference: 'r/prom-base:1', reason: 'denied' }],
      not_matched: [{ name: 'other' }],
      skipped: [{ name: 'skipped-one', reason: 'exists' }],
      unbuildable: [{ name: 'never' }],
    } as unknown as RunSummary;
    assert.deepEqual(kollaSummaryOf(summary, ['never', 'never-child']), {
      built: [{ name: 'base' }, { name: 'demo' }, { name: 'patched-one' }],
      failed: [
        { name: 'prom-node', status: 'error' },
        { name: 'prom-base', status: 'push_error' },
      ],
      not_matched: [{ name: 'other' }],
      skipped: [{ name: 'skipped-one' }],
      unbuildable: [{ name: 'never' }, { name: 'never-child' }],
    });
  });
});
