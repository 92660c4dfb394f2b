import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RepositoryConfig } from '../../src/config/schema.js';
import { aptSourceLines } from '../../src/repos/apt.js';
import { dnfRewriteCommands } from '../../src/repos/dnf.js';
import { finalUser, injectRepositories, repositorySnippets } from '../../src/repos/inject.js';
import { repositoryUrl } from '../../src/repos/urls.js';
import { temporaryDir } from '../helpers/files.js';

const repo = (fields: Partial<RepositoryConfig>): RepositoryConfig => ({
  name: 'r',
  components: ['main'],
  trusted: false,
  ...fields,
});
const proxy = { kind: 'proxy', origin: 'http://127.0.0.1:41000' } as const;
const direct = { kind: 'direct', pulpUrl: 'https://pulp.example.com/' } as const;

describe('repository URLs', () => {
  it('are <pulp>/pulp/content/<base_path><version>/, through the proxy or not', () => {
    const pinned = repo({ base_path: 'rocky/9.4/BaseOS/x86_64/os/', version: '20240816T002610' });
    assert.equal(
      repositoryUrl(pinned, direct),
      'https://pulp.example.com/pulp/content/rocky/9.4/BaseOS/x86_64/os/20240816T002610/',
    );
    assert.equal(
      repositoryUrl(pinned, proxy),
      'http://127.0.0.1:41000/pulp/content/rocky/9.4/BaseOS/x86_64/os/20240816T002610/',
    );
  });

  it('leave plain mirrors alone when the proxy serves Pulp only (no package cache)', () => {
    assert.equal(repositoryUrl(repo({ url: 'http://deb.debian.org/debian' }), proxy), 'http://deb.debian.org/debian/');
  });

  it('send plain mirrors through their route on the package cache proxy, and their leftovers trip the guard', () => {
    const cached = { ...proxy, mirrorRoutes: { distro: 'debian' } };
    const mirror = repo({ name: 'debian-security', url: 'http://deb.debian.org/debian-security', suites: ['s'] });
    assert.equal(repositoryUrl(mirror, cached), 'http://127.0.0.1:41000/mirrors/debian/debian-security/');
    assert.deepEqual(aptSourceLines([mirror], cached, 'debian'), [
      'deb http://127.0.0.1:41000/mirrors/debian/debian-security/ s main',
    ]);
    const snippets = repositorySnippets({
      packageType: 'deb',
      distro: 'debian',
      repositories: [mirror],
      access: cached,
    });
    assert.match(
      snippets.restore,
      /grep -rqsF .*'http:\/\/127\.0\.0\.1:41000'.* \/etc\/apt \/etc\/yum\.repos\.d \/etc\/dnf/,
    );
  });
});

describe('apt sources', () => {
  const debian = repo({
    base_path: 'debian/bookworm/',
    version: '20261101T000000',
    suites: ['bookworm', 'bookworm-updates'],
    components: ['main', 'contrib'],
  });

  it('has one line per suite', () => {
    assert.deepEqual(aptSourceLines([debian], proxy, 'debian'), [
      'deb http://127.0.0.1:41000/pulp/content/debian/bookworm/20261101T000000/ bookworm main contrib',
      'deb http://127.0.0.1:41000/pulp/content/debian/bookworm/20261101T000000/ bookworm-updates main contrib',
    ]);
  });

  it('trusts Ubuntu Pulp repositories through the proxy, and any repository marked trusted', () => {
    const ubuntu = repo({ base_path: 'ubuntu/jammy/', version: '20240911T063424', suites: ['jammy'] });
    assert.deepEqual(aptSourceLines([ubuntu], proxy, 'ubuntu'), [
      'deb [trusted=yes] http://127.0.0.1:41000/pulp/content/ubuntu/jammy/20240911T063424/ jammy main',
    ]);
    assert.deepEqual(aptSourceLines([ubuntu], direct, 'ubuntu'), [
      'deb https://pulp.example.com/pulp/content/ubuntu/jammy/20240911T063424/ jammy main',
    ]);
    assert.match(
      aptSourceLines([repo({ url: 'http://x/', suites: ['s'], trusted: true })], direct, 'debian')[0] ?? '',
      /^deb \[trusted=yes\] http:\/\/x\/ s main$/,
    );
  });
});

