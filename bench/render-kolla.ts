/**
 * Renders upstream Kolla checkouts with `kolla-build --template-only` and with
 * `ci-builder images render --kolla-dir <checkout>`, each with nothing but the checkout (no values
 * written here), and compares every build context file of every image byte for byte, and its
 * executable bit (what git keeps of a mode). One table row per checkout and distro: images identical,
 * differing, written by one side only; the differences below it; JSON in bench/results/render-kolla.json.
 * With --kayobe-override both sides also render with a template override as an operator's Kayobe writes
 * it (bench/kayobe-override.ts, passed to each as --template-override); its table follows the plain one.
 *
 *   node --import tsx bench/render-kolla.ts --kolla /tmp/kolla-master[,...]
 *   node --import tsx bench/render-kolla.ts --branches unmaintained/2024.1,stable/2025.1,master \
 *        [--mirror /path/to/kolla.git] [--distros debian,rocky,ubuntu] [--kayobe-override]
 *
 * --branches exports each branch of a bare Kolla mirror with `git archive` into a temporary folder.
 * kolla-build runs from the checkout with /usr/bin/python3 (Debian's python3-pbr, -jinja2, -git,
 * -oslo.config, -docker) and bench/kolla_template_only.py; both sides get the same PBR_VERSION.
 * Kolla leaves Dockerfile.j2 in each context, as ci-builder does.
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
import { kayobeOverride } from './kayobe-override.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: options } = parseArgs({
  options: {
    kolla: { type: 'string', multiple: true, default: [] },
    branches: { type: 'string', multiple: true, default: [] },
    mirror: { type: 'string', default: '/work/.mirror/openstack+kolla/repo' },
    distros: { type: 'string', default: 'debian,rocky,ubuntu' },
    details: { type: 'string', default: '8' },
    'kayobe-override': { type: 'boolean', default: false },
    out: { type: 'string', default: join(root, 'bench/results/render-kolla.json') },
  },
});
const split = (values: string[]) => values.flatMap((value) => value.split(',')).filter((value) => value !== '');
const distros = split([options.distros]);
const pbrVersion = process.env.PBR_VERSION ?? '1.0.0';
const work = mkdtempSync(join(tmpdir(), 'ci-builder-render-kolla-'));

function fail(message: string): never {
  console.error(`bench/render-kolla: ${message}`);
  process.exit(2);
}

function run(command: string, args: string[], cwd: string): { seconds: number; stderr: string } {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, PBR_VERSION: pbrVersion, CI_BUILDER_CACHE_DIR: join(work, 'cache') },
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) {
    const tail = `${result.stderr}${result.stdout}`.trim().split('\n').slice(-4).join('\n');
    throw new Error(`${command} ${args.slice(0, 3).join(' ')} failed (exit ${result.status}): ${tail}`);
  }
  return { seconds, stderr: result.stderr };
}

function exportBranch(branch: string): string {
  const dir = join(work, `kolla-${branch.replace(/[^A-Za-z0-9.]+/g, '-')}`);
  mkdirSync(dir);
  const archive = spawnSync('git', ['--git-dir', options.mirror, 'archive', branch], { maxBuffer: 1 << 30 });
  if (archive.status !== 0) fail(`git archive ${branch}: ${archive.stderr.toString().trim()}`);
  const tar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
  if (tar.status !== 0) fail(`tar: ${tar.stderr.toString().trim()}`);
  return dir;
}

/** Every image folder (one holding a Dockerfile) below `dir`, by image name. */
function imageFolders(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (current: string) => {
    const entries = readdirSync(current, { withFileTypes: true });
    if (entries.some((entry) => entry.name === 'Dockerfile')) found.set(current.split('/').pop() ?? '', current);
    for (const entry of entries) if (entry.isDirectory()) walk(join(current, entry.name));
  };
  walk(dir);
  return found;
}

