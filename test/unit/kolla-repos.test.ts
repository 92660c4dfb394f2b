import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { discoverCatalog } from '../../src/catalog/discover.js';
import { handleRepos, mergeReposFiles } from '../../src/render/kolla-repos.js';
import type { ReposData } from '../../src/render/repos-data.js';
import { loadReposSource } from '../../src/render/repos-files.js';
import type { TemplateVariables } from '../../src/render/variables.js';
import { UsageError } from '../../src/util/errors.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { treeRenderer } from '../helpers/renderer.js';

const data: ReposData = {
  deb: { grafana: { url: 'https://apt.example/grafana', suite: 'stable', component: 'main', gpg_key: 'grafana.asc' } },
  debian: {
    debian: { distro: true },
    cloud: {
      url: 'https://mirror.example/cloud',
      suite: 'bookworm-{openstack_release_codename}-backports',
      component: 'main',
      gpg_key: '/usr/share/keyrings/cloud.gpg',
      trusted: true,
    },
  },
  'debian-aarch64': { grafana: { arch: 'arm64' } },
  rpm: {
    grafana: {
      name: 'grafana',
      baseurl: 'https://rpm.example/grafana\nhttps://rpm2.example/grafana\n',
      gpgkey: 'https://rpm.example/key1\nhttps://rpm.example/key2',
      gpgcheck: 1,
    },
  },
  rocky: {
    appstream: { name: 'appstream', distro: true, file_group: 'rocky' },
    baseos: { name: 'baseos', distro: true, file_group: 'rocky' },
    crb: { name: 'crb', distro: true },
    epel: {
      name: 'epel',
      metalink: 'https://mirrors.example/metalink?repo=epel-9',
      gpgkey: 'file:///etc/pki/epel',
      repo_gpgcheck: true,
    },
  },
};
const debian = {
  base_package_type: 'deb',
  base_distro: 'debian',
  base_arch: 'x86_64',
  debian_arch: 'amd64',
  openstack_release_codename: 'Zed',
};
const rocky = {
  base_package_type: 'rpm',
  base_distro: 'rocky',
  base_arch: 'x86_64',
  openstack_release_codename: 'Zed',
};
const source = mergeReposFiles([data]);
const aptFile = (repo: string) => `/etc/apt/sources.list.d/${repo}.sources`;

