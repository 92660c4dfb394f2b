import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handleReposByName, handleReposBySection } from '../../src/render/kolla-repos-older.js';

const rocky = { base_package_type: 'rpm', base_distro: 'rocky', base_arch: 'x86_64' };
const debian = { base_package_type: 'deb', base_distro: 'debian', base_arch: 'x86_64' };
const repoFile = '/etc/yum.repos.d/grafana.repo';

describe('handle_repos of releases that read repos.yaml by name (2024.1, 2025.1)', () => {
  it('switches rpm repositories by their bare names, skipping unknown ones', () => {
    const data = { rocky: { crb: 'crb', epel: 'epel' } };
    assert.equal(
      handleReposByName(data, rocky, ['crb', 'nope', 'epel'], 'enable'),
      'RUN dnf config-manager  --enable crb --enable epel || true',
    );
    assert.equal(handleReposByName(data, rocky, ['nope'], 'disable'), '');
  });

  it('prefers the <distro>-<arch> section and keeps what it wrote of an entry without arch', () => {
    const entry = { url: 'https://u', suite: 's', component: 'c', gpg_key: 'k.asc' };
    const data = { debian: { a: { ...entry, arch: 'amd64' } }, 'debian-x86_64': { b: entry } };
    const written = handleReposByName(data, debian, ['a', 'b'], 'enable');
    assert.match(written, /^RUN echo 'Uris: https:\/\/u' >\/etc\/apt\/sources.list.d\/b.sources && /);
    assert.ok(written.endsWith('>>/etc/apt/sources.list.d/b.sources'), written);
    assert.doesNotMatch(written, /a\.sources|Architectures/);
  });
});

describe('handle_repos of releases that merge sections (2025.2, 2026.1)', () => {
  const data = {
    rpm: { grafana: { name: 'grafana', baseurl: 'https://g', gpgkey: 'https://k1\nhttps://k2' } },
    rocky: { crb: { name: 'crb', distro: true, baseurl: 'https://mirror/crb' } },
  };

  it('writes .repo files, enables distro repositories with their base URL lines, separates with &&', () => {
    assert.equal(
      handleReposBySection(data, rocky, ['grafana', 'crb'], 'enable'),
      `RUN echo '[grafana]' >${repoFile} && echo 'name=grafana' >>${repoFile} && echo 'enabled=1' >>${repoFile}` +
        ` && echo 'gpgkey=https://k1' >>${repoFile} && echo '       https://k2' >>${repoFile}` +
        ` && echo 'baseurl=https://g' >>${repoFile} && ` +
        "dnf config-manager --enable crb || true && echo 'baseurl=https://mirror/crb' >>/etc/yum.repos.d/crb.repo",
    );
  });

  it('disables distro repositories only, with nothing between the commands, and refuses an unknown name', () => {
    assert.equal(
      handleReposBySection(data, rocky, ['crb', 'grafana'], 'disable'),
      'RUN dnf config-manager --disable crb || true',
    );
    assert.throws(() => handleReposBySection(data, rocky, ['nope'], 'enable'), /repository "nope" for rocky/);
  });
});