/** An image folder's files (not those of images nested in it): path → content and executable bit. */
function contextFiles(dir: string): Map<string, { content: Buffer; executable: boolean }> {
  const files = new Map<string, { content: Buffer; executable: boolean }>();
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (readdirSync(path).includes('Dockerfile')) continue;
        walk(path);
      } else {
        files.set(relative(dir, path), {
          content: readFileSync(path),
          executable: (statSync(path).mode & 0o111) !== 0,
        });
      }
    }
  };
  walk(dir);
  return files;
}

type Verdict = 'identical' | 'differs' | 'only-kolla-build' | 'only-ci-builder';

function compareImage(kollaDir: string, ourDir: string): string | null {
  const theirs = contextFiles(kollaDir);
  const ours = contextFiles(ourDir);
  for (const [path, file] of theirs) {
    const mine = ours.get(path);
    if (mine === undefined) return `${path}: only kolla-build wrote it`;
    if (mine.executable !== file.executable) return `${path}: executable ${mine.executable} vs ${file.executable}`;
    if (!mine.content.equals(file.content)) {
      const [a, b] = [mine.content.toString('utf8').split('\n'), file.content.toString('utf8').split('\n')];
      const line = a.findIndex((text, index) => text !== b[index]);
      return `${path} line ${line + 1}: ci-builder ${JSON.stringify(a[line])}, kolla-build ${JSON.stringify(b[line])}`;
    }
  }
  const extra = [...ours.keys()].find((path) => !theirs.has(path));
  return extra === undefined ? null : `${extra}: only ci-builder wrote it`;
}

type Mode = 'plain' | 'kayobe-override';

interface Row {
  mode: Mode;
  checkout: string;
  distro: string;
  counts: Record<Verdict, number>;
  kollaBuildSeconds: number;
  ciBuilderSeconds: number;
  differences: { image: string; verdict: Verdict; detail?: string }[];
  /** Outside plain mode: images whose kolla-build Dockerfile the mode changed (0 would mean it did nothing). */
  changedFromPlain?: number;
}

/** How many images of kolla-build's `output` have a Dockerfile other than in its plain-mode `plain` output. */
function changedImages(output: Map<string, string>, plain: Map<string, string>): number {
  const dockerfile = (dir: string | undefined) =>
    dir === undefined ? '' : readFileSync(join(dir, 'Dockerfile'), 'utf8');
  return [...output].filter(([image, dir]) => dockerfile(dir) !== dockerfile(plain.get(image))).length;
}

/** Each mode's extra arguments, the same for kolla-build and ci-builder. */
function modeArguments(mode: Mode): string[] {
  switch (mode) {
    case 'plain':
      return [];
    case 'kayobe-override': {
      const file = join(work, 'template-override.j2');
      writeFileSync(file, kayobeOverride());
      return ['--template-override', file];
    }
    default: {
      const never: never = mode;
      return never;
    }
  }
}

