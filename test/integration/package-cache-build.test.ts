import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunSummary } from '../../src/report/summary.js';
import { runCli } from '../helpers/cli.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import {
  makeTinyAptRepository,
  PROBE_PACKAGE,
  startStandInMirror,
  type StandInMirror,
} from '../helpers/stand-in-mirror.js';
import { buildahImages } from '../helpers/buildah-images.js';

const storage = ['--storage-driver', 'overlay'];

/** The bootstrapped Debian base image the suite keeps in buildah's storage (any build of the bundled config makes one). */
function bootstrappedBase(): { image: string; tag: string } {
  const listed = buildahImages('{{.Name}}:{{.Tag}}');
  const found = listed.split('\n').find((line) => line.startsWith('localhost/ci-builder/bootstrap-debian:'));
  assert.ok(found, 'a bootstrapped debian base image');
  const colon = found.lastIndexOf(':');
  return { image: found.slice(0, colon), tag: found.slice(colon + 1) };
}

/** Installs the probe package from the configured repository; the echo makes each image's step its own. */
const installProbe = (name: string) =>
  `FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\n` +
  `RUN echo ${name} && apt-get update && apt-get install -y --no-install-recommends ${PROBE_PACKAGE} && ` +
  `test -s /usr/share/${PROBE_PACKAGE}/payload && rm -rf /var/lib/apt/lists/*\n`;

