import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KollaCheckoutError, readKollaCheckout } from '../../src/kolla/read-checkout.js';
import {
  defaultImageTag,
  distroPythonVersion,
  openstackBranch,
  reposFileFor,
  unbuildableFor,
} from '../../src/kolla/release-values.js';
import { projectRoot, temporaryDir } from '../helpers/files.js';

const older = join(projectRoot, 'test/fixtures/kolla-checkout-older');
const newer = join(projectRoot, 'test/fixtures/kolla-checkout-newer');
const pinned = { env: { PBR_VERSION: '30.1.0' } };

/** A private copy of a fixture, outside any git repository, that a test may change. */
function copyOf(fixture: string): string {
  const dir = join(temporaryDir('kolla-checkout-'), 'kolla');
  cpSync(fixture, dir, { recursive: true });
  return dir;
}

function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  assert.ok(text.includes(from), `fixture ${file} has ${from}`);
  writeFileSync(file, text.replace(from, to));
}

describe('readKollaCheckout: the data tables', () => {
  it('reads users, filling the group from the section name when the table has none', async () => {
    const checkout = await readKollaCheckout(older, pinned);
    assert.deepEqual(checkout.users, {
      'demo-user': { uid: 50001, gid: 50001, group: 'demo' },
      'shared-user': { uid: 50002, gid: 50100, group: 'sharers' },
    });
  });

  it('reads sources as written, oslo interpolations left for the config to resolve', async () => {
    const checkout = await readKollaCheckout(older, pinned);
    assert.deepEqual(Object.keys(checkout.sources), ['demo-base', 'tool', 'demo-plugin-extra']);
    assert.equal(checkout.sources['demo-base']?.location, '$tarballs_base/demo/demo-${openstack_branch}.tar.gz');
    assert.deepEqual(checkout.sources['tool']?.sha256, { amd64: 'aa11', arm64: 'bb22' });
    assert.equal(checkout.sources['demo-plugin-extra']?.enabled, false);
    assert.equal(checkout.tarballsBase, 'https://tarballs.example');
  });

  it('reads profiles from the profile options and the maintainer from its default', async () => {
    const checkout = await readKollaCheckout(older, pinned);
    assert.deepEqual(checkout.profiles, { small: ['demo', 'demo-'], empty: [] });
    assert.equal(checkout.maintainer, 'Demo Maintainers <demo@example.org>');
  });

  it('reads distros: base image, tag and pretty name; release; no codename where none is defined', async () => {
    const checkout = await readKollaCheckout(older, pinned);
    assert.deepEqual(checkout.distros, {
      alpha: { baseImage: 'registry.example/alpha', baseTag: '7', prettyName: 'Alpha Linux 7' },
      beta: { baseImage: 'beta', baseTag: 'oldname', prettyName: 'Beta OS 3 (oldname)' },
    });
    assert.equal(checkout.release, '2030.1');
    assert.equal(checkout.codename, null);
    const later = await readKollaCheckout(newer, pinned);
    assert.equal(later.codename, 'Zebra');
    assert.equal(later.release, 'master');
  });

  it('finds the image tree under docker/ or kolla/docker/', async () => {
    assert.equal((await readKollaCheckout(older, pinned)).imageTreeLocation, 'docker');
    const later = await readKollaCheckout(newer, pinned);
    assert.equal(later.imageTreeLocation, 'kolla/docker');
    assert.equal(later.imageTree, join(newer, 'kolla/docker'));
  });

  it("reads unbuildable images: an empty {} entry is an empty list; keys match the release's elements", async () => {
    const checkout = await readKollaCheckout(older, pinned);
    assert.deepEqual(checkout.unbuildable.table['beta'], []);
    assert.deepEqual(checkout.unbuildable.keyElements, ['base', 'base_arch']);
    assert.deepEqual(unbuildableFor(checkout, { base: 'alpha', base_arch: 'x86_64' }), ['demo', 'demo-extra']);
    assert.deepEqual(unbuildableFor(checkout, { base: 'alpha', base_arch: 'aarch64' }), [
      'demo',
      'demo-arm-only-broken',
      'demo-extra',
      'tool',
    ]);
    assert.deepEqual(unbuildableFor(checkout, { base: 'beta', base_arch: 'aarch64' }), ['tool']);
    const later = await readKollaCheckout(newer, pinned);
    assert.deepEqual(later.unbuildable.keyElements, ['base', 'base_arch', 'base_tag']);
    assert.deepEqual(unbuildableFor(later, { base: 'alpha', base_arch: 'x86_64', base_tag: '9' }), ['demo', 'tool']);
    assert.deepEqual(unbuildableFor(later, { base: 'alpha', base_arch: 'x86_64', base_tag: '10' }), ['demo']);
  });

  it('reads the options with their kinds, defaults, choices and bounds', async () => {
    const checkout = await readKollaCheckout(older, pinned);
    const option = (name: string) => checkout.options.cli.find((candidate) => candidate.name === name);
    assert.deepEqual(option('base')?.choices, ['alpha', 'beta']);
    assert.equal(option('threads')?.kind, 'IntOpt');
    assert.equal(option('threads')?.min, 1);
    assert.equal(option('profile')?.kind, 'MultiOpt');
    assert.equal(option('profile')?.help, null, 'a help text built by code is not guessed');
    assert.equal(option('openstack-release')?.default, '2030.1');
    assert.deepEqual(option('tag')?.default, { $ref: 'kolla_version' });
    // The host's architecture, computed as the checkout computes it.
    const machine = execFileSync('uname', ['-m']).toString().trim();
    assert.equal(option('base-arch')?.default, machine);
    assert.equal(option('debian-arch')?.default, machine === 'aarch64' ? 'arm64' : 'amd64');
    assert.deepEqual(
      checkout.options.source.map((o) => `${o.kind}:${o.name}`),
      ['StrOpt:type', 'StrOpt:location', 'StrOpt:reference', 'BoolOpt:enabled', 'StrOpt:version', 'DictOpt:sha256'],
    );
    assert.deepEqual(
      checkout.options.user.map((o) => `${o.kind}:${o.name}`),
      ['IntOpt:uid', 'IntOpt:gid', 'StrOpt:group'],
    );
  });
});

