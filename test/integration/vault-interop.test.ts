import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, linkSync, lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { encryptVault } from '../../src/vault/vault.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

const password = 'correct horse battery staple';
const ansibleVault = (args: string[], passwordFile: string) => execFileSync('ansible-vault', [...args, '--vault-password-file', passwordFile], { encoding: 'utf8', env: { ...process.env, ANSIBLE_NOCOLOR: '1' } });

describe('vault files interoperate with Debian\'s ansible-vault', { timeout: 5 * 60_000 }, () => {
  const dir = temporaryDir();
  const passwordFile = join(dir, 'vault-password');
  writeFileSync(passwordFile, `${password}\n`);
  const plaintext = 'registry_username: builder\nregistry_password: "p@ss: with symbols"\n';

  it('decrypts and views what ansible-vault encrypted (1.1 and 1.2)', async () => {
    for (const vaultId of [undefined, 'ci']) {
      const file = join(dir, `from-ansible-${vaultId ?? 'plain'}.yml`);
      writeFileSync(file, plaintext);
      ansibleVault(['encrypt', ...(vaultId ? ['--encrypt-vault-id', vaultId, '--vault-id', `${vaultId}@${passwordFile}`] : []), file], passwordFile);
      assert.match(readFileSync(file, 'utf8'), vaultId ? /^\$ANSIBLE_VAULT;1\.2;AES256;ci\n/ : /^\$ANSIBLE_VAULT;1\.1;AES256\n/);
      const view = await runCli(['vault', 'view', file], { env: { CI_BUILDER_VAULT_PASSWORD: password } });
      assert.equal(view.code, 0, view.stderr);
      assert.equal(view.stdout, plaintext);
      const decrypt = await runCli(['--vault-password-file', passwordFile, 'vault', 'decrypt', file]);
      assert.equal(decrypt.code, 0, decrypt.stderr);
      assert.equal(readFileSync(file, 'utf8'), plaintext);
    }
  });

  it('writes files and values ansible-vault decrypts', async () => {
    const file = join(dir, 'from-us.yml');
    writeFileSync(file, plaintext);
    const encrypt = await runCli(['vault', 'encrypt', '--vault-id', 'prod', file], { env: { CI_BUILDER_VAULT_PASSWORD: password } });
    assert.equal(encrypt.code, 0, encrypt.stderr);
    assert.ok(readFileSync(file, 'utf8').startsWith('$ANSIBLE_VAULT;1.2;AES256;prod\n'));
    assert.equal(ansibleVault(['view', file], passwordFile), plaintext);

    const value = spawnSync(process.execPath, [join(process.cwd(), 'dist/cli/main.js'), 'vault', 'encrypt-string', '--name', 'pulp_password'], { input: 's3cr3t', encoding: 'utf8', env: { ...process.env, CI_BUILDER_VAULT_PASSWORD: password } });
    assert.equal(value.status, 0, value.stderr);
    const yamlFile = join(dir, 'vars.yml');
    writeFileSync(yamlFile, `---\n${value.stdout}`);
    const debug = execFileSync('ansible', ['localhost', '-m', 'debug', '-a', 'var=pulp_password', '-e', `@${yamlFile}`, '--vault-password-file', passwordFile], { encoding: 'utf8', env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false' } });
    assert.match(debug, /"pulp_password": "s3cr3t"/);
  });

  it('rekeys so that only the new password opens the file', async () => {
    const file = join(dir, 'rekey.yml');
    writeFileSync(file, plaintext);
    ansibleVault(['encrypt', file], passwordFile);
    const newPasswordFile = join(dir, 'new-password');
    writeFileSync(newPasswordFile, 'n3w\n');
    const rekey = await runCli(['--vault-password-file', passwordFile, 'vault', 'rekey', '--new-vault-password-file', newPasswordFile, file]);
    assert.equal(rekey.code, 0, rekey.stderr);
    assert.equal(ansibleVault(['view', file], newPasswordFile), plaintext);
  });

  it('fails with one line and writes nothing on a wrong or missing password or a tampered file', async () => {
    const file = join(dir, 'guarded.yml');
    writeFileSync(file, plaintext);
    ansibleVault(['encrypt', file], passwordFile);
    const before = readFileSync(file, 'utf8');
    const wrong = await runCli(['vault', 'decrypt', file], { env: { CI_BUILDER_VAULT_PASSWORD: 'wrong' } });
    assert.equal(wrong.code, 2);
    assert.equal(wrong.stderr.trim(), `ci-builder: error: ${file}: wrong vault password, or the file was changed (HMAC mismatch)`);
    const missing = await runCli(['vault', 'view', file]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr.trim(), /^ci-builder: error: .*set CI_BUILDER_VAULT_PASSWORD or --vault-password-file FILE$/);
    const lines = before.split('\n');
    lines[2] = `${(lines[2] ?? '').slice(0, 10)}${(lines[2] ?? '').at(10) === 'a' ? 'b' : 'a'}${(lines[2] ?? '').slice(11)}`;
    writeFileSync(file, lines.join('\n'));
    const tampered = await runCli(['vault', 'decrypt', file], { env: { CI_BUILDER_VAULT_PASSWORD: password } });
    assert.equal(tampered.code, 2);
    assert.equal(tampered.stderr.trim().split('\n').length, 1);
    assert.equal(readFileSync(file, 'utf8'), lines.join('\n'), 'nothing written');
  });

  it('reads vaulted secrets: a whole encrypted file, and `!vault` values', async () => {
    const config = writeTree(temporaryDir(), {
      'config.yml': 'release: zed\nnamespace: ns\nimages_dirs: [.]\ndistros:\n  debian: { version: bookworm, package_type: deb, base_image: { image: debian, tag: bookworm } }\nsecrets: secrets.yml\n',
      'secrets.yml': 'registry_username: builder\nregistry_password: hunter2-vaulted\n',
    });
    ansibleVault(['encrypt', join(config, 'secrets.yml')], passwordFile);
    const shown = await runCli(['--config', config, '--vault-password-file', passwordFile, 'config', 'show']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /registry_username: builder/);
    assert.match(shown.stdout, /registry_password: <redacted>/);
    const locked = await runCli(['--config', config, 'config', 'show']);
    assert.equal(locked.code, 2);
    assert.match(locked.stderr, /secrets\.yml: .*vault-encrypted and no vault password was given/);

    const inline = ansibleVault(['encrypt_string', '--name', 'registry_password', 'hunter2-inline'], passwordFile);
    writeFileSync(join(config, 'secrets.yml'), `registry_username: builder\n${inline}`);
    const inlineShown = await runCli(['--config', config, 'config', 'show', '--json'], { env: { CI_BUILDER_VAULT_PASSWORD: password } });
    assert.equal(inlineShown.code, 0, inlineShown.stderr);
    assert.equal((JSON.parse(inlineShown.stdout) as { config: { secrets: { values: Record<string, string> } } }).config.secrets.values.registry_password, '<redacted>');
    const wrongInline = await runCli(['--config', config, 'config', 'show'], { env: { CI_BUILDER_VAULT_PASSWORD: 'nope' } });
    assert.equal(wrongInline.code, 2);
    assert.match(wrongInline.stderr.trim(), /secrets\.yml: registry_password: wrong vault password/);
  });
});

/** Runs ansible-vault or ci-builder as an unprivileged user (nobody, when the tests run as root). */
function asUser(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): { code: number | null; stderr: string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('CI_BUILDER_')));
  const drop = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  const [program = command, ...rest] = [...drop, command, ...args];
  const result = spawnSync(program, rest, { cwd, encoding: 'utf8', env: { ...clean, HOME: cwd, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: join(cwd, '.ansible-tmp'), ...env } });
  return { code: result.status, stderr: result.stderr };
}

