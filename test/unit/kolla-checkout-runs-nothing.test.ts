import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readKollaCheckout } from '../../src/kolla/read-checkout.js';
import { runCli } from '../helpers/cli.js';
import { projectRoot, temporaryDir } from '../helpers/files.js';

/**
 * Reading a Kolla checkout (its tables with Python, its version with git) runs nothing the checkout
 * brings: not a module beside it named like one of the standard library's, not a program its .git/config
 * names. Every planted program leaves a marker file when it runs.
 */

const fixture = join(projectRoot, 'test/fixtures/kolla-checkout-render');

function checkoutCopy(): { top: string; checkout: string } {
  const top = temporaryDir('kolla-runs-nothing-');
  const checkout = join(top, 'kolla');
  cpSync(fixture, checkout, { recursive: true });
  return { top, checkout };
}

function markersIn(top: string): string[] {
  return readdirSync(top).filter((name) => name.startsWith('ran-'));
}

describe('reading a checkout runs none of its Python', () => {
  it('imports no ast.py, json.py, glob.py or os.py of the checkout or the current folder', async () => {
    const { top, checkout } = checkoutCopy();
    for (const module of ['ast', 'json', 'glob', 'os', 'sitecustomize', 'usercustomize']) {
      writeFileSync(join(checkout, `${module}.py`), `open(${JSON.stringify(join(top, `ran-${module}`))}, 'w')\n`);
    }
    // As reported: from inside the checkout, `--kolla-dir .`; PYTHONPATH naming it changes nothing either.
    const result = await runCli(['kolla-build', '--kolla-dir', '.', '--list-images'], {
      cwd: checkout,
      env: { PBR_VERSION: '2.0.0', PYTHONPATH: checkout },
    });
    assert.deepEqual(markersIn(top), []);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), ['1 : base', '2 : demo', '3 : prom-base', '4 : prom-node']);
  });
});

/** A program that leaves `ran-<name>` in `top` and fails (as a refusing gpg or a broken pager would). */
function plantedProgram(top: string, name: string): string {
  const file = join(top, `program-${name}`);
  writeFileSync(file, `#!/bin/sh\ntouch '${join(top, `ran-${name}`)}'\nexit 1\n`);
  chmodSync(file, 0o755);
  return file;
}

function gitIn(dir: string): (...args: string[]) => string {
  return (...args) => {
    // The test's own git sees neither the host's config nor the planted one (set up last).
    const env = { PATH: process.env.PATH ?? '', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
    return runSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@e', ...args], dir, env);
  };
}

function runSync(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, input?: string): string {
  const { execFileSync } = process.getBuiltinModule('node:child_process');
  return execFileSync(command, args, { cwd, env, input, encoding: 'utf8' }).trim();
}

/** A copy of the fixture as a git checkout: one commit, tagged. */
function taggedCheckout(tag: string): { top: string; checkout: string; git: (...args: string[]) => string } {
  const { top, checkout } = checkoutCopy();
  const git = gitIn(checkout);
  git('init', '-q');
  git('add', '.');
  git('commit', '-qm', 'first');
  git('tag', tag);
  return { top, checkout, git };
}

describe("reading a checkout's version runs nothing its .git/config names", () => {
  it('with gpg.program, log.showSignature, core.fsmonitor, core.pager, diff.external, aliases, hooks, includes', async () => {
    const { top, checkout, git } = taggedCheckout('5.2.0');
    // A commit carrying a signature: log.showSignature hands it to gpg.program.
    const signed = [
      `tree ${git('rev-parse', 'HEAD^{tree}')}`,
      `parent ${git('rev-parse', 'HEAD')}`,
      'author t <t@e> 1700000000 +0000',
      'committer t <t@e> 1700000000 +0000',
      'gpgsig -----BEGIN PGP SIGNATURE-----',
      ' ',
      ' iQEzBAABCAAdFiEE',
      ' -----END PGP SIGNATURE-----',
      '',
      'a signed fix',
      '',
    ].join('\n');
    const commit = runSync('git', ['hash-object', '-t', 'commit', '-w', '--stdin'], checkout, {}, signed);
    git('update-ref', 'HEAD', commit);
    const shortSha = git('log', '-n1', '--format=%h');
    const hostile: [string, string][] = [
      ['log.showSignature', 'true'],
      ['gpg.program', plantedProgram(top, 'gpg')],
      ['gpg.ssh.program', plantedProgram(top, 'gpg-ssh')],
      ['gpg.x509.program', plantedProgram(top, 'gpg-x509')],
      ['core.fsmonitor', plantedProgram(top, 'fsmonitor')],
      ['core.pager', plantedProgram(top, 'pager')],
      ['pager.log', plantedProgram(top, 'pager-log')],
      ['diff.external', plantedProgram(top, 'diff-external')],
      ['alias.log', `!${plantedProgram(top, 'alias-log')}`],
      ['alias.describe', `!${plantedProgram(top, 'alias-describe')}`],
      ['core.hooksPath', top],
      ['include.path', join(top, 'included.config')],
    ];
    writeFileSync(join(top, 'included.config'), `[core]\n\tfsmonitor = ${plantedProgram(top, 'included')}\n`);
    for (const hook of ['post-checkout', 'reference-transaction', 'post-index-change']) plantedProgram(top, hook);
    for (const [key, value] of hostile) git('config', key, value);

    const read = await readKollaCheckout(checkout, { env: {} });
    const rendered = await runCli(
      ['images', 'render', '--kolla-dir', checkout, '--distro', 'alpha', '--out', join(top, 'out')],
      {
        cwd: temporaryDir(),
      },
    );
    assert.deepEqual(markersIn(top), []);
    assert.deepEqual(read.version.version, { source: 'git', version: '5.2.1', lastTag: '5.2.0', commitsSinceTag: 1 });
    assert.equal(read.version.gitShortSha, shortSha);
    assert.equal(rendered.code, 0, rendered.stderr);
    assert.match(readFileSync(join(top, 'out/base/Dockerfile'), 'utf8'), new RegExp(`ENV KOLLA=${shortSha} `));
    // The checkout's own repository is as it was: only links to it were made, and removed.
    assert.equal(git('rev-parse', 'HEAD'), commit);
    assert.ok(existsSync(join(checkout, '.git/objects')));
  });

  it('reads a checkout that is a git worktree (.git is a file naming its folder)', async () => {
    const { top, git } = taggedCheckout('7.0.0');
    const worktree = join(top, 'worktree');
    git('worktree', 'add', '-q', worktree);
    gitIn(worktree)('config', 'log.showSignature', 'true');
    gitIn(worktree)('config', 'gpg.program', plantedProgram(top, 'gpg'));
    const read = await readKollaCheckout(worktree, { env: {} });
    assert.deepEqual(markersIn(top), []);
    assert.deepEqual(read.version.version, { source: 'git', version: '7.0.0', lastTag: '7.0.0', commitsSinceTag: 0 });
    assert.equal(read.version.gitShortSha, git('log', '-n1', '--format=%h'));
  });
});
