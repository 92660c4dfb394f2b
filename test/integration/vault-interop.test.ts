import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
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