describe('handle_repos', () => {
  it('writes a deb822 .sources file per repository, keys under /etc/kolla/apt-keys unless absolute, codename lower-cased', () => {
    const out = handleRepos(source, debian, ['grafana', 'cloud'], 'enable');
    assert.equal(
      out,
      `RUN echo 'Uris: https://apt.example/grafana' >${aptFile('grafana')} && echo 'Components: main' >>${aptFile('grafana')} && echo 'Types: deb' >>${aptFile('grafana')} && echo 'Suites: stable' >>${aptFile('grafana')} && echo 'Signed-By: /etc/kolla/apt-keys/grafana.asc' >>${aptFile('grafana')}` +
        ` && echo 'Uris: https://mirror.example/cloud' >${aptFile('cloud')} && echo 'Components: main' >>${aptFile('cloud')} && echo 'Types: deb' >>${aptFile('cloud')} && echo 'Suites: bookworm-zed-backports' >>${aptFile('cloud')} && echo 'Signed-By: /usr/share/keyrings/cloud.gpg' >>${aptFile('cloud')} && echo 'Trusted: yes' >>${aptFile('cloud')}`,
    );
  });

  it('refines by <distro>-<arch>, leaves distro repositories alone, and keeps the trailing && a distro repository leaves last', () => {
    const out = handleRepos(source, { ...debian, base_arch: 'aarch64' }, ['grafana', 'debian'], 'enable');
    assert.ok(out.includes(`&& echo 'Architectures: arm64' >>${aptFile('grafana')} && `), out);
    assert.ok(out.endsWith(' && '), 'kolla-build keeps the separator before a skipped distro repository');
    assert.equal(handleRepos(source, debian, ['debian'], 'enable'), '');
    assert.equal(handleRepos(source, debian, ['grafana'], 'disable'), '');
  });

  it('writes dnf .repo files (several keys and base URLs), enables distro repositories, and disables without joining', () => {
    const repo = '/etc/yum.repos.d/grafana.repo';
    assert.equal(
      handleRepos(source, rocky, ['grafana', 'crb'], 'enable'),
      `RUN grep -rlF '[grafana]' /etc/yum.repos.d/ 2>/dev/null | xargs -r rm -f && echo '[grafana]' >${repo} && echo 'name=grafana' >>${repo} && echo 'enabled=1' >>${repo} && echo 'gpgcheck=1' >>${repo}` +
        ` && echo 'gpgkey=https://rpm.example/key1' >>${repo} && echo '       https://rpm.example/key2' >>${repo} && echo 'baseurl=https://rpm.example/grafana' >>${repo} && echo 'baseurl=https://rpm2.example/grafana' >>${repo}` +
        ' && dnf config-manager --enable crb || true',
    );
    assert.match(
      handleRepos(source, rocky, ['epel'], 'enable'),
      /echo 'repo_gpgcheck=True' >>\/etc\/yum\.repos\.d\/epel\.repo .*echo 'metalink=https:\/\/mirrors\.example\/metalink\?repo=epel-9' >>/,
    );
    assert.equal(
      handleRepos(source, rocky, ['crb', 'appstream', 'epel'], 'disable'),
      'RUN dnf config-manager --disable crb || truednf config-manager --disable appstream || true',
    );
  });

  it('refuses an override that replaces one distro repository of a shared .repo file but not the others', () => {
    const overridden = mergeReposFiles([
      data,
      { rocky: { appstream: { name: 'appstream', baseurl: 'http://pulp.example/appstream/', gpgkey: 'k' } } },
    ]);
    assert.throws(() => handleRepos(overridden, rocky, ['appstream'], 'enable'), /appstream .*baseos still use/);
    const both = mergeReposFiles([
      data,
      {
        rocky: {
          appstream: { name: 'appstream', baseurl: 'http://p/a/', gpgkey: 'k' },
          baseos: { name: 'baseos', baseurl: 'http://p/b/', gpgkey: 'k' },
        },
      },
    ]);
    assert.match(handleRepos(both, rocky, ['appstream'], 'enable'), /baseurl=http:\/\/p\/a\//);
  });

  it('names what is missing: an unknown repository, a repository without gpgkey, a non-list', () => {
    assert.throws(() => handleRepos(source, debian, ['nope'], 'enable'), /unknown repository "nope" for debian/);
    assert.throws(
      () => handleRepos(mergeReposFiles([{ rpm: { x: { name: 'x', baseurl: 'u' } } }]), rocky, ['x'], 'enable'),
      /"x" has no gpgkey/,
    );
    assert.throws(() => handleRepos(source, debian, 'grafana', 'enable'), /must be a list/);
  });

  it('is called from templates with their context, from repos.yaml files read as PyYAML reads them', () => {
    const root = temporaryDir();
    writeTree(root, {
      'kolla/template/repos.yaml':
        'deb:\n  extra:\n    url: "http://x.example"\n    suite: "s"\n    component: "c"\n    gpg_key: "k.asc"\n    trusted: yes\n',
      'kolla/docker/macros.j2': '',
      'kolla/docker/a/Dockerfile.j2': "FROM x\n{{ handle_repos(['extra'], 'enable') }}\n",
    });
    const catalog = discoverCatalog([join(root, 'kolla/docker')]);
    const repos = loadReposSource([], catalog.trees);
    assert.ok(repos, 'repos.yaml beside an upstream-style tree is found');
    const image = catalog.images.get('a');
    assert.ok(image);
    const values: TemplateVariables = {
      ...debian,
      base_image: 'x',
      base_distro_tag: 't',
      distro_package_manager: 'apt',
      namespace: 'n',
      image_prefix: '',
      tag: 't',
      image_name: 'a',
      maintainer: 'm',
      release: 'zed',
      base_package_type: 'deb',
    };
    const out = treeRenderer(catalog, { repos }).render(image, values);
    assert.match(
      out,
      /^FROM x\nRUN echo 'Uris: http:\/\/x\.example' .* && echo 'Trusted: yes' >>\/etc\/apt\/sources\.list\.d\/extra\.sources$/,
    );
    assert.throws(() => treeRenderer(catalog).render(image, values), /handle_repos needs repos\.yaml/);
  });

  it('rejects a repos.yaml of the wrong shape with the file and key', () => {
    const dir = writeTree(temporaryDir(), { 'bad.yaml': 'deb:\n  extra: [1, 2]\n', 'missing-dir/.keep': '' });
    assert.throws(
      () => loadReposSource([join(dir, 'bad.yaml')], []),
      (error: unknown) =>
        error instanceof UsageError && /bad\.yaml: deb\.extra: expected a mapping/.test(error.message),
    );
    assert.throws(() => loadReposSource([join(dir, 'nope.yaml')], []), /nope\.yaml: repos\.yaml file not found/);
  });
});
