import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { RunSummary } from '../../src/report/summary.js';
import { runCli, startCli } from '../helpers/cli.js';
import { startFakePulp, type FakePulp } from '../helpers/fake-pulp.js';
import { copyBundledImages, projectRoot, temporaryDir, writeTree } from '../helpers/files.js';
import { filesContaining, secretForms } from '../helpers/leaks.js';

const username = 'ark-reader';
const password = `pulp-${Math.random().toString(36).slice(2)}-secret`;
const snapshot = '20261101T000000';

/** Only the pinned debian distributions of the stand-in Pulp: it relays Debian's own mirror. */
const relays = {
  [`debian/bookworm/${snapshot}/`]: 'http://deb.debian.org/debian/',
  [`debian-security/bookworm/${snapshot}/`]: 'http://deb.debian.org/debian-security/',
};

function pulpConfig(pulpOrigin: string, imagesDir: string, cacheDir: string, pinned = snapshot): string {
  const bundled = readFileSync(join(projectRoot, 'etc/ci-builder/config.yml'), 'utf8');
  const repositories = `    repositories:
      - name: debian
        base_path: debian/bookworm/
        version: "${pinned}"
        suites: [bookworm, bookworm-updates]
      - name: debian-security
        base_path: debian-security/bookworm/
        version: "${pinned}"
        suites: [bookworm-security]
`;
  return `${bundled.replace(/^ {4}repositories:\n(?: {6}.*\n)+/m, repositories).replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${imagesDir}`)}
pulp:
  url: ${pulpOrigin}
proxy:
  cache_dir: ${cacheDir}
