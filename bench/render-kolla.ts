/**
 * Renders an upstream Kolla checkout's whole image tree with `ci-builder images render` and
 * with `kolla-build --template-only`, in the same run and with the same settings: how many
 * Dockerfiles are byte-identical, which differ (first differing line), and the time of each
 * (ci-builder's whole CLI run, first with an empty cache, then again with its compiled
 * templates kept; kolla-build's whole run). A table on stdout, JSON in
 * bench/results/render-kolla.json.
 *
 *   node --import tsx bench/render-kolla.ts --kolla /path/to/kolla-checkout [--base debian|rocky|ubuntu]
 *
 * ci-builder computes every template variable from its own configuration; this script writes
 * that configuration from the settings kolla-build rendered with (its defaults for the base:
 * namespace, tag, maintainer, release codename, base image, users table, the images it
 * leaves out as unbuildable for the base), recorded by
 * bench/kolla_values.py. handle_repos reads the checkout's kolla/template/repos.yaml, found
 * beside the image tree as an operator's --images-dir would find it.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: options } = parseArgs({
  options: {
    kolla: { type: 'string' },
    base: { type: 'string', default: 'debian' },
    out: { type: 'string', default: join(root, 'bench/results/render-kolla.json') },
  },
});
const kolla = resolve(options.kolla ?? '');
// Newer checkouts keep the image tree in kolla/docker, older ones in docker.
const tree = [join(kolla, 'kolla/docker'), join(kolla, 'docker')].find((dir) =>
  existsSync(join(dir, 'base/Dockerfile.j2')),
);
if (!options.kolla || tree === undefined) {
  console.error(
    'bench/render-kolla: --kolla must name a Kolla checkout (with kolla/docker/base/Dockerfile.j2 or docker/base/Dockerfile.j2)',
  );
  process.exit(2);
}
const base = options.base;
const registry = '127.0.0.1:5000';
const work = mkdtempSync(join(tmpdir(), 'ci-builder-render-kolla-'));

interface KollaSettings {
  base_image: string;
  base_distro_tag: string;
  base_package_type: 'deb' | 'rpm';
  supported_distro_name: string | null;
  namespace: string;
  image_prefix: string;
  openstack_release: string;
  openstack_release_codename: string;
  tag: string;
  maintainer: string;
  kolla_version: string;
  users: Record<string, { uid: number; gid: number; group: string }>;
  use_dumb_init: boolean;
  docker_healthchecks: boolean;
  clean_package_cache: boolean;
}

/** The ci-builder configuration that says what kolla-build's defaults say. */
function configFor(settings: KollaSettings, unbuildable: readonly string[]): Record<string, unknown> {
  return {
    release: settings.openstack_release,
    release_codename: settings.openstack_release_codename,
    registry,
    namespace: settings.namespace.slice(registry.length + 1),
    image_prefix: settings.image_prefix,
    maintainer: settings.maintainer,
    images_dirs: [tree],
    users: settings.users,
    distros: {
      [base]: {
        version: settings.base_distro_tag,
        package_type: settings.base_package_type,
        base_image: { image: settings.base_image, tag: settings.base_distro_tag },
        unbuildable,
        ...(settings.supported_distro_name ? { pretty_name: settings.supported_distro_name } : {}),
      },
    },
    build: {
      kolla_version: settings.kolla_version,
      use_dumb_init: settings.use_dumb_init,
      healthchecks: settings.docker_healthchecks,
      clean_package_cache: settings.clean_package_cache,
    },
  };
}

function dockerfiles(dir: string, suffix: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (current: string) => {
    for (const entry of readdirSync(current)) {
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry === suffix) found.set(relative(dir, current).split('/').pop() ?? '', path);
    }
  };
  walk(dir);
  return found;
}

