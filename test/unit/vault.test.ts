import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decryptVault, encryptVault, readEnvelope, VaultError } from '../../src/vault/vault.js';
import { parseYamlWithVault, VaultYamlError } from '../../src/vault/yaml.js';

describe('Ansible Vault format', () => {
  it('round-trips 1.1 and 1.2 with a vault id, in 80-column hex lines', () => {
    const plain = 'registry_password: s3cret\nüñíçødé: ✓\n';
    const v11 = encryptVault(plain, 'pw');
    assert.match(v11, /^\$ANSIBLE_VAULT;1\.1;AES256\n([0-9a-f]{80}\n)+[0-9a-f]{1,80}\n$/);
    assert.equal(decryptVault(v11, 'pw').toString('utf8'), plain);
    const v12 = encryptVault(plain, 'pw', 'prod');
    assert.ok(v12.startsWith('$ANSIBLE_VAULT;1.2;AES256;prod\n'));
    assert.equal(readEnvelope(v12).vaultId, 'prod');
    assert.equal(decryptVault(v12, 'pw').toString('utf8'), plain);
  });

  it('pads to whole blocks (an empty file and exactly one block both work)', () => {
    for (const plain of ['', '0123456789abcdef'])
      assert.equal(decryptVault(encryptVault(plain, 'x'), 'x').toString(), plain);
  });

  it('uses a fresh salt each time', () => {
    assert.notEqual(encryptVault('same', 'pw'), encryptVault('same', 'pw'));
  });

  it('refuses a wrong password and a changed file with the same message', () => {
    const vault = encryptVault('data', 'right');
    assert.throws(
      () => decryptVault(vault, 'wrong'),
      (error: unknown) => error instanceof VaultError && error.reason === 'wrong-password',
    );
    // Change one hex digit near the end: that is the ciphertext.
    const lines = vault.split('\n');
    const last = lines.length - 2;
    const target = lines[last] ?? '';
    lines[last] = `${target.slice(0, -2)}${target.at(-2) === '0' ? '1' : '0'}${target.at(-1)}`;
    assert.throws(
      () => decryptVault(lines.join('\n'), 'right'),
      (error: unknown) =>
        error instanceof VaultError && (error.reason === 'wrong-password' || error.reason === 'malformed'),
    );
  });

  it('refuses what is not a vault, or not a supported one', () => {
    assert.throws(() => decryptVault('hello', 'pw'), /no \$ANSIBLE_VAULT header/);
    assert.throws(() => decryptVault('$ANSIBLE_VAULT;1.0;AES\nabcd', 'pw'), /unsupported vault format/);
    assert.throws(() => decryptVault('$ANSIBLE_VAULT;1.1;AES256\nzz', 'pw'), /not hexadecimal/);
  });
});

describe('YAML with vault values', () => {
  const inline = (value: string) => `  ${encryptVault(value, 'pw').trimEnd().split('\n').join('\n  ')}`;

  it('unlocks `!vault |` values in place and leaves the rest', () => {
    const text = `registry_username: builder\nregistry_password: !vault |\n${inline('hunter2')}\nlist:\n  - !vault |\n  ${inline('x').split('\n').join('\n  ')}\n`;
    assert.deepEqual(
      parseYamlWithVault(text, () => 'pw'),
      { registry_username: 'builder', registry_password: 'hunter2', list: ['x'] },
    );
  });

  it('unlocks a whole encrypted file', () => {
    assert.deepEqual(
      parseYamlWithVault(encryptVault('a: 1\n', 'pw'), () => 'pw'),
      { a: 1 },
    );
  });

  it('asks for the password only when something is encrypted', () => {
    assert.deepEqual(
      parseYamlWithVault('a: 1\n', () => assert.fail('asked for a password')),
      { a: 1 },
    );
  });

  it('names the key whose value cannot be unlocked', () => {
    assert.throws(
      () => parseYamlWithVault(`outer:\n  token: !vault |\n  ${inline('t').split('\n').join('\n  ')}\n`, () => 'nope'),
      (error: unknown) =>
        error instanceof VaultYamlError &&
        error.keyPath === 'outer.token' &&
        /wrong vault password/.test(error.message),
    );
  });
});
