import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startCli } from '../helpers/cli.js';
import { aliasBomb } from '../helpers/alias-bomb.js';
import { rawZip, zeroBomb } from '../helpers/zip-builder.js';
import { freePort, projectRoot, temporaryDir, writeTree } from '../helpers/index.js';

const goodConfig = `release: zed
namespace: ns
images_dirs: [images]
distros:
  debian: { version: bookworm, package_type: deb, base_image: { image: debian, tag: bookworm } }
`;

/** A config folder with a small image tree, and where builds would write their run folders. */
function workspace(files: Record<string, string> = {}): string {
  return writeTree(temporaryDir(), {
    'etc/config.yml': goodConfig,
    'etc/images/macros.j2': '',
    'etc/images/base/Dockerfile.j2': 'FROM {{ base_image }}:{{ base_distro_tag }}\n',
    'etc/images/leaf/Dockerfile.j2': 'FROM {{ namespace }}/base:{{ tag }}\n',
    ...files,
  });
}

function assertOneLineError(result: { code: number | null; stderr: string; stdout: string }, pattern: RegExp): void {
  assert.equal(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${result.stderr}`);
  assert.match(lines[0] ?? '', pattern);
}

describe('bad input exits 2 with one clear line and builds nothing', () => {
  it('a config value of the wrong type names file and key', async () => {
    const dir = workspace({ 'etc/config.yml': `${goodConfig}threads: lots\n` });
    const result = await runCli(['--config', join(dir, 'etc'), 'build'], { cwd: dir });
    assertOneLineError(result, /^ci-builder: error: .*etc\/config\.yml: threads: .*number/);
  });

  it('a cycle in the image tree names the cycle', async () => {
    const dir = workspace({
      'etc/images/a/Dockerfile.j2': 'FROM {{ namespace }}/b:{{ tag }}\n',
      'etc/images/b/Dockerfile.j2': 'FROM {{ namespace }}/a:{{ tag }}\n',
    });
    const result = await runCli(['--config', join(dir, 'etc'), 'build'], { cwd: dir });
    assertOneLineError(result, /image dependency cycle: (a -> b -> a|b -> a -> b)/);
  });

  it('an unknown environment', async () => {
    const dir = workspace();
    const result = await runCli(['--config', join(dir, 'etc'), '--environment', 'nope', 'build'], { cwd: dir });
    assertOneLineError(result, /unknown environment "nope"/);
  });

  it('an unknown environment from CI_BUILDER_ENVIRONMENT', async () => {
    const dir = workspace();
    const result = await runCli(['images', 'list'], {
      cwd: dir,
      env: { CI_BUILDER_CONFIG: join(dir, 'etc'), CI_BUILDER_ENVIRONMENT: 'nope' },
    });
    assertOneLineError(result, /unknown environment "nope"/);
  });

  it('an unknown option or a bad number', async () => {
    assert.equal((await runCli(['build', '--no-such-flag'])).code, 2);
    const result = await runCli(['build', '--threads', 'zero']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--threads.*whole number/);
  });

  it('an unknown distro or set', async () => {
    const dir = workspace();
    assertOneLineError(
      await runCli(['--config', join(dir, 'etc'), 'build', '--distro', 'arch'], { cwd: dir }),
      /unknown distro "arch"/,
    );
    assertOneLineError(
      await runCli(['--config', join(dir, 'etc'), 'build', '--set', 'nope'], { cwd: dir }),
      /unknown set "nope"/,
    );
  });

  it('--auth-proxy with Pulp unreachable: one line, exit 1 (the input was fine)', async () => {
    const closed = await freePort();
    const dir = workspace({
      'etc/config.yml': `${goodConfig}pulp: { url: "http://127.0.0.1:${closed}" }\nproxy: { wait_seconds: 2 }\nsecrets: secrets.yml\n`,
      'etc/secrets.yml': 'pulp_username: u\npulp_password: p4ss-not-shown\n',
    });
    const result = await runCli(['--config', join(dir, 'etc'), 'build', '--auth-proxy'], { cwd: dir });
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr.trim(),
      /^ci-builder: error: auth proxy: upstream http:\/\/127\.0\.0\.1:\d+ did not answer \/pulp\/api\/v3\/status\/ within 2s \(ECONNREFUSED\)$/,
    );
    assert.ok(!result.stderr.includes('p4ss-not-shown'));
  });

  it('an image tree with no image, or none at all, names the folder', async () => {
    const dir = workspace({ 'empty/docs/README.md': 'no images\n' });
    const empty = join(dir, 'empty');
    const list = (treeDir: string) =>
      runCli(['--config', join(dir, 'etc'), 'images', 'list', '--images-dir', treeDir], { cwd: dir });
    assertOneLineError(await list(empty), new RegExp(`${empty}: no images in this image tree`));
    const missing = join(dir, 'missing');
    assertOneLineError(await list(missing), new RegExp(`${missing}: image tree folder not found`));
    const configured = workspace({
      'etc/config.yml': goodConfig.replace('images_dirs: [images]', 'images_dirs: [../empty]'),
      'empty/macros.j2': '',
    });
    const out = join(configured, 'out');
    const result = await runCli(['--config', join(configured, 'etc'), 'images', 'render', '--out', out], {
      cwd: configured,
    });
    assertOneLineError(result, new RegExp(`${join(configured, 'empty')}: no images in this image tree`));
    assert.ok(!existsSync(out), 'nothing rendered');
  });

  it('a template including a symlink out of the tree: refused, the secret nowhere in the output', async () => {
    const secret = 'SECRET-MARKER-c41d2e';
    // At the tree root, in no image's folder: only the template loader meets the link.
    const dir = workspace({
      'etc/images/leaf/Dockerfile.j2': 'FROM {{ namespace }}/base:{{ tag }}\n{% include "notes.j2" %}\n',
      'private/credentials': `${secret}\n`,
    });
    symlinkSync(join(dir, 'private/credentials'), join(dir, 'etc/images/notes.j2'));
    const out = join(dir, 'out');
    const result = await runCli(['--config', join(dir, 'etc'), 'images', 'render', '--out', out, 'leaf'], { cwd: dir });
    const line = /^ci-builder: error: leaf: template error: .*: template notes\.j2: symlink notes\.j2 -> /;
    assertOneLineError(result, new RegExp(`${line.source}.*private/credentials leaves the image tree; refused$`));
    assert.ok(!`${result.stdout}${result.stderr}`.includes(secret));
    assert.ok(!existsSync(out), 'nothing rendered');
  });

  it('a template in the image folder linked out of the tree: its build context refuses it first', async () => {
    const secret = 'SECRET-MARKER-5e8f01';
    const dir = workspace({
      'etc/images/leaf/Dockerfile.j2': 'FROM {{ namespace }}/base:{{ tag }}\n{% include "leaf/notes.j2" %}\n',
      'private/credentials': `${secret}\n`,
    });
    symlinkSync(join(dir, 'private/credentials'), join(dir, 'etc/images/leaf/notes.j2'));
    const out = join(dir, 'out');
    const result = await runCli(['--config', join(dir, 'etc'), 'images', 'render', '--out', out, 'leaf'], { cwd: dir });
    const line = /^ci-builder: error: leaf: build context: symlink notes\.j2 -> .*private\/credentials leaves/;
    assertOneLineError(result, line);
    assert.ok(!`${result.stdout}${result.stderr}`.includes(secret));
    assert.ok(!existsSync(out), 'nothing rendered');
  });

  it('a build context symlink out of the tree: refused naming the image, the link and its target', async () => {
    const dir = workspace({ 'private/credentials': 'SECRET-MARKER-9b7e10\n', 'etc/images/shared.conf': 'shared\n' });
    symlinkSync('../shared.conf', join(dir, 'etc/images/base/shared.conf'));
    symlinkSync(join(dir, 'private/credentials'), join(dir, 'etc/images/leaf/credentials'));
    const out = join(dir, 'out');
    const result = await runCli(['--config', join(dir, 'etc'), 'images', 'render', '--out', out], { cwd: dir });
    const line =
      /^ci-builder: error: leaf: build context: symlink credentials -> .*private\/credentials leaves the image/;
    assertOneLineError(result, line);
    assert.ok(!existsSync(out), 'nothing rendered');
    const baseOnly = await runCli(['--config', join(dir, 'etc'), 'images', 'render', '--out', out, '^base$'], {
      cwd: dir,
    });
    assert.equal(baseOnly.code, 0, baseOnly.stderr);
    assert.ok(lstatSync(join(out, 'base/shared.conf')).isFile(), 'an in-tree link is copied as the file it points to');
    assert.equal(readFileSync(join(out, 'base/shared.conf'), 'utf8'), 'shared\n');
  });

  it('--push without a registry', async () => {
    const dir = workspace();
    assertOneLineError(
      await runCli(['--config', join(dir, 'etc'), 'build', '--push'], { cwd: dir }),
      /--push needs a registry/,
    );
  });
});

describe('looking before building', () => {
  it('lists images parents first and warns about a regex that matches nothing', async () => {
    const dir = workspace();
    const result = await runCli(['--config', join(dir, 'etc'), 'images', 'list', 'leaf', 'nothing-here'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'base\nleaf\n');
    assert.match(result.stderr, /regex "nothing-here" matches no image/);
  });

  it("prints dependencies in kolla-build's JSON shape", async () => {
    const dir = workspace();
    const result = await runCli(['--config', join(dir, 'etc'), '--json', 'images', 'deps'], { cwd: dir });
    assert.deepEqual(JSON.parse(result.stdout), [{ base: ['leaf'] }]);
  });

  it("lists images and dependencies in kolla-build's formats with --format kolla, selecting by --profile", async () => {
    const dir = workspace({
      'etc/config.yml': `${goodConfig}sets:\n  leaves: ["^leaf$"]\n`,
      'etc/images/other/Dockerfile.j2': 'FROM {{ namespace }}/base:{{ tag }}\n',
    });
    const list = await runCli(
      ['--config', join(dir, 'etc'), 'images', 'list', '--format', 'kolla', '--profile', 'leaves'],
      { cwd: dir },
    );
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout, '1 : base\n2 : leaf\n');
    const deps = await runCli(['--config', join(dir, 'etc'), 'images', 'deps', '--format', 'kolla'], { cwd: dir });
    assert.equal(deps.stdout, '{\n  "base": [\n    "leaf",\n    "other"\n  ]\n}\n');
    const lonely = await runCli(['--config', join(dir, 'etc'), 'images', 'deps', '--format', 'kolla', '^base$'], {
      cwd: dir,
    });
    assert.deepEqual(JSON.parse(lonely.stdout), { base: [] }, 'a root stays {name: []} without children');
    assertOneLineError(
      await runCli(['--config', join(dir, 'etc'), 'images', 'list', '--format', 'xml'], { cwd: dir }),
      /invalid --format "xml": expected plain, json or kolla/,
    );
    assertOneLineError(
      await runCli(['--config', join(dir, 'etc'), 'images', 'list', '--profile', 'nope'], { cwd: dir }),
      /unknown set "nope"/,
    );
  });

  it('renders Dockerfiles without building', async () => {
    const dir = workspace();
    const out = join(dir, 'out');
    const result = await runCli(['--config', join(dir, 'etc'), 'images', 'render', '--out', out, '--tag', 't1'], {
      cwd: dir,
    });
    assert.equal(result.code, 0, result.stderr);
    const { readFileSync } = await import('node:fs');
    assert.equal(readFileSync(join(out, 'leaf/Dockerfile'), 'utf8'), 'FROM localhost/ns/base:t1');
  });

  it('renders with --template-override files as kolla-build merges them, and names a missing one', async () => {
    const dir = workspace({
      'etc/images/leaf/Dockerfile.j2': 'FROM {{ namespace }}/base:{{ tag }}\n{% block leaf_footer %}{% endblock %}\n',
      'site.j2': '{% extends parent_template %}\n{% block leaf_footer %}RUN echo site{% endblock %}\n',
      'later.j2': '{% extends parent_template %}\n{% set leaf_extra = 1 %}\n',
    });
    const out = join(dir, 'out');
    const result = await runCli(
      [
        '--config',
        join(dir, 'etc'),
        'images',
        'render',
        '--out',
        out,
        '--tag',
        't1',
        '--template-override',
        'site.j2',
        '--template-override',
        'later.j2',
        'leaf',
      ],
      { cwd: dir },
    );
    assert.equal(result.code, 0, result.stderr);
    const { readFileSync } = await import('node:fs');
    assert.equal(readFileSync(join(out, 'leaf/Dockerfile'), 'utf8'), 'FROM localhost/ns/base:t1\nRUN echo site');
    assertOneLineError(
      await runCli(['--config', join(dir, 'etc'), 'images', 'render', '--out', out, '--template-override', 'nope.j2'], {
        cwd: dir,
      }),
      /nope\.j2: template override file not found/,
    );
  });

  it('shows the effective config with secrets redacted', async () => {
    const dir = workspace({
      'etc/config.yml': `${goodConfig}secrets: secrets.yml\n`,
      'etc/secrets.yml': 'registry_username: u\nregistry_password: hunter2-secret\n',
    });
    const result = await runCli(['--config', join(dir, 'etc'), 'config', 'show'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /registry_password: <redacted>/);
    assert.doesNotMatch(result.stdout, /hunter2/);
  });
});

const cliResult = (result: SpawnSyncReturns<string>) => ({
  code: result.status,
  stderr: result.stderr,
  stdout: result.stdout,
});

/** Runs the command, killing it (the test then fails) if it has not ended after a while: some paths used to hang. */
async function runCliBounded(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const { child, done } = startCli(args, options);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    return await done;
  } finally {
    clearTimeout(timer);
  }
}

describe('an output path that cannot be written is refused up front: one line, exit 2, nothing done', () => {
  const vaultEnv = { CI_BUILDER_VAULT_PASSWORD: 'pw-for-output-tests' };
  /** In a workspace with a plain file to encrypt: the command (with --config) must be refused with `pattern`. */
  const refusedIn =
    (dir: string, env: NodeJS.ProcessEnv = {}) =>
    async (args: string[], pattern: RegExp) => {
      const withConfig = args[0] === 'vault' ? args : ['--config', join(dir, 'etc'), ...args];
      assertOneLineError(await runCliBounded(withConfig, { cwd: dir, env: { ...vaultEnv, ...env } }), pattern);
    };

  it('under /proc, /sys or /dev (it used to hang, ignoring SIGTERM)', async () => {
    const dir = workspace({ 'plain.yml': 'a: 1\n' });
    const refused = refusedIn(dir);
    await refused(['build', '--run-dir', '/proc/ci-builder/run'], /--run-dir \/proc\/ci-builder\/run: is in \/proc/);
    await refused(['images', 'render', '--out', '/proc/ci-builder'], /--out \/proc\/ci-builder: is in \/proc/);
    await refused(
      ['vault', 'encrypt', 'plain.yml', '--output', '/proc/x/y.yml'],
      /--output \/proc\/x\/y\.yml: is in \/proc/,
    );
    await refused(['images', 'render', '--out', '/sys/ci-builder/out'], /--out \/sys\/ci-builder\/out: is in \/sys/);
    await refused(['vault', 'decrypt', 'plain.yml', '--output', '/dev/shm/x/plain.yml'], /is in \/dev/);
    symlinkSync('/proc', join(dir, 'sneaky'));
    await refused(['build', '--run-dir', 'sneaky/run'], /--run-dir sneaky\/run: is in \/proc/);
    const cached = refusedIn(dir, { CI_BUILDER_CACHE_DIR: '/proc/cache' });
    await cached(['images', 'render', '--out', join(dir, 'out')], /CI_BUILDER_CACHE_DIR \/proc\/cache: is in \/proc/);
    const pulp = workspace({
      'etc/config.yml': `${goodConfig}pulp: { url: "http://127.0.0.1:9" }\nsecrets: secrets.yml\n`,
      'etc/secrets.yml': 'pulp_username: u\npulp_password: p4ss-word\n',
    });
    await refusedIn(pulp)(['proxy', 'serve', '--cache-dir', '/proc/cache'], /--cache-dir \/proc\/cache: is in \/proc/);
    assert.equal(readFileSync(join(dir, 'plain.yml'), 'utf8'), 'a: 1\n');
    assert.ok(!existsSync(join(dir, 'out')) && !existsSync(join(dir, '.ci-builder')));
  });

  it('under a file, in the default run folder too, and a folder given as --output', async () => {
    const dir = workspace({ 'plain.yml': 'a: 1\n', 'a-file': '' });
    const refused = refusedIn(dir);
    await refused(['build', '--run-dir', 'a-file/run'], /--run-dir a-file\/run: .*a-file is not a folder$/);
    await refused(['images', 'render', '--out', 'a-file/out'], /--out a-file\/out: .*a-file is not a folder$/);
    await refused(
      ['vault', 'encrypt', 'plain.yml', '--output', 'a-file/x.yml'],
      /--output a-file\/x\.yml: .*a-file is not a folder$/,
    );
    await refused(['vault', 'encrypt', 'plain.yml', '--output', 'etc'], /--output etc: is a folder, not a file$/);
    writeFileSync(join(dir, '.ci-builder'), 'not a folder\n');
    await refused(['build'], /--run-dir \.ci-builder\/runs: .*\.ci-builder is not a folder$/);
    assert.equal(readFileSync(join(dir, 'plain.yml'), 'utf8'), 'a: 1\n');
  });

  const notRoot = process.getuid?.() !== 0 && 'needs root to switch to nobody';
  it('in a folder the user may not write (as an unprivileged user)', { skip: notRoot }, () => {
    const dir = workspace({ 'plain.yml': 'a: 1\n' });
    mkdirSync(join(dir, 'locked'), { mode: 0o555 });
    for (const path of [dir, join(dir, 'plain.yml')]) chownSync(path, 65534, 65534);
    const cli = join(projectRoot, 'dist/cli/main.js');
    const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cli];
    const env = { PATH: process.env.PATH, HOME: dir, ...vaultEnv };
    const config = ['--config', join(dir, 'etc')];
    for (const args of [
      ['vault', 'encrypt', 'plain.yml', '--output', 'locked/x.yml'],
      [...config, 'images', 'render', '--out', 'locked/out'],
      [...config, 'build', '--run-dir', 'locked/run'],
    ]) {
      const result = spawnSync('setpriv', [...asNobody, ...args], { cwd: dir, encoding: 'utf8', env, timeout: 20_000 });
      assertOneLineError(cliResult(result), /: .*is not writable \(EACCES\)$/);
    }
  });
});

describe('vault messages say what is missing', () => {
  const howToGive = 'set CI_BUILDER_VAULT_PASSWORD or --vault-password-file FILE';

  it('encrypting with no password says how to give one, not that the plaintext is encrypted', async () => {
    const dir = writeTree(temporaryDir(), { 'plain.yml': 'a: 1\n' });
    const encrypt = await runCli(['vault', 'encrypt', 'plain.yml'], { cwd: dir });
    assertOneLineError(
      encrypt,
      new RegExp(`^ci-builder: error: no vault password to encrypt plain\\.yml with: ${howToGive}$`),
    );
    const cli = [join(projectRoot, 'dist/cli/main.js'), 'vault', 'encrypt-string', '--name', 'x'];
    const value = spawnSync(process.execPath, cli, { input: 'v', encoding: 'utf8', env: { PATH: process.env.PATH } });
    assertOneLineError(cliResult(value), new RegExp(`no vault password to encrypt the value with: ${howToGive}$`));
  });

  it('decrypting, viewing or rekeying a file that is not a vault says so, password or not', async () => {
    const dir = writeTree(temporaryDir(), { 'plain.yml': 'a: 1\n' });
    for (const command of ['decrypt', 'view', 'rekey']) {
      const result = await runCli(['vault', command, 'plain.yml'], {
        cwd: dir,
        env: { CI_BUILDER_NEW_VAULT_PASSWORD: 'n3w' },
      });
      assertOneLineError(
        result,
        /^ci-builder: error: plain\.yml: not an Ansible Vault file \(no \$ANSIBLE_VAULT header\)$/,
      );
    }
    assert.equal(readFileSync(join(dir, 'plain.yml'), 'utf8'), 'a: 1\n');
  });
});

describe('config and secrets files', () => {
  it('a YAML alias bomb in the config or the secrets file is a config error naming the file', async () => {
    const inConfig = workspace({ 'etc/config.yml': `${goodConfig}x-bomb:\n${aliasBomb('  ')}` });
    const config = await runCli(['--config', join(inConfig, 'etc'), 'config', 'show'], { cwd: inConfig });
    const bombLine = 'invalid YAML: aliases expand more than 100 times: refused as an alias bomb';
    assertOneLineError(config, new RegExp(`etc/config\\.yml: \\(top level\\): ${bombLine}$`));
    const inSecrets = workspace({
      'etc/config.yml': `${goodConfig}secrets: secrets.yml\n`,
      'etc/secrets.yml': aliasBomb(),
    });
    const secrets = await runCli(['--config', join(inSecrets, 'etc'), 'config', 'show'], { cwd: inSecrets });
    assertOneLineError(secrets, /etc\/secrets\.yml: \(top level\): invalid YAML: .*alias bomb$/);
  });

  it('a configured secrets file that is missing is an error naming the key and the file, not "no credentials"', async () => {
    const dir = workspace({ 'etc/config.yml': `${goodConfig}secrets: secrets.yml\n` });
    for (const args of [['config', 'show'], ['build']]) {
      const result = await runCli(['--config', join(dir, 'etc'), ...args], { cwd: dir });
      assertOneLineError(
        result,
        /etc\/secrets\.yml: the secrets file named by the config key "secrets" does not exist/,
      );
    }
    assert.ok(!existsSync(join(dir, '.ci-builder')), 'no run was started');
  });

  it('a config value longer than allowed (a 5 MB maintainer) names the file and the key, and renders nothing', async () => {
    const dir = workspace({ 'etc/config.yml': `${goodConfig}maintainer: "${'m'.repeat(5 * 1024 * 1024)}"\n` });
    const out = join(dir, 'rendered');
    const result = await runCli(['--config', join(dir, 'etc'), 'images', 'render', '--out', out], { cwd: dir });
    assertOneLineError(result, /etc\/config\.yml: maintainer: at most 256 characters$/);
    assert.ok(!existsSync(out), 'nothing rendered');
  });

  it('the bundled configuration still shows', async () => {
    const result = await runCli(['config', 'show'], { cwd: temporaryDir() });
    assert.equal(result.code, 0, result.stderr);
  });
});

describe('a vulnerability database that is bad input', () => {
  const image = `localhost/ci-builder-cli-errors-scan:${Date.now()}`;
  const storage = ['--storage-driver', 'overlay'];
  before(() => {
    const container = execFileSync('buildah', [...storage, 'from', 'scratch'], { encoding: 'utf8' }).trim();
    execFileSync('buildah', [...storage, 'commit', '--quiet', container, image]);
    execFileSync('buildah', [...storage, 'rm', container]);
  });
  after(() => execFileSync('buildah', [...storage, 'rmi', image]));

  it('a malformed record, a zip bomb or a zip64 field cut short: exit 2, one line naming file, member and field', async () => {
    const dir = workspace();
    const data = (text: string) => ({ data: Buffer.from(text), method: 0 as const, declaredSize: text.length });
    const zip64 = Buffer.from([0x01, 0x00, 0x04, 0x00, 0, 0, 0, 0]);
    const inputs: Array<[string, Buffer | string, RegExp]> = [
      [
        'record.json',
        '{"id":"DSA-1-1","affected":[{"ranges":"ECOSYSTEM"}]}',
        /record\.json: OSV record DSA-1-1: record\.affected\[0\]\.ranges is not a list$/,
      ],
      [
        'bomb.zip',
        rawZip([{ name: 'DSA-2-1.json', data: zeroBomb(64), declaredSize: 100 }]),
        /bomb\.zip: DSA-2-1\.json inflates past the 100 bytes its header declares$/,
      ],
      [
        'zip64.zip',
        rawZip([{ name: 'DSA-3-1.json', ...data('{}'), declaredSize: 0xffffffff, extra: zip64 }]),
        /zip64\.zip: not a readable zip archive \(DSA-3-1\.json: its zip64 extra field is cut short\)$/,
      ],
      [
        'deep.json',
        `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
        /deep\.json: nested deeper than the 64 levels allowed/,
      ],
    ];
    for (const [name, content, expected] of inputs) {
      writeFileSync(join(dir, name), content);
      const out = join(dir, `out-${name}`);
      const args = ['--config', join(dir, 'etc'), 'scan', '--osv-db', join(dir, name), '--out', out, image];
      assertOneLineError(await runCli(args, { cwd: dir }), expected);
      assert.ok(!existsSync(out), 'no report written');
    }
  });
});