describe('dnf repository rewriting', () => {
  it('points the named sections at the mirror and leaves the others untouched (run with sed)', () => {
    const dir = temporaryDir();
    const original = [
      '[baseos]',
      'name=Rocky Linux $releasever - BaseOS',
      'mirrorlist=https://mirrors.rockylinux.org/mirrorlist?repo=BaseOS-$releasever',
      '#baseurl=http://dl.rockylinux.org/$contentdir/$releasever/BaseOS/$basearch/os/',
      'gpgcheck=1',
      '',
      '[appstream]',
      'name=Rocky Linux $releasever - AppStream',
      'mirrorlist=https://mirrors.rockylinux.org/mirrorlist?repo=AppStream-$releasever',
      'enabled=1',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'rocky.repo'), original);
    const baseos = repo({
      base_path: 'rocky/9.4/BaseOS/x86_64/os/',
      version: '20240816T002610',
      repo_file: 'rocky.repo',
      section: 'baseos',
    });
    const [command] = dnfRewriteCommands([baseos], proxy);
    execFileSync('sh', ['-c', (command ?? '').replace('/etc/yum.repos.d/', `${dir}/`)]);
    const rewritten = readFileSync(join(dir, 'rocky.repo'), 'utf8').split('\n');
    assert.deepEqual(rewritten.slice(0, 6), [
      '[baseos]',
      'name=Rocky Linux $releasever - BaseOS',
      'baseurl=http://127.0.0.1:41000/pulp/content/rocky/9.4/BaseOS/x86_64/os/20240816T002610/',
      '#mirrorlist=https://mirrors.rockylinux.org/mirrorlist?repo=BaseOS-$releasever',
      '#baseurl=http://dl.rockylinux.org/$contentdir/$releasever/BaseOS/$basearch/os/',
      'gpgcheck=1',
    ]);
    assert.ok(
      rewritten.includes('mirrorlist=https://mirrors.rockylinux.org/mirrorlist?repo=AppStream-$releasever'),
      'appstream untouched',
    );
  });

  it('matches a section name literally, not as a pattern', () => {
    const dir = temporaryDir();
    const original = [
      '[epelXnext]',
      'mirrorlist=https://a.example/',
      '',
      '[epel.next]',
      'mirrorlist=https://b.example/',
      '',
    ];
    writeFileSync(join(dir, 'epel.repo'), original.join('\n'));
    const epel = repo({ base_path: 'epel/9/', version: 'v1', repo_file: 'epel.repo', section: 'epel.next' });
    const [command] = dnfRewriteCommands([epel], proxy);
    execFileSync('sh', ['-c', (command ?? '').replace('/etc/yum.repos.d/', `${dir}/`)]);
    const rewritten = readFileSync(join(dir, 'epel.repo'), 'utf8').split('\n');
    assert.deepEqual(rewritten.slice(0, 2), original.slice(0, 2), 'a section the name only matches as a pattern');
    assert.deepEqual(rewritten.slice(3, 5), ['[epel.next]', '#mirrorlist=https://b.example/']);
  });
});

describe('repository injection', () => {
  const snippets = repositorySnippets({
    packageType: 'deb',
    distro: 'debian',
    repositories: [repo({ base_path: 'debian/bookworm/', version: 'v1', suites: ['bookworm'] })],
    access: proxy,
  });

  it('sets up after FROM and restores with a leak guard at the end', () => {
    const out = injectRepositories('FROM base\nRUN apt-get install -y x\nCMD ["x"]', snippets, 'root');
    const lines = out.split('\n');
    assert.equal(lines[0], 'FROM base');
    assert.match(lines[1] ?? '', /^RUN set -e;/);
    assert.match(
      out,
      /printf '%s\\n' 'deb http:\/\/127\.0\.0\.1:41000\/pulp\/content\/debian\/bookworm\/v1\/ bookworm main' > \/etc\/apt\/sources\.list/,
    );
    assert.ok(out.indexOf('CMD ["x"]') < out.indexOf('tar -xf /var/lib/ci-builder/apt-sources.tar'));
    assert.match(out, /grep -rqsF -e '\/pulp\/content\/' -e 'http:\/\/127\.0\.0\.1:41000' \/etc\/apt/);
  });

  it('runs its steps as root and gives the image its users back', () => {
    const out = injectRepositories('FROM parent\nRUN id\nUSER keystone\nCMD ["x"]', snippets, 'kolla');
    const users = out
      .split('\n')
      .filter((line) => /^(USER|FROM|RUN set -e)/.test(line))
      .map((line) => line.replace(/;.*/, ''));
    assert.deepEqual(users, [
      'FROM parent',
      'USER root',
      'RUN set -e',
      'USER kolla',
      'USER keystone',
      'USER root',
      'RUN set -e',
      'USER keystone',
    ]);
    assert.equal(finalUser('FROM a\nUSER x\nUSER y', 'root'), 'y');
    assert.equal(finalUser('FROM a\nRUN true', 'kolla'), 'kolla');
  });

  it('restores the saved apt configuration and refuses a leftover mirror URL (run with sh)', () => {
    const root = temporaryDir();
    const inRoot = (script: string) =>
      script
        .replace(/^RUN /, '')
        .replaceAll('/etc/', `${root}/etc/`)
        .replaceAll('/var/lib/', `${root}/var/lib/`)
        .replaceAll('\\\n', '');
    execFileSync('mkdir', ['-p', `${root}/etc/apt/sources.list.d`, `${root}/var/lib/apt/lists`]);
    writeFileSync(`${root}/etc/apt/sources.list`, 'deb http://deb.debian.org/debian bookworm main\n');
    writeFileSync(`${root}/etc/apt/sources.list.d/extra.list`, 'deb http://example.org/x bookworm main\n');
    execFileSync('sh', ['-c', inRoot(snippets.setup)]);
    assert.match(readFileSync(`${root}/etc/apt/sources.list`, 'utf8'), /127\.0\.0\.1:41000/);
    execFileSync('sh', ['-c', inRoot(snippets.restore)]);
    assert.equal(
      readFileSync(`${root}/etc/apt/sources.list`, 'utf8'),
      'deb http://deb.debian.org/debian bookworm main\n',
    );
    assert.equal(
      readFileSync(`${root}/etc/apt/sources.list.d/extra.list`, 'utf8'),
      'deb http://example.org/x bookworm main\n',
    );

    execFileSync('sh', ['-c', inRoot(snippets.setup)]);
    execFileSync('mkdir', ['-p', `${root}/etc/apt/apt.conf.d`]);
    writeFileSync(`${root}/etc/apt/apt.conf.d/99leak`, 'Acquire::http::Proxy "http://127.0.0.1:41000";\n');
    assert.throws(
      () => execFileSync('sh', ['-c', inRoot(snippets.restore)], { stdio: 'pipe' }),
      /a repository mirror URL is still in the package manager configuration/,
    );
  });
});
