import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, linkSync, lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { encryptVault } from '../../src/vault/vault.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { AS_NOBODY, cliForNobody, NOBODY } from '../helpers/other-user.js';

const password = 'correct horse battery staple';
const ansibleVault = (args: string[], passwordFile: string) =>
  execFileSync('ansible-vault', [...args, '--vault-password-file', passwordFile], {
    encoding: 'utf8',
    env: { ...process.env, ANSIBLE_NOCOLOR: '1' },
  });

describe("vault files interoperate with Debian's ansible-vault", { timeout: 5 * 60_000 }, () => {
  const dir = temporaryDir();
  const passwordFile = join(dir, 'vault-password');
  writeFileSync(passwordFile, `${password}\n`);
  const plaintext = 'registry_username: builder\nregistry_password: "p@ss: with symbols"\n';

  it('decrypts and views what ansible-vault encrypted (1.1 and 1.2)', async () => {
    for (const vaultId of [undefined, 'ci']) {
      const file = join(dir, `from-ansible-${vaultId ?? 'plain'}.yml`);
      writeFileSync(file, plaintext);
      ansibleVault(
        [
          'encrypt',
          ...(vaultId ? ['--encrypt-vault-id', vaultId, '--vault-id', `${vaultId}@${passwordFile}`] : []),
          file,
        ],
        passwordFile,
      );
      assert.match(
        readFileSync(file, 'utf8'),
        vaultId ? /^\$ANSIBLE_VAULT;1\.2;AES256;ci\n/ : /^\$ANSIBLE_VAULT;1\.1;AES256\n/,
      );
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
    const encrypt = await runCli(['vault', 'encrypt', '--vault-id', 'prod', file], {
      env: { CI_BUILDER_VAULT_PASSWORD: password },
    });
    assert.equal(encrypt.code, 0, encrypt.stderr);
    assert.ok(readFileSync(file, 'utf8').startsWith('$ANSIBLE_VAULT;1.2;AES256;prod\n'));
    assert.equal(ansibleVault(['view', file], passwordFile), plaintext);

    const value = spawnSync(
      process.execPath,
      [join(process.cwd(), 'dist/cli/main.js'), 'vault', 'encrypt-string', '--name', 'pulp_password'],
      { input: 's3cr3t', encoding: 'utf8', env: { ...process.env, CI_BUILDER_VAULT_PASSWORD: password } },
    );
    assert.equal(value.status, 0, value.stderr);
    const yamlFile = join(dir, 'vars.yml');
    writeFileSync(yamlFile, `---\n${value.stdout}`);
    const debug = execFileSync(
      'ansible',
      [
        'localhost',
        '-m',
        'debug',
        '-a',
        'var=pulp_password',
        '-e',
        `@${yamlFile}`,
        '--vault-password-file',
        passwordFile,
      ],
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          ANSIBLE_NOCOLOR: '1',
          ANSIBLE_LOCALHOST_WARNING: 'false',
          ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false',
        },
      },
    );
    assert.match(debug, /"pulp_password": "s3cr3t"/);
  });

  it('rekeys so that only the new password opens the file', async () => {
    const file = join(dir, 'rekey.yml');
    writeFileSync(file, plaintext);
    ansibleVault(['encrypt', file], passwordFile);
    const newPasswordFile = join(dir, 'new-password');
    writeFileSync(newPasswordFile, 'n3w\n');
    const rekey = await runCli([
      '--vault-password-file',
      passwordFile,
      'vault',
      'rekey',
      '--new-vault-password-file',
      newPasswordFile,
      file,
    ]);
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
    assert.equal(
      wrong.stderr.trim(),
      `ci-builder: error: ${file}: wrong vault password, or the file was changed (HMAC mismatch)`,
    );
    const missing = await runCli(['vault', 'view', file]);
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr.trim(),
      /^ci-builder: error: .*set CI_BUILDER_VAULT_PASSWORD or --vault-password-file FILE$/,
    );
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
      'config.yml':
        'release: zed\nnamespace: ns\nimages_dirs: [.]\ndistros:\n  debian: { version: bookworm, package_type: deb, base_image: { image: debian, tag: bookworm } }\nsecrets: secrets.yml\n',
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
    const inlineShown = await runCli(['--config', config, 'config', 'show', '--json'], {
      env: { CI_BUILDER_VAULT_PASSWORD: password },
    });
    assert.equal(inlineShown.code, 0, inlineShown.stderr);
    assert.equal(
      (JSON.parse(inlineShown.stdout) as { config: { secrets: { values: Record<string, string> } } }).config.secrets
        .values.registry_password,
      '<redacted>',
    );
    const wrongInline = await runCli(['--config', config, 'config', 'show'], {
      env: { CI_BUILDER_VAULT_PASSWORD: 'nope' },
    });
    assert.equal(wrongInline.code, 2);
    assert.match(wrongInline.stderr.trim(), /secrets\.yml: registry_password: wrong vault password/);
  });
});