`;
}

describe('building from a credentialed Pulp through the auth proxy', { timeout: 30 * 60_000 }, () => {
  let pulp: FakePulp;
  let dir: string;
  let configDir: string;
  let imagesDir: string;

  before(async () => {
    pulp = await startFakePulp({ username, password, relayContent: relays });
    dir = temporaryDir('ci-builder-pulp-');
    imagesDir = copyBundledImages(join(dir, 'images'));
    const base = join(imagesDir, 'base/Dockerfile.j2');
    writeFileSync(
      base,
      readFileSync(base, 'utf8').replace(
        '{{ macros.image_labels() }}',
        `{{ macros.image_labels() }}\nLABEL ci-builder.test-run="${Date.now()}"`,
      ),
    );
    configDir = join(dir, 'etc');
    writeTree(configDir, {
      'config.yml': pulpConfig(pulp.origin, imagesDir, join(dir, 'proxy-cache')),
      'secrets.yml': `pulp_username: ${username}\npulp_password: ${password}\n`,
    });
  });
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
  after(async () => pulp?.stop());

  const summaryOf = (tag: string) =>
    JSON.parse(readFileSync(join(dir, '.ci-builder/runs', tag, 'summary.json'), 'utf8')) as RunSummary;

  it('builds images that install packages from Pulp, with no credential anywhere', async () => {
    const result = await runCli(
      ['--config', configDir, 'build', '--auth-proxy', '--tag', 'pulp-1', '^memcached$', '^cron$'],
      { cwd: dir },
    );
    assert.equal(result.code, 0, result.stderr);
    const summary = summaryOf('pulp-1');
    assert.deepEqual(summary.built.map((entry) => entry.name).sort(), ['base', 'cron', 'memcached']);
    const content = pulp.requests.filter((request) => request.path.startsWith('/pulp/content/'));
    assert.ok(
      content.some((request) => request.path.endsWith('.deb')),
      'packages came from Pulp',
    );
    assert.ok(
      content.every(
        (request) =>
          request.headers.authorization === `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
      ),
    );

    for (const name of ['base', 'cron', 'memcached']) {
      const reference = summary.images[name]?.reference ?? '';
      const verify = await runCli(['--config', configDir, 'verify-no-secrets', reference], { cwd: dir });
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.equal(verify.stdout, `${reference}: clean\n`);
    }
    const runDir = join(dir, '.ci-builder/runs/pulp-1');
    assert.deepEqual(
      filesContaining(runDir, [...secretForms(username, password), `${username}:${password}@`]),
      [],
      'run folder: logs, summary, rendered Dockerfiles, access log',
    );
    const accessLog = readFileSync(join(runDir, 'proxy-access.log'), 'utf8');
    assert.ok(
      /GET \/pulp\/content\/debian(-security)?\/bookworm\/20261101T000000\/pool\/(updates\/)?main\/m\/memcached\/\S+\.deb 200/.test(
        accessLog,
      ),
      'the memcached package came through the proxy',
    );
    assert.match(
      readFileSync(join(runDir, 'dockerfiles/memcached/Dockerfile'), 'utf8'),
      /http:\/\/127\.0\.0\.1:\d+\/pulp\/content\/debian\/bookworm\/20261101T000000\/ bookworm main/,
    );

    // The finished image keeps the distro's own sources, not the mirror.
    const container = execFileSync(
      'buildah',
      ['--storage-driver', 'overlay', 'from', reference('memcached', summary)],
      { encoding: 'utf8' },
    ).trim();
    try {
      const root = execFileSync('buildah', ['--storage-driver', 'overlay', 'mount', container], {
        encoding: 'utf8',
      }).trim();
      const sources = readFileSync(join(root, 'etc/apt/sources.list'), 'utf8');
      assert.deepEqual(readdirSync(join(root, 'etc/apt/sources.list.d')), []);
      assert.match(sources, /^deb http:\/\/deb\.debian\.org\/debian bookworm main$/m);
      assert.doesNotMatch(sources, /pulp|127\.0\.0\.1/);
    } finally {
      execFileSync('buildah', ['--storage-driver', 'overlay', 'umount', container]);
      execFileSync('buildah', ['--storage-driver', 'overlay', 'rm', container]);
    }
  });

  it('fetches no package from Pulp again when the same packages are installed a second time', async () => {
    const template = join(imagesDir, 'memcached/Dockerfile.j2');
    writeFileSync(
      template,
      readFileSync(template, 'utf8').replace('{% block memcached_footer %}', 'RUN true\n{% block memcached_footer %}'),
    );
    const before = pulp.requests.length;
    const result = await runCli(['--config', configDir, 'build', '--auth-proxy', '--tag', 'pulp-2', '^memcached$'], {
      cwd: dir,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(summaryOf('pulp-2').built, [{ name: 'memcached' }]);
    const again = pulp.requests.slice(before).filter((request) => request.path.startsWith('/pulp/content/'));
    assert.deepEqual(
      again.map((request) => request.path),
      [],
      'every pinned file came from the proxy cache',
    );
  });

  it('fails the image whose build leaves the mirror URL in the package manager configuration', async () => {
    const overlay = writeTree(temporaryDir(), {
      'leaky/Dockerfile.j2':
        'FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\nRUN cp /etc/apt/sources.list /etc/apt/apt.conf.d/99-copied-sources\n',
    });
    // One attempt: the check fails every build of this image the same way.
    const args = ['build', '--auth-proxy', '--retries', '0', '--tag', 'pulp-3', '--images-dir', overlay, '^leaky$'];
    const result = await runCli(['--config', configDir, ...args], { cwd: dir });
    assert.equal(result.code, 1, result.stderr);
    assert.deepEqual(
      summaryOf('pulp-3').failed.map((entry) => entry.name),
      ['leaky'],
    );
    assert.match(
      readFileSync(join(dir, '.ci-builder/runs/pulp-3/logs/leaky.log'), 'utf8'),
      /a repository mirror URL is still in the package manager configuration/,
    );
  });

  for (const refusal of [
    { status: 403, why: 'refuses the credential', pulp: { username, password: `${password}-rotated` } },
    { status: 500, why: 'answers 500', pulp: { username, password, contentStatus: 500 } },
  ]) {
    it(`fails the run, naming the base image, when Pulp ${refusal.why} to the bootstrap`, async () => {
      const failing = await startFakePulp(refusal.pulp);
      try {
        // A snapshot of its own: a new base image digest, so the bootstrap really runs.
        const pinned = `20261102T00${refusal.status}`;
        const failingConfig = writeTree(join(dir, `etc-${refusal.status}`), {
          'config.yml': pulpConfig(failing.origin, imagesDir, join(dir, `proxy-cache-${refusal.status}`), pinned),
          'secrets.yml': `pulp_username: ${username}\npulp_password: ${password}\n`,
        });
        const tag = `pulp-base-${refusal.status}`;
        // One attempt: this Pulp refuses every bootstrap alike.
        const args = ['--config', failingConfig, 'build', '--auth-proxy', '--retries', '0', '--tag', tag, '^cron$'];
        const result = await runCli(args, { cwd: dir });
        assert.equal(result.code, 1, result.stderr);
        const summary = summaryOf(tag);
        const base = summary.base_image?.reference ?? '';
        assert.match(base, /^localhost\/ci-builder\/bootstrap-debian:bookworm-[0-9a-f]{12}$/);
        const failed = summary.failed.map((entry) => [entry.name, entry.status]);
        assert.deepEqual(failed, [
          [base, 'error'],
          ['base', 'parent_error'],
          ['cron', 'parent_error'],
        ]);
        assert.match(summary.failed[0]?.reason ?? '', /bootstrapping debian bookworm failed: mmdebstrap exited with/);
        assert.equal(summary.failed[1]?.reason, `base image ${base} failed`);
        assert.deepEqual([summary.built, summary.skipped], [[], []]);
        assert.match(result.stderr, /0 built, 0 reused, 3 failed, 0 skipped/);
        const askedPulp = failing.requests.some((request) => request.path.startsWith('/pulp/content/'));
        assert.ok(askedPulp, 'the bootstrap asked Pulp');
        const leaks = filesContaining(join(dir, '.ci-builder/runs', tag), [...secretForms(username, password)]);
        assert.deepEqual(leaks, [], 'no credential in the run folder');
      } finally {
        await failing.stop();
      }
    });
  }

  it('serves alone with `proxy serve`, on loopback only unless told', async () => {
    const { child, done } = startCli(['--config', configDir, 'proxy', 'serve', '--wait', '--no-cache'], { cwd: dir });
    const firstLine = await new Promise<string>((resolve) =>
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve),
    );
    const origin = /^listening on (http:\/\/127\.0\.0\.1:\d+) -> /.exec(firstLine)?.[1];
    assert.ok(origin, firstLine);
    const response = await fetch(`${origin}/pulp/content/debian/bookworm/${snapshot}/dists/bookworm/InRelease`, {
      method: 'HEAD',
    });
    assert.equal(response.status, 200);
    child.kill('SIGTERM');
    const result = await done;
    assert.match(
      result.stderr,
      /HEAD \/pulp\/content\/debian\/bookworm\/20261101T000000\/dists\/bookworm\/InRelease 200/,
    );
    assert.ok(!result.stderr.includes(password) && !result.stdout.includes(password));

    const unsafe = await runCli(['--config', configDir, 'proxy', 'serve', '--listen', '0.0.0.0:0'], { cwd: dir });
    assert.equal(unsafe.code, 2);
    assert.match(unsafe.stderr, /refusing to listen on 0\.0\.0\.0/);
  });
});

function reference(name: string, summary: RunSummary): string {
  return summary.images[name]?.reference ?? '';
}