function compareCheckout(mode: Mode, name: string, checkout: string, distro: string): Row {
  const label = (of: Mode) => `${name.replace(/[^A-Za-z0-9.]+/g, '-')}-${distro}-${of}`;
  const kollaWork = join(work, `${label(mode)}-kolla`);
  const plainWork = join(work, `${label('plain')}-kolla`);
  const ourOut = join(work, `${label(mode)}-ours`);
  const script = join(root, 'bench/kolla_template_only.py');
  const extra = modeArguments(mode);
  const kolla = run('/usr/bin/python3', [script, kollaWork, '--base', distro, ...extra], checkout);
  // An empty working folder: no ./etc/ci-builder is picked up, the checkout alone is the configuration.
  const cwd = mkdtempSync(join(work, 'cwd-'));
  const cli = join(root, 'dist/cli/main.js');
  const ours = run(
    process.execPath,
    [cli, 'images', 'render', '--kolla-dir', checkout, '--distro', distro, '--out', ourOut, ...extra],
    cwd,
  );
  const theirs = imageFolders(join(kollaWork, 'docker'));
  const mine = imageFolders(ourOut);
  const counts: Record<Verdict, number> = { identical: 0, differs: 0, 'only-kolla-build': 0, 'only-ci-builder': 0 };
  const differences: Row['differences'] = [];
  for (const image of [...new Set([...theirs.keys(), ...mine.keys()])].sort()) {
    const [kollaDir, ourDir] = [theirs.get(image), mine.get(image)];
    let verdict: Verdict;
    let detail: string | null = null;
    if (kollaDir === undefined) verdict = 'only-ci-builder';
    else if (ourDir === undefined) verdict = 'only-kolla-build';
    else {
      detail = compareImage(kollaDir, ourDir);
      verdict = detail === null ? 'identical' : 'differs';
    }
    counts[verdict] += 1;
    if (verdict !== 'identical') differences.push({ image, verdict, ...(detail === null ? {} : { detail }) });
  }
  const changed =
    mode !== 'plain' && existsSync(plainWork)
      ? { changedFromPlain: changedImages(theirs, imageFolders(join(plainWork, 'docker'))) }
      : {};
  return {
    ...changed,
    mode,
    checkout: name,
    distro,
    counts,
    kollaBuildSeconds: kolla.seconds,
    ciBuilderSeconds: ours.seconds,
    differences,
  };
}

try {
  const checkouts: [string, string][] = [
    ...split(options.kolla).map((dir): [string, string] => [dir, resolve(dir)]),
    ...split(options.branches).map((branch): [string, string] => [branch, exportBranch(branch)]),
  ];
  if (checkouts.length === 0) fail('name checkouts with --kolla DIR[,DIR] or branches with --branches B[,B]');
  const modes: Mode[] = options['kayobe-override'] ? ['plain', 'kayobe-override'] : ['plain'];
  const rows: Row[] = [];
  for (const [name, dir] of checkouts) {
    for (const distro of distros) {
      for (const mode of modes) {
        try {
          rows.push(compareCheckout(mode, name, dir, distro));
        } catch (error) {
          console.error(`${name} ${distro} ${mode}: ${(error as Error).message}`);
        }
      }
    }
  }
  const limit = Number(options.details);
  for (const mode of modes) {
    const ofMode = rows.filter((row) => row.mode === mode);
    console.log(mode === 'plain' ? 'checkout alone:' : '\nwith the Kayobe template override:');
    const changedColumn = mode === 'plain' ? ['', ''] : [' changed by it |', ' ---: |'];
    console.log(
      '| checkout | distro | identical | differ | only kolla-build | only ci-builder | kolla-build s | ci-builder s |' +
        changedColumn[0],
    );
    console.log(`| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |${changedColumn[1]}`);
    for (const row of ofMode) {
      const { counts } = row;
      console.log(
        `| ${row.checkout} | ${row.distro} | ${counts.identical} | ${counts.differs} | ` +
          `${counts['only-kolla-build']} | ${counts['only-ci-builder']} | ` +
          `${row.kollaBuildSeconds.toFixed(1)} | ${row.ciBuilderSeconds.toFixed(1)} |` +
          (mode === 'plain' ? '' : ` ${row.changedFromPlain ?? '-'} |`),
      );
    }
    for (const row of ofMode.filter((item) => item.differences.length > 0)) {
      console.log(`\n${row.checkout} ${row.distro} (${mode}):`);
      for (const entry of row.differences.slice(0, limit))
        console.log(`  ${entry.verdict}: ${entry.image}${entry.detail === undefined ? '' : `: ${entry.detail}`}`);
      if (row.differences.length > limit) console.log(`  ... ${row.differences.length - limit} more`);
    }
  }
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(
    options.out,
    `${JSON.stringify({ benchmark: 'render-kolla', at: new Date().toISOString(), modes, rows }, null, 2)}\n`,
  );
  const clean = rows.length === checkouts.length * distros.length * modes.length;
  const effective = rows.every((row) => row.changedFromPlain !== 0);
  process.exitCode = clean && effective && rows.every((row) => row.differences.length === 0) ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
