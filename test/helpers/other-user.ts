import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { projectRoot, temporaryDir } from './files.js';

/** nobody:nogroup on Debian: a user that owns nothing of the checkout. */
export const NOBODY = { uid: 65534, gid: 65534 };

/** `setpriv` arguments that run a command as nobody, with no supplementary groups. */
export const AS_NOBODY = ['setpriv', `--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, '--clear-groups'];

/** What the CLI reads at run time besides its dependencies: the product as a user installs it. */
const PRODUCT = ['dist', 'package.json', 'etc', 'images'];

let prepared: { cli: string } | { skip: string } | undefined;

/**
 * The CLI as another user can run it. The checkout may sit in a folder only its owner may enter (a
 * home folder, `mktemp -d`), so another user never runs it from there: this copies the product and
 * its production dependencies once per test process into a temporary folder every user may read,
 * then checks that nobody can start it from there. Returns the copy's main.js, or why no test can
 * run the CLI as nobody here (not root, no setpriv, the temporary folder itself out of reach...).
 */
export function cliForNobody(): { cli: string } | { skip: string } {
  prepared ??= prepare();
  return prepared;
}

function prepare(): { cli: string } | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'needs root to switch to nobody' };
  const root = temporaryDir('ci-builder-cli-copy-');
  for (const entry of PRODUCT) cpSync(join(projectRoot, entry), join(root, entry), { recursive: true });
  const modules = join(projectRoot, 'node_modules');
  let copied: string[] = [];
  for (const dependency of productionDependencies()) {
    const path = relative(modules, dependency);
    // A dependency nested in one already copied came along with it.
    if (path === '' || path.startsWith('..') || copied.some((done) => path.startsWith(done + sep))) continue;
    cpSync(dependency, join(root, 'node_modules', path), { recursive: true, dereference: true });
    copied = [...copied, path];
  }
  openToAll(root);
  const cli = join(root, 'dist/cli/main.js');
  const probe = spawnSync(AS_NOBODY[0] ?? 'setpriv', [...AS_NOBODY.slice(1), process.execPath, cli, '--version'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
    cwd: root,
    timeout: 30_000,
  });
  if (probe.status !== 0) {
    const why = (probe.error?.message ?? probe.stderr).trim().split('\n')[0] ?? '';
    return { skip: `nobody cannot run the CLI even from a copy in ${root} (${why})` };
  }
  return { cli };
}

/** The folders of the production dependencies, as npm resolved them (nested ones included). */
function productionDependencies(): string[] {
  const listed = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: projectRoot,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return listed.stdout.split('\n').filter((line) => line !== '');
}

/** Folders 0755 and files readable by everyone, whatever umask the checkout was made with. */
function openToAll(path: string): void {
  const mode = statSync(path).mode & 0o777;
  if (statSync(path).isDirectory()) {
    chmodSync(path, 0o755);
    for (const entry of readdirSync(path)) openToAll(join(path, entry));
  } else chmodSync(path, mode | 0o444);
}