const ciBuilder = join(process.cwd(), 'dist/cli/main.js');

describe('in-place writes treat links and modes as ansible-vault does, and never leave plaintext behind', { timeout: 5 * 60_000 }, () => {
  const plaintext = 'registry_password: hunter2-in-place\n';
  /** One folder per tool, the same files in each; the tools' results are then compared. */
  const twins = (files: (dir: string) => void) => {
    const dirs = { ansible: temporaryDir(), ours: temporaryDir() };
    for (const dir of Object.values(dirs)) {
      writeFileSync(join(dir, 'vault-password'), `${password}\n`);
      files(dir);
    }
    return dirs;
  };
  const run = (tool: 'ansible' | 'ours', dir: string, args: string[]) => {
    const passwordFile = join(dir, 'vault-password');
    return tool === 'ansible'
      ? spawnSync('ansible-vault', [...args, '--vault-password-file', passwordFile], { cwd: dir, encoding: 'utf8', env: { ...process.env, ANSIBLE_NOCOLOR: '1' } })
      : spawnSync(process.execPath, [ciBuilder, '--vault-password-file', passwordFile, 'vault', ...args], { cwd: dir, encoding: 'utf8' });
  };
  const isVault = (file: string) => readFileSync(file, 'utf8').startsWith('$ANSIBLE_VAULT;');
  const mode = (file: string) => statSync(file).mode & 0o777;

  it('encrypts through a symbolic link: the link stays, its target is encrypted', () => {
    const dirs = twins((dir) => {
      writeFileSync(join(dir, 'real.yml'), plaintext);
      symlinkSync('real.yml', join(dir, 'link.yml'));
    });
    for (const [tool, dir] of Object.entries(dirs) as Array<['ansible' | 'ours', string]>) {
      const result = run(tool, dir, ['encrypt', 'link.yml']);
      assert.equal(result.status, 0, `${tool}: ${result.stderr}`);
      assert.ok(lstatSync(join(dir, 'link.yml')).isSymbolicLink(), `${tool}: the link stays a link`);
      assert.ok(isVault(join(dir, 'real.yml')), `${tool}: the target is encrypted`);
      assert.equal(mode(join(dir, 'real.yml')), 0o600, tool);
      const decrypt = run(tool, dir, ['decrypt', 'link.yml']);
      assert.equal(decrypt.status, 0, `${tool}: ${decrypt.stderr}`);
      assert.ok(lstatSync(join(dir, 'link.yml')).isSymbolicLink());
      assert.equal(readFileSync(join(dir, 'real.yml'), 'utf8'), plaintext, tool);
    }
  });

  it('writes --output through a symbolic link, a dangling one included', () => {
    const dirs = twins((dir) => {
      writeFileSync(join(dir, 'in.yml'), plaintext);
      writeFileSync(join(dir, 'old.txt'), 'old content\n');
      symlinkSync('old.txt', join(dir, 'out.yml'));
      symlinkSync('new.txt', join(dir, 'dangling.yml'));
    });
    for (const [tool, dir] of Object.entries(dirs) as Array<['ansible' | 'ours', string]>) {
      for (const [output, target] of [['out.yml', 'old.txt'], ['dangling.yml', 'new.txt']] as const) {
        const result = run(tool, dir, ['encrypt', 'in.yml', '--output', output]);
        assert.equal(result.status, 0, `${tool}: ${result.stderr}`);
        assert.ok(lstatSync(join(dir, output)).isSymbolicLink(), `${tool}: ${output} stays a link`);
        assert.ok(isVault(join(dir, target)), `${tool}: ${target} is encrypted`);
      }
    }
  });

  it('encrypting a file with another hard link leaves no plaintext under the other name', () => {
    const dirs = twins((dir) => {
      writeFileSync(join(dir, 'first.yml'), plaintext);
      linkSync(join(dir, 'first.yml'), join(dir, 'second.yml'));
    });
    for (const [tool, dir] of Object.entries(dirs) as Array<['ansible' | 'ours', string]>) {
      const result = run(tool, dir, ['encrypt', 'first.yml']);
      assert.equal(result.status, 0, `${tool}: ${result.stderr}`);
      assert.ok(isVault(join(dir, 'first.yml')), tool);
      assert.ok(!readFileSync(join(dir, 'second.yml')).includes('hunter2-in-place'), `${tool}: no plaintext under the other name`);
    }
    // ansible-vault shreds the other name to noise; ours holds the same vault, still readable.
    assert.equal(run('ours', dirs.ours, ['view', 'second.yml']).stdout, plaintext);
  });

  it('encrypt and decrypt leave a private 0600 file; rekey keeps the mode', () => {
    const dirs = twins((dir) => {
      writeFileSync(join(dir, 'secrets.yml'), plaintext);
      chmodSync(join(dir, 'secrets.yml'), 0o640);
      writeFileSync(join(dir, 'new-password'), 'n3w\n');
    });
    for (const [tool, dir] of Object.entries(dirs) as Array<['ansible' | 'ours', string]>) {
      const file = join(dir, 'secrets.yml');
      assert.equal(run(tool, dir, ['encrypt', 'secrets.yml']).status, 0);
      assert.equal(mode(file), 0o600, `${tool}: encrypt`);
      chmodSync(file, 0o640);
      assert.equal(run(tool, dir, ['decrypt', 'secrets.yml']).status, 0);
      assert.equal(mode(file), 0o600, `${tool}: decrypt`);
      assert.equal(run(tool, dir, ['encrypt', 'secrets.yml']).status, 0);
      chmodSync(file, 0o640);
      const rekey = run(tool, dir, ['rekey', '--new-vault-password-file', 'new-password', 'secrets.yml']);
      assert.equal(rekey.status, 0, `${tool}: ${rekey.stderr}`);
      assert.equal(mode(file), 0o640, `${tool}: rekey keeps the mode`);
    }
  });

  it('as an unprivileged user: a read-only file or one owned by another user is refused for encrypt and rekey, unchanged', () => {
    const dirs = twins((dir) => {
      writeFileSync(join(dir, 'read-only.yml'), plaintext);
      chmodSync(join(dir, 'read-only.yml'), 0o444);
      writeFileSync(join(dir, 'vaulted-read-only.yml'), encryptVault(plaintext, password));
      chmodSync(join(dir, 'vaulted-read-only.yml'), 0o444);
      writeFileSync(join(dir, 'new-password'), 'n3w\n');
    });
    const root = process.getuid?.() === 0;
    for (const [tool, dir] of Object.entries(dirs) as Array<['ansible' | 'ours', string]>) {
      if (root) {
        writeFileSync(join(dir, 'not-mine.yml'), plaintext); // owned by root, 0644: nobody may read it, not write it
        for (const file of ['.', 'vault-password', 'new-password', 'read-only.yml', 'vaulted-read-only.yml']) chownSync(join(dir, file), 65534, 65534);
      }
      const command = tool === 'ansible' ? 'ansible-vault' : process.execPath;
      const prefix = tool === 'ansible' ? [] : [ciBuilder, 'vault'];
      const passwordArgs = ['--vault-password-file', join(dir, 'vault-password')];
      const args = (rest: string[]) => (tool === 'ansible' ? [...rest, ...passwordArgs] : [...prefix.slice(0, 1), ...passwordArgs, ...prefix.slice(1), ...rest]);
      for (const refused of [['encrypt', 'read-only.yml'], ['rekey', '--new-vault-password-file', 'new-password', 'vaulted-read-only.yml'], ...(root ? [['encrypt', 'not-mine.yml']] : [])]) {
        const file = join(dir, refused.at(-1) ?? '');
        const before = readFileSync(file, 'utf8');
        const result = asUser(command, args(refused), dir);
        assert.notEqual(result.code, 0, `${tool} ${refused.join(' ')} is refused`);
        assert.equal(readFileSync(file, 'utf8'), before, `${tool} ${refused.join(' ')}: unchanged`);
        if (tool === 'ours') {
          assert.equal(result.code, 2);
          assert.match(result.stderr.trim(), /^ci-builder: error: .*: cannot be written \(EACCES\); nothing was changed$/);
        }
      }
      // Decrypting needs only the folder to be writable: the read-only vault is replaced by a private plaintext.
      const decrypt = asUser(command, args(['decrypt', 'vaulted-read-only.yml']), dir);
      assert.equal(decrypt.code, 0, `${tool}: ${decrypt.stderr}`);
      assert.equal(readFileSync(join(dir, 'vaulted-read-only.yml'), 'utf8'), plaintext);
      assert.equal(mode(join(dir, 'vaulted-read-only.yml')), 0o600);
    }
  });
});