describe('readKollaCheckout: what templates get on each release', () => {
  it('lists the keys of the values dict and the build_date format where the release has one', async () => {
    const checkout = await readKollaCheckout(older, pinned);
    assert.deepEqual(checkout.templates.keys, [
      'base_distro',
      'distro_python_version',
      'openstack_branch',
      'build_date',
      'kolla_version',
    ]);
    assert.equal(checkout.templates.buildDateFormat, '%Y%m%d');
    const later = await readKollaCheckout(newer, pinned);
    assert.ok(!later.templates.keys.includes('build_date'));
    assert.ok(later.templates.keys.includes('openstack_release_codename'));
    assert.equal(later.templates.buildDateFormat, null);
    assert.deepEqual(checkout.templates.globals, ['handle_repos']);
    assert.deepEqual(checkout.templates.filters, ['customizable']);
  });

  it("spells openstack_branch with the release's prefix, none for master", async () => {
    const checkout = await readKollaCheckout(older, pinned);
    assert.deepEqual(openstackBranch(checkout, '2030.1'), { dashed: 'retired-2030.1', slashed: 'retired/2030.1' });
    assert.deepEqual(openstackBranch(checkout, 'master'), { dashed: 'master', slashed: 'master' });
    const later = await readKollaCheckout(newer, pinned);
    assert.equal(openstackBranch(later, '2031.1').dashed, 'current-2031.1');
  });

  it('derives distro_python_version by the first matching rule, null where the release has none', async () => {
    const checkout = await readKollaCheckout(older, pinned);
    assert.equal(distroPythonVersion(checkout, 'alpha', '7'), '3.7');
    assert.equal(distroPythonVersion(checkout, 'beta', 'newname'), '3.13');
    assert.equal(distroPythonVersion(checkout, 'beta', '4.1'), '3.13');
    assert.equal(distroPythonVersion(checkout, 'beta', 'oldname'), '3.11');
    assert.equal(distroPythonVersion(checkout, 'gamma', 'x'), '3.6');
    assert.equal(distroPythonVersion(await readKollaCheckout(newer, pinned), 'beta', 'newname'), null);
  });

  it('picks the repos file variant and tells whether repos_yaml replaces or merges', async () => {
    const checkout = await readKollaCheckout(older, pinned);
    assert.deepEqual(checkout.reposYaml.files, ['repos-newname.yaml', 'repos.yaml']);
    assert.equal(checkout.reposYaml.override, 'replace');
    assert.equal(reposFileFor(checkout, 'beta', 'newname'), 'repos-newname.yaml');
    assert.equal(reposFileFor(checkout, 'beta', 'oldname'), 'repos.yaml');
    assert.equal(reposFileFor(checkout, 'beta', ''), 'repos.yaml');
    const later = await readKollaCheckout(newer, pinned);
    assert.equal(later.reposYaml.override, 'merge');
    assert.deepEqual(later.reposYaml.variants, []);
  });

  it("defaults the tag to kolla's version on older releases and to a format on newer ones", async () => {
    const checkout = await readKollaCheckout(older, pinned);
    assert.deepEqual(checkout.templates.defaultTag, { kind: 'kolla-version' });
    assert.equal(defaultImageTag(checkout, {}), '30.1.0');
    const later = await readKollaCheckout(newer, pinned);
    assert.deepEqual(later.templates.defaultTag, { kind: 'format', format: '{openstack_release}-{base}-{base_tag}' });
    assert.equal(
      defaultImageTag(later, { openstack_release: 'master', base: 'beta', base_tag: 'newname' }),
      'master-beta-newname',
    );
  });
});

