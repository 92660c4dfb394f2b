/**
 * Derives bench/respin/library-packages.txt, the Debian packages the bundled library needs, from a
 * real cold build: the overcloud and seed sets built against Debian's own mirrors with an empty
 * package cache and a new base marker (so every image really installs its packages), then the
 * union of what `dpkg-query -W` lists in each built image and the names of the .debs the run's
 * package cache fetched (a package installed and purged again is only in the second).
 * The built images are removed afterwards unless --keep.
 *
 *   node --import tsx bench/respin/derive-packages.ts [--engine buildah|docker|podman] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ENGINE_NAMES } from '../../src/config/schema.js';
import { createEngine } from '../../src/engine/index.js';
import type { RunSummary } from '../../src/report/summary.js';
import { copyBundledImages, markBaseImage } from '../../test/helpers/files.js';
import { installedPackages } from '../../test/helpers/installed-packages.js';
import { formatPackageList, LIBRARY_PACKAGES } from './package-list.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'buildah' },
    keep: { type: 'boolean', default: false },
  },
});
const engineName = ENGINE_NAMES.find((name) => name === values.engine);
if (engineName === undefined) {
  console.error(`derive-packages: --engine: expected one of ${ENGINE_NAMES.join(', ')}, got ${values.engine}`);
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'ci-builder-derive-packages-'));
try {
  const stamp = Date.now();
  const images = copyBundledImages(join(work, 'images'));
  markBaseImage(images, 'ci-builder.derive-packages');
  const packageCache = join(work, 'packages');
  const config = readFileSync(join(root, 'etc/ci-builder/config.yml'), 'utf8')
    .replace(/^engine: .*$/m, `engine: ${engineName}`)
    .replace(/^namespace: .*$/m, 'namespace: derive-packages')
    .replace(/^secrets: .*\n/m, '')
    .replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${images}`);
  mkdirSync(join(work, 'etc'));
  writeFileSync(join(work, 'etc/config.yml'), `${config}\nproxy:\n  cache_dir: ${packageCache}\n`);

  const tag = `derive-${stamp}`;
  // The commit built, read before the build: the checkout may move while it runs.
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  const started = Date.now();
  const cliArgs = ['--config', join(work, 'etc'), '-q', 'build', '--set', 'overcloud,seed', '--tag', tag];
  const buildLibrary = () =>
    spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), ...cliArgs], {
      cwd: work,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  let build = buildLibrary();
  // On a shared host another user's clean-up can remove a build container mid-build: a second run of the same
  // tag reuses what was built and builds the rest (installing their packages through the same cache).
  if (build.status === 1) build = buildLibrary();
  const seconds = (Date.now() - started) / 1000;
  const summary = JSON.parse(readFileSync(join(work, '.ci-builder/runs', tag, 'summary.json'), 'utf8')) as RunSummary;
  if (build.status !== 0)
    throw new Error(`the cold build failed (exit ${build.status}): ${JSON.stringify(summary.failed)}`);

  const engine = createEngine(engineName);
  const installed = new Set<string>();
  const references = Object.values(summary.images).map((record) => record.reference);
  for (const reference of references)
    for (const name of (await installedPackages(engine, reference)).keys()) installed.add(name);
  const fetched = new Set(fetchedDebs(packageCache));
  const all = new Set([...installed, ...fetched]);

  const header = [
    'The Debian packages of the bundled image library (sets overcloud and seed), one name a line:',
    "every package `dpkg-query -W` lists as installed in each built image, and every .deb the run's",
    'package cache fetched, after a cold `ci-builder build --set overcloud,seed` (empty package cache,',
    'new base marker) against deb.debian.org bookworm, bookworm-updates and bookworm-security.',
    'Made by: node --import tsx bench/respin/derive-packages.ts',
    `Made on ${new Date().toISOString().slice(0, 10)} from ${commit}, engine ${engineName}, ${references.length} images, ` +
      `build ${seconds.toFixed(0)} s: ${installed.size} installed, ${fetched.size} fetched, ${all.size} in all.`,
  ];
  writeFileSync(LIBRARY_PACKAGES, formatPackageList(header, all));
  console.log(header.at(-1));
  console.log(`written to ${fileURLToPath(LIBRARY_PACKAGES)}`);

  if (!values.keep) for (const reference of references) await engine.remove(reference);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** Package names of the .debs in a package cache folder: each entry's metadata names the URL it came from. */
function fetchedDebs(cacheDir: string): string[] {
  return readdirSync(cacheDir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => (JSON.parse(readFileSync(join(cacheDir, file), 'utf8')) as { path?: string }).path ?? '')
    .map((path) => decodeURIComponent(basename(path)))
    .filter((file) => file.endsWith('.deb'))
    .map((file) => file.slice(0, file.indexOf('_')));
}
