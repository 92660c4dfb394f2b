import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseParent } from '../../src/catalog/parent.js';
import { loadConfig } from '../../src/config/load.js';
import { packageCacheByDefault } from '../../src/run/settings.js';
import { runCli } from '../helpers/cli.js';
import { projectRoot, temporaryDir, writeTree } from '../helpers/index.js';

/** A tiny checkout shaped as a 2024.1-era release: build_date, distro_python_version, by-name repos.yaml. */
const checkout = join(projectRoot, 'test/fixtures/kolla-checkout-render');
const env = { PBR_VERSION: '2.0.0' };

function today(): string {
  const now = new Date();
  const two = (value: number) => String(value).padStart(2, '0');
  return `${now.getUTCFullYear()}${two(now.getUTCMonth() + 1)}${two(now.getUTCDate())}`;
}

const read = (dir: string, path: string) => readFileSync(join(dir, path), 'utf8');

describe('--kolla-dir: an upstream checkout is the configuration', () => {
  it("renders with nothing but the checkout, as its release's kolla-build does", async () => {
    const out = join(temporaryDir(), 'out');
    const result = await runCli(['images', 'render', '--kolla-dir', checkout, '--distro', 'alpha', '--out', out], {
      cwd: temporaryDir(),
      env,
    });
    assert.equal(result.code, 0, result.stderr);
    const aptFile = '/etc/apt/sources.list.d/extra.sources';
    assert.equal(
      read(out, 'base/Dockerfile'),
      [
        'FROM registry.example/alpha:7',
        `LABEL maintainer="Demo Maintainers <demo@example.org>" build-date="${today()}"`,
        // The release spells its branch with its own prefix, and passes no codename.
        'ENV BRANCH=retired-2030.1 SLASHED=retired/2030.1 PYTHON=3.7',
        'ENV KOLLA=2.0.0 CODENAME=none',
        // repos.yaml of the older kind: a missing repository is skipped, the last ` && ` cut.
        `RUN echo 'Uris: https://repo.example/alpha' >${aptFile} && echo 'Components: main' >>${aptFile} && ` +
          `echo 'Types: deb' >>${aptFile} && echo 'Suites: stable' >>${aptFile} && ` +
          `echo 'Signed-By: /etc/kolla/apt-keys/extra.asc' >>${aptFile} && echo 'Architectures: amd64' >>${aptFile}`,
        '',
      ].join('\n'),
    );
    // Kolla's namespace and its version as the tag; users from its table.
    assert.equal(read(out, 'demo/Dockerfile'), 'FROM demo/base:2.0.0\nUSER 50001');
    // The parent named through a variable the template never sets renders as prom-base.
    assert.equal(read(out, 'prom-node/Dockerfile'), 'FROM demo/prom-base:2.0.0');
    assert.equal(statSync(join(out, 'demo/start.sh')).mode & 0o111, 0o111);
    assert.equal(read(out, 'demo/Dockerfile.j2'), read(checkout, 'docker/demo/Dockerfile.j2'));
  });

  it("maps kolla-build.conf onto the config, and Kayobe's override keeps the text before its extends", async () => {
    const dir = writeTree(temporaryDir(), {
      'kolla/kolla-build.conf': [
        '[DEFAULT]',
        'base = beta',
        'base_tag = newname',
        'namespace = ops',
        'registry = reg.example:5000',
        'tag = 9.9',
        'template_override = template-override.j2',
        'bogus = 1',
        '',
        '[demo-user]',
        'uid = 4242',
        '',
        '[profiles]',
        'mine = ^demo',
        '',
      ].join('\n'),
      'kolla/template-override.j2':
        '# Ansible managed\n\n{% extends parent_template %}\n\n{% block base_footer %}\nRUN echo footer\n{% endblock %}\n\n',
    });
    const out = join(dir, 'out');
    const conf = join(dir, 'kolla/kolla-build.conf');
    const args = ['--kolla-dir', checkout, '--kolla-config', conf];
    const result = await runCli(['images', 'render', ...args, '--out', out], { cwd: join(dir, 'kolla'), env });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      result.stderr
        .trim()
        .split('\n')
        .filter((line) => /warning/.test(line)),
      [`ci-builder: warning: ${conf}: options Kolla 2030.1 does not know, ignored: [DEFAULT] bogus`],
    );
    const base = read(out, 'base/Dockerfile');
    assert.ok(base.startsWith('# Ansible managed\n\nFROM beta:newname\n'), base);
    // The base tag picks the release's repos variant and Python.
    assert.match(base, /PYTHON=3\.13/);
    assert.match(base, /Suites: newname/);
    assert.match(base, /\nRUN echo footer\n/);
    assert.equal(read(out, 'demo/Dockerfile'), '# Ansible managed\n\nFROM reg.example:5000/ops/base:9.9\nUSER 4242');

    const listed = await runCli(['images', 'list', ...args, '--profile', 'mine'], { cwd: join(dir, 'kolla'), env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.stdout.trim().split('\n'), ['base', 'demo']);
  });

  it('gives a newer release its codename, its branch spelling and tag, and no build_date or Python', async () => {
    const newer = join(projectRoot, 'test/fixtures/kolla-checkout-render-newer');
    const out = join(temporaryDir(), 'out');
    const result = await runCli(['images', 'render', '--kolla-dir', newer, '--distro', 'beta', '--out', out], {
      cwd: temporaryDir(),
      env,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      read(out, 'base/Dockerfile'),
      'FROM beta:newname\nENV BRANCH=master CODENAME=Zebra\nENV DATE=none PYTHON=none',
    );
    assert.equal(read(out, 'demo/Dockerfile'), 'FROM demo/base:master-beta-newname');
  });

  it("the config's kolla.dir works as the flag does, and the config's own keys win", async () => {
    const dir = writeTree(temporaryDir(), {
      'etc/config.yml': `kolla:\n  dir: ${checkout}\nmaintainer: Ops <ops@example.org>\n`,
    });
    const out = join(dir, 'out');
    const result = await runCli(['--config', join(dir, 'etc'), 'images', 'render', '--distro', 'alpha', '--out', out], {
      cwd: dir,
      env,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(read(out, 'base/Dockerfile'), /^LABEL maintainer="Ops <ops@example.org>"/m);
  });

  it('a kolla-build.conf without a checkout, or a checkout that is none, is one line and exit 2', async () => {
    const cwd = temporaryDir();
    const lonely = await runCli(['images', 'list', '--kolla-config', join(cwd, 'kolla-build.conf')], { cwd, env });
    assert.equal(lonely.code, 2);
    assert.equal(lonely.stderr, 'ci-builder: error: --kolla-config needs --kolla-dir (or kolla.dir)\n');
    const none = await runCli(['images', 'list', '--kolla-dir', cwd], { cwd, env });
    assert.equal(none.code, 2);
    assert.equal(none.stderr.trim().split('\n').length, 1);
    assert.match(none.stderr, /not a Kolla checkout/);
  });
});

describe('the checkout as a config layer', () => {
  it("takes Kolla's sources with their option references filled in, as oslo.config fills them", () => {
    const loaded = loadConfig({ kolla: { dir: checkout }, cwd: temporaryDir(), env });
    assert.deepEqual(loaded.config.sources['demo-base'], {
      type: 'url',
      location: 'https://tarballs.example/demo/demo-retired-2030.1.tar.gz',
      enabled: true,
    });
    assert.deepEqual(loaded.config.users['shared'], { uid: 50002, gid: 50100, group: 'sharers' });
    assert.deepEqual(loaded.config.sets['small'], [
      { regex: 'demo', enabled: true },
      { regex: 'demo-', enabled: true },
    ]);
    // The host's architecture adds its own entries (tool, on aarch64).
    assert.ok(loaded.config.distros['alpha']?.unbuildable.includes('broken'));
    assert.equal(loaded.config.default_distro, 'alpha');
  });
});

describe('parents named through variables', () => {
  it('takes a variable as rendering gives it: the string the template sets, else nothing', () => {
    const from = 'FROM {{ namespace }}/{{ infra_image_prefix }}prometheus-base:{{ tag }}\n';
    assert.deepEqual(parseParent(from), { kind: 'tree', name: 'prometheus-base' });
    assert.deepEqual(parseParent(`{% set infra_image_prefix = "infra-" %}\n${from}`), {
      kind: 'tree',
      name: 'infra-prometheus-base',
    });
  });
});

describe('the package cache with a Kolla checkout', () => {
  it('is on for ci-builder trees, off by default for a Kolla tree, and on there when the config asks', () => {
    const checkout = join(projectRoot, 'test/fixtures/kolla-checkout-render');
    const env = { PBR_VERSION: '2.0.0' };
    assert.equal(packageCacheByDefault(loadConfig({ cwd: temporaryDir(), env })), true);
    assert.equal(packageCacheByDefault(loadConfig({ cwd: temporaryDir(), env, kolla: { dir: checkout } })), false);
    const configDir = writeTree(temporaryDir(), { 'config.yml': 'proxy:\n  package_cache: true\n' });
    const asked = loadConfig({ cwd: temporaryDir(), env, configDir, kolla: { dir: checkout } });
    assert.equal(packageCacheByDefault(asked), true);
  });
});