const ciBuilder = join(process.cwd(), 'dist/cli/main.js');
type Tool = 'ansible' | 'ours';

/**
 * A vault command as each tool spells it: `ansible-vault ARGS --vault-password-file F` or
 * `ci-builder --vault-password-file F vault ARGS` (the CLI at `cli`, the checkout's by default).
 */
function vaultCommand(tool: Tool, dir: string, args: readonly string[], cli = ciBuilder): [string, string[]] {
  const passwordArgs = ['--vault-password-file', join(dir, 'vault-password')];
  if (tool === 'ansible') return ['ansible-vault', [...args, ...passwordArgs]];
  return [process.execPath, [cli, ...passwordArgs, 'vault', ...args]];
}

/**
 * Runs a vault command in `dir`; `asNobody` (a copy of the CLI that nobody can read) runs it as nobody:
 * the checkout itself may be in a folder nobody may enter.
 */
function runVault(tool: Tool, dir: string, args: readonly string[], asNobody?: { cli: string }) {
  const [command, commandArgs] = vaultCommand(tool, dir, args, asNobody?.cli);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('CI_BUILDER_')));
  const env = { ...clean, HOME: dir, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: join(dir, '.ansible-tmp') };
  const [program = command, ...rest] = [...(asNobody ? AS_NOBODY : []), command, ...commandArgs];
  return spawnSync(program, rest, { cwd: dir, encoding: 'utf8', env });
}