try {
  const recordedFile = join(work, 'kolla.json');
  const kollaRun = spawnSync(
    '/usr/bin/python3',
    [join(root, 'bench/kolla_values.py'), recordedFile, join(work, 'kolla-work'), base, registry],
    { cwd: kolla, env: { ...process.env, PBR_VERSION: process.env.PBR_VERSION ?? '0.0.0' }, encoding: 'utf8' },
  );
  if (kollaRun.status !== 0 || !existsSync(recordedFile))
    throw new Error(`kolla-build --template-only failed: ${kollaRun.stderr.split('\n').slice(-5).join('\n')}`);
  const recorded = JSON.parse(readFileSync(recordedFile, 'utf8')) as {
    seconds: number;
    settings: KollaSettings;
    unbuildable: string[];
  };

  const configDir = join(work, 'config');
  mkdirSync(configDir);
  writeFileSync(join(configDir, 'config.yml'), stringify(configFor(recorded.settings, recorded.unbuildable)));
  // A private cache: the first render compiles every template, the second loads them compiled.
  const renderWithCiBuilder = (out: string): number => {
    const started = process.hrtime.bigint();
    const ours = spawnSync(
      process.execPath,
      [
        join(root, 'dist/cli/main.js'),
        '--config',
        configDir,
        'images',
        'render',
        '--distro',
        base,
        '--tag',
        recorded.settings.tag,
        '--out',
        out,
      ],
      { encoding: 'utf8', env: { ...process.env, CI_BUILDER_CACHE_DIR: join(work, 'cache') } },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (ours.status !== 0)
      throw new Error(`ci-builder images render failed (exit ${ours.status}): ${ours.stderr.trim()}`);
    return seconds;
  };
  const oursDir = join(work, 'ours');
  const oursSeconds = renderWithCiBuilder(oursDir);
  const oursAgainSeconds = renderWithCiBuilder(join(work, 'ours-again'));

  const theirs = dockerfiles(join(work, 'kolla-work/docker'), 'Dockerfile');
  const mine = dockerfiles(oursDir, 'Dockerfile');
  const templates = dockerfiles(tree, 'Dockerfile.j2');
  const results: Array<{
    image: string;
    result: 'identical' | 'differs' | 'only-kolla' | 'only-ci-builder';
    detail?: string;
  }> = [];
  for (const image of [...templates.keys()].sort()) {
    const expected = theirs.get(image);
    const actual = mine.get(image);
    if (expected === undefined && actual === undefined) continue;
    if (expected === undefined) results.push({ image, result: 'only-ci-builder' });
    else if (actual === undefined) results.push({ image, result: 'only-kolla' });
    else {
      const [a, b] = [readFileSync(actual, 'utf8'), readFileSync(expected, 'utf8')];
      if (a === b) results.push({ image, result: 'identical' });
      else {
        const lines = [a.split('\n'), b.split('\n')] as const;
        const line = lines[0].findIndex((text, index) => text !== lines[1][index]);
        results.push({
          image,
          result: 'differs',
          detail: `line ${line + 1}: ci-builder ${JSON.stringify(lines[0][line])}, kolla-build ${JSON.stringify(lines[1][line])}`,
        });
      }
    }
  }
  const count = (result: string) => results.filter((entry) => entry.result === result).length;
  console.log(`\nKolla tree ${kolla}, base ${base}: ${templates.size} templates`);
  console.log(
    '| identical | differs | only kolla-build wrote | only ci-builder wrote | kolla-build s | ci-builder first s | ÷ kolla-build | ci-builder again s | ÷ kolla-build |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const ratio = (seconds: number) => (seconds / recorded.seconds).toFixed(2);
  console.log(
    `| ${count('identical')} | ${count('differs')} | ${count('only-kolla')} | ${count('only-ci-builder')} | ${recorded.seconds.toFixed(2)} | ${oursSeconds.toFixed(2)} | ${ratio(oursSeconds)} | ${oursAgainSeconds.toFixed(2)} | ${ratio(oursAgainSeconds)} |`,
  );
  for (const entry of results.filter((item) => item.result !== 'identical'))
    console.log(`${entry.result}: ${entry.image}${entry.detail ? `: ${entry.detail}` : ''}`);
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(
    options.out,
    `${JSON.stringify({ benchmark: 'render-kolla', kolla, base, at: new Date().toISOString(), kollaBuildSeconds: recorded.seconds, ciBuilderSeconds: oursSeconds, ciBuilderAgainSeconds: oursAgainSeconds, results }, null, 2)}\n`,
  );
  process.exitCode = count('differs') + count('only-kolla') > 0 ? 1 : 0;
} finally {
  rmSync(work, { recursive: true, force: true });
}