describe("building images through the run's package cache", { timeout: 20 * 60_000 }, () => {
  const stamp = Date.now();
  const namespace = `pkgcache-test-${stamp}`;
  const tag = `t${stamp}`;
  let mirror: StandInMirror;
  let dir: string;
  const built: string[] = [];

  before(async () => {
    const repositoryRoot = temporaryDir('ci-builder-standin-');
    makeTinyAptRepository(repositoryRoot);
    mirror = await startStandInMirror(repositoryRoot);
    dir = temporaryDir('ci-builder-pkgcache-');
    const base = bootstrappedBase();
    writeTree(dir, {
      'images/base/Dockerfile.j2': `FROM {{ base_image }}:{{ base_distro_tag }}\nLABEL ci-builder.test-run="${stamp}"\n`,
      'images/alpha/Dockerfile.j2': installProbe('alpha'),
      'images/beta/Dockerfile.j2': installProbe('beta'),
      'etc/config.yml': [
        'release: zed',
        `namespace: ${namespace}`,
        'engine: buildah',
        // One at a time: the second image installs once the first has filled the cache.
        'threads: 1',
        'images_dirs: [../images]',
        'distros:',
        '  debian:',
        '    version: bookworm',
        '    package_type: deb',
        `    base_image: { image: ${base.image}, tag: ${base.tag} }`,
        '    repositories:',
        `      - { name: probe, url: "${mirror.origin}/debian", suites: [stable], trusted: true }`,
        'proxy:',
        `  cache_dir: ${join(dir, 'packages')}`,
        '',
      ].join('\n'),
    });
  });
  after(async () => {
    // The mirror first: a server left running would keep this file's process from ever ending.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await mirror?.stop();
    if (built.length > 0) execFileSync('buildah', [...storage, 'rmi', ...built], { stdio: 'ignore' });
  });

  it('downloads a package once for two images, and leaves no proxy in their apt configuration', async () => {
    const result = await runCli(['--config', join(dir, 'etc'), 'build', '--tag', tag], { cwd: dir });
    const runDir = join(dir, '.ci-builder/runs', tag);
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as RunSummary;
    built.push(...Object.values(summary.images).map((image) => image.reference));
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(summary.built.map((entry) => entry.name).sort(), ['alpha', 'base', 'beta']);

    const deb = `/debian/pool/main/c/${PROBE_PACKAGE}/${PROBE_PACKAGE}_1.0_all.deb`;
    assert.equal(mirror.fullAnswers(deb), 1, 'the mirror sent the package once');
    assert.equal(mirror.requests.filter((request) => request.path === deb).length, 1, 'and was not even asked again');
    // Sent whole once, then only revalidated: one 304 per later `apt-get update`. Their count is not fixed,
    // since the run retries a step that failed for a reason of the host's (summary.flaky names it).
    const release = mirror.requests.filter((request) => request.path === '/debian/dists/stable/Release');
    const [first, ...later] = release.map((request) => request.status);
    assert.equal(first, 200, 'the index was sent whole the first time');
    assert.ok(
      later.length >= 1,
      `the second image asked for the index too (retried: ${JSON.stringify(summary.flaky)})`,
    );
    assert.deepEqual(
      later,
      later.map(() => 304),
      'the index was only revalidated after the first time',
    );
    assert.ok(
      mirror.requests.every((request) => request.headers.authorization === undefined),
      'no credential ever reached the mirror',
    );

    const counters = summary.package_cache;
    assert.ok(counters, 'summary.json has package_cache');
    const debSize = readFileSync(join(mirror.root, deb)).length;
    assert.ok(counters.hits >= 1 && counters.revalidated >= 1 && counters.misses >= 2, JSON.stringify(counters));
    assert.ok(counters.bytes_from_cache >= debSize, JSON.stringify(counters));
    assert.ok(counters.bytes_from_upstream < 2 * debSize, JSON.stringify(counters));
    assert.match(result.stderr, /^package cache: \d+ requests, \d+ hits, \d+ revalidated, \d+ misses; /m);
    const accessLog = readFileSync(join(runDir, 'proxy-access.log'), 'utf8');
    assert.match(
      accessLog,
      new RegExp(`GET /mirrors/debian/probe/pool/main/c/${PROBE_PACKAGE}/\\S+\\.deb 200 \\d+ \\d+ms cache=hit`),
    );
    assert.match(
      readFileSync(join(runDir, 'dockerfiles/beta/Dockerfile'), 'utf8'),
      /deb \[trusted=yes\] http:\/\/127\.0\.0\.1:\d+\/mirrors\/debian\/probe\/ stable main/,
    );

    // What the base image had in /etc/apt is what the finished image has: nothing of the proxy.
    const container = execFileSync('buildah', [...storage, 'from', summary.images.beta?.reference ?? ''], {
      encoding: 'utf8',
    }).trim();
    try {
      const root = execFileSync('buildah', [...storage, 'mount', container], { encoding: 'utf8' }).trim();
      const sources = readFileSync(join(root, 'etc/apt/sources.list'), 'utf8');
      assert.match(sources, /^deb http:\/\/deb\.debian\.org\/debian bookworm main$/m);
      assert.doesNotMatch(sources, /127\.0\.0\.1|\/mirrors\//);
      assert.deepEqual(readdirSync(join(root, 'etc/apt/sources.list.d')), []);
      const leftovers = execFileSync(
        'sh',
        ['-c', `grep -rlsF -e 127.0.0.1 -e ${mirror.origin} ${root}/etc/apt || true`],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(leftovers, '');
      assert.ok(readFileSync(join(root, 'usr/share', PROBE_PACKAGE, 'payload')).length > 0, 'the package is installed');
    } finally {
      execFileSync('buildah', [...storage, 'umount', container]);
      execFileSync('buildah', [...storage, 'rm', container]);
    }
  });
  it('with --no-package-cache, starts no proxy and leaves the images their own sources', async () => {
    const before = mirror.requests.length;
    const result = await runCli(
      ['--config', join(dir, 'etc'), 'build', '--no-package-cache', '--tag', `${tag}-off`, '^base$'],
      {
        cwd: dir,
      },
    );
    const runDir = join(dir, '.ci-builder/runs', `${tag}-off`);
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as RunSummary;
    built.push(...Object.values(summary.images).map((image) => image.reference));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(summary.package_cache, undefined);
    assert.equal(existsSync(join(runDir, 'proxy-access.log')), false);
    assert.doesNotMatch(readFileSync(join(runDir, 'dockerfiles/base/Dockerfile'), 'utf8'), /127\.0\.0\.1|\/mirrors\//);
    assert.doesNotMatch(result.stderr, /package cache:/);
    assert.equal(mirror.requests.length, before);
  });
});