describe('readKollaCheckout: kolla_version', () => {
  it('takes PBR_VERSION (short form) when set; templates get it when the checkout has no git', async () => {
    const dir = copyOf(older);
    const checkout = await readKollaCheckout(dir, { env: { PBR_VERSION: '31.0.0.0rc2' } });
    assert.deepEqual(checkout.version.version, { source: 'environment', variable: 'PBR_VERSION', version: '31.0.0' });
    assert.equal(checkout.version.gitShortSha, null);
    assert.equal(checkout.version.templateValue, '31.0.0');
  });

  it('says clearly that a checkout without git metadata and without PBR_VERSION has no version', async () => {
    const checkout = await readKollaCheckout(copyOf(older), { env: {} });
    assert.equal(checkout.version.version.source, 'none');
    assert.match(checkout.version.version.reason, /has no git metadata \(\.git\).*PBR_VERSION is not set/);
    assert.equal(checkout.version.templateValue, null);
  });

  it('ignores the git history of a repository the checkout merely sits in', async () => {
    const checkout = await readKollaCheckout(older, { env: {} });
    assert.equal(checkout.version.version.source, 'none');
    assert.equal(checkout.version.gitShortSha, null);
  });

  it('computes the version from git tags as pbr does; templates get the short commit id', async () => {
    const dir = copyOf(older);
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: dir,
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@e',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@e',
        },
      })
        .toString()
        .trim();
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'first');
    git('tag', '5.2.0');
    let checkout = await readKollaCheckout(dir, { env: {} });
    assert.deepEqual(checkout.version.version, {
      source: 'git',
      version: '5.2.0',
      lastTag: '5.2.0',
      commitsSinceTag: 0,
    });
    git('commit', '-q', '--allow-empty', '-m', 'a fix');
    git('commit', '-q', '--allow-empty', '-m', 'another fix');
    checkout = await readKollaCheckout(dir, { env: {} });
    assert.deepEqual(checkout.version.version, {
      source: 'git',
      version: '5.2.1',
      lastTag: '5.2.0',
      commitsSinceTag: 2,
    });
    assert.equal(checkout.version.gitShortSha, git('log', '-n1', '--pretty=format:%h'));
    assert.equal(checkout.version.templateValue, checkout.version.gitShortSha);
    git('commit', '-q', '--allow-empty', '-m', 'new things\n\nSem-Ver: feature');
    checkout = await readKollaCheckout(dir, { env: {} });
    assert.equal(checkout.version.version.source === 'git' ? checkout.version.version.version : '', '5.3.0');
    git('tag', '6.0.0.0rc1');
    git('commit', '-q', '--allow-empty', '-m', 'after the candidate');
    checkout = await readKollaCheckout(dir, { env: {} });
    assert.equal(checkout.version.version.source === 'git' ? checkout.version.version.version : '', '6.0.0');
    checkout = await readKollaCheckout(dir, { env: { PBR_VERSION: '7.1.2' } });
    assert.equal(checkout.version.templateValue, checkout.version.gitShortSha, 'a git checkout shows its commit');
  });
});

describe('readKollaCheckout: what it cannot read', () => {
  it('refuses a folder that is not a Kolla checkout', async () => {
    await assert.rejects(
      readKollaCheckout(temporaryDir('kolla-not-')),
      (error: unknown) =>
        error instanceof KollaCheckoutError &&
        /neither docker\/base nor kolla\/docker\/base exists/.test(error.message),
    );
  });

  it('names the file and the name when a table is missing', async () => {
    const dir = copyOf(older);
    writeFileSync(join(dir, 'kolla/common/users.py'), 'PEOPLE = {}\n');
    await assert.rejects(
      readKollaCheckout(dir, pinned),
      (error: unknown) =>
        error instanceof KollaCheckoutError &&
        error.message === `${join(dir, 'kolla/common/users.py')}: USERS: missing`,
    );
  });

  it('names the file and the option when a default is an expression it does not understand', async () => {
    const dir = copyOf(older);
    edit(join(dir, 'kolla/common/config.py'), "default='latest'", 'default=compute_tag()');
    await assert.rejects(
      readKollaCheckout(dir, pinned),
      (error: unknown) =>
        error instanceof KollaCheckoutError &&
        error.message.startsWith(`${join(dir, 'kolla/common/config.py')}: _CLI_OPTS: not understood: option base-tag`),
    );
  });

  it('names the file when a table is not a literal', async () => {
    const dir = copyOf(older);
    writeFileSync(join(dir, 'kolla/image/unbuildable.py'), 'UNBUILDABLE_IMAGES = build_table()\n');
    await assert.rejects(
      readKollaCheckout(dir, pinned),
      (error: unknown) =>
        error instanceof KollaCheckoutError &&
        error.message.startsWith(`${join(dir, 'kolla/image/unbuildable.py')}: UNBUILDABLE_IMAGES: not understood`),
    );
  });

  it('names the function when the values dict is not a literal', async () => {
    const dir = copyOf(older);
    edit(
      join(dir, 'kolla/image/kolla_worker.py'),
      "values = {'base_distro'",
      "values = dict(base_distro=1)\n        x = {'base_distro'",
    );
    await assert.rejects(
      readKollaCheckout(dir, pinned),
      /kolla_worker\.py: KollaWorker\.create_dockerfiles: values: no/,
    );
  });

  it('says when python3 is not there', async () => {
    await assert.rejects(
      readKollaCheckout(older, { ...pinned, python: 'no-such-python3' }),
      /no-such-python3 not found: reading a Kolla checkout needs python3/,
    );
  });
});