const inPlace = 'in-place writes treat links and modes as ansible-vault does, never leaving plaintext behind';
describe(inPlace, { timeout: 5 * 60_000 }, () => {
  const plaintext = 'registry_password: hunter2-in-place\n';
  /** One folder per tool with the same files; each test runs both tools and compares what they left. */
  const twins = (files: (dir: string) => void): Array<[Tool, string]> =>
    (['ansible', 'ours'] as const).map((tool) => {
      const dir = temporaryDir();
      writeFileSync(join(dir, 'vault-password'), `${password}\n`);
      files(dir);
      return [tool, dir];
    });
  const isVault = (file: string) => readFileSync(file, 'utf8').startsWith('$ANSIBLE_VAULT;');
  const mode = (file: string) => statSync(file).mode & 0o777;
  const succeeds = (tool: Tool, dir: string, args: string[]) => {
    const result = runVault(tool, dir, args);
    assert.equal(result.status, 0, `${tool} ${args.join(' ')}: ${result.stderr}`);
  };

  it('encrypts through a symbolic link: the link stays, its target is encrypted', () => {
    const dirs = twins((dir) => {
      writeFileSync(join(dir, 'real.yml'), plaintext);
      symlinkSync('real.yml', join(dir, 'link.yml'));
    });
    for (const [tool, dir] of dirs) {
      succeeds(tool, dir, ['encrypt', 'link.yml']);
      assert.ok(lstatSync(join(dir, 'link.yml')).isSymbolicLink(), `${tool}: the link stays a link`);
      assert.ok(isVault(join(dir, 'real.yml')), `${tool}: the target is encrypted`);
      assert.equal(mode(join(dir, 'real.yml')), 0o600, tool);
      succeeds(tool, dir, ['decrypt', 'link.yml']);
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
    for (const [tool, dir] of dirs) {
      for (const [output, target] of [
        ['out.yml', 'old.txt'],
        ['dangling.yml', 'new.txt'],
      ] as const) {
        succeeds(tool, dir, ['encrypt', 'in.yml', '--output', output]);
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
    for (const [tool, dir] of dirs) {
      succeeds(tool, dir, ['encrypt', 'first.yml']);
      assert.ok(isVault(join(dir, 'first.yml')), tool);
      const other = readFileSync(join(dir, 'second.yml'));
      assert.ok(!other.includes('hunter2-in-place'), `${tool}: no plaintext under the other name`);
    }
    // ansible-vault shreds the other name to noise; ours holds the same vault, still readable.
    const [, ours] = dirs[1] ?? ['ours', ''];
    assert.equal(runVault('ours', ours, ['view', 'second.yml']).stdout, plaintext);
  });

  it('encrypt and decrypt leave a private 0600 file; rekey keeps the mode', () => {
    const dirs = twins((dir) => {
      writeFileSync(join(dir, 'secrets.yml'), plaintext);
      chmodSync(join(dir, 'secrets.yml'), 0o640);
      writeFileSync(join(dir, 'new-password'), 'n3w\n');
    });
    for (const [tool, dir] of dirs) {
      const file = join(dir, 'secrets.yml');
      succeeds(tool, dir, ['encrypt', 'secrets.yml']);
      assert.equal(mode(file), 0o600, `${tool}: encrypt`);
      chmodSync(file, 0o640);
      succeeds(tool, dir, ['decrypt', 'secrets.yml']);
      assert.equal(mode(file), 0o600, `${tool}: decrypt`);
      succeeds(tool, dir, ['encrypt', 'secrets.yml']);
      chmodSync(file, 0o640);
      succeeds(tool, dir, ['rekey', '--new-vault-password-file', 'new-password', 'secrets.yml']);
      assert.equal(mode(file), 0o640, `${tool}: rekey keeps the mode`);
    }
  });

  const notRoot = process.getuid?.() !== 0 && 'needs root to own files as another user';
  it("run by root on another user's file: encrypt leaves root's file, rekey keeps the owner", { skip: notRoot }, () => {
    const dirs = twins((dir) => {
      writeFileSync(join(dir, 'theirs.yml'), plaintext);
      chownSync(join(dir, 'theirs.yml'), 65534, 65534);
      writeFileSync(join(dir, 'new-password'), 'n3w\n');
    });
    for (const [tool, dir] of dirs) {
      const file = join(dir, 'theirs.yml');
      succeeds(tool, dir, ['encrypt', 'theirs.yml']);
      assert.equal(statSync(file).uid, 0, `${tool}: encrypt`);
      chownSync(file, 65534, 65534);
      succeeds(tool, dir, ['rekey', '--new-vault-password-file', 'new-password', 'theirs.yml']);
      assert.deepEqual([statSync(file).uid, statSync(file).gid], [65534, 65534], `${tool}: rekey keeps the owner`);
    }
  });

  it("as an unprivileged user, encrypt and rekey refuse a read-only file or another user's, and change nothing", (t) => {
    const root = process.getuid?.() === 0;
    // Root runs both tools as nobody, ours from a copy nobody can read; anyone else runs them as itself.
    const forNobody = root ? cliForNobody() : undefined;
    if (forNobody && 'skip' in forNobody) return t.skip(forNobody.skip);
    const dirs = twins((dir) => {
      writeFileSync(join(dir, 'read-only.yml'), plaintext);
      chmodSync(join(dir, 'read-only.yml'), 0o444);
      writeFileSync(join(dir, 'vaulted-read-only.yml'), encryptVault(plaintext, password));
      chmodSync(join(dir, 'vaulted-read-only.yml'), 0o444);
      writeFileSync(join(dir, 'new-password'), 'n3w\n');
      if (!root) return;
      // Root's file, 0644: nobody may read it, not write it.
      writeFileSync(join(dir, 'not-mine.yml'), plaintext);
      for (const file of ['.', 'vault-password', 'new-password', 'read-only.yml', 'vaulted-read-only.yml']) {
        chownSync(join(dir, file), NOBODY.uid, NOBODY.gid);
      }
    });
    const refusals = [
      ['encrypt', 'read-only.yml'],
      ['rekey', '--new-vault-password-file', 'new-password', 'vaulted-read-only.yml'],
      ...(root ? [['encrypt', 'not-mine.yml']] : []),
    ];
    for (const [tool, dir] of dirs) {
      for (const args of refusals) {
        const file = join(dir, args.at(-1) ?? '');
        const before = readFileSync(file, 'utf8');
        const result = runVault(tool, dir, args, forNobody);
        assert.notEqual(result.status, 0, `${tool} ${args.join(' ')} is refused`);
        assert.equal(readFileSync(file, 'utf8'), before, `${tool} ${args.join(' ')}: unchanged`);
        if (tool === 'ours') {
          assert.equal(result.status, 2);
          const refusal = /^ci-builder: error: .*: cannot be written \(EACCES\); nothing was changed$/;
          assert.match(result.stderr.trim(), refusal);
        }
      }
      // Decrypting needs only the folder to be writable: the read-only vault becomes a private plaintext.
      const decrypt = runVault(tool, dir, ['decrypt', 'vaulted-read-only.yml'], forNobody);
      assert.equal(decrypt.status, 0, `${tool}: ${decrypt.stderr}`);
      assert.equal(readFileSync(join(dir, 'vaulted-read-only.yml'), 'utf8'), plaintext);
      assert.equal(mode(join(dir, 'vaulted-read-only.yml')), 0o600);
    }
  });
});
