import { readFileSync, statSync } from 'node:fs';
import { UsageError } from '../util/errors.js';

export const VAULT_PASSWORD_VARIABLE = 'CI_BUILDER_VAULT_PASSWORD';

/**
 * The vault password: from --vault-password-file (trailing newline dropped, as Ansible does),
 * else CI_BUILDER_VAULT_PASSWORD. Never from a flag value, which every user could read in ps.
 */
export function resolveVaultPassword(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  variable = VAULT_PASSWORD_VARIABLE,
): string | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      if (statSync(file).mode & 0o111)
        throw new UsageError(
          `${file}: executable vault password scripts are not supported; give a file holding the password`,
        );
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(
        `${file}: cannot read the vault password file (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    const password = text.replace(/\s+$/, '');
    if (password === '') throw new UsageError(`${file}: the vault password file is empty`);
    return password;
  }
  const fromEnv = env[variable];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

const HOW_TO_GIVE = `set ${VAULT_PASSWORD_VARIABLE} or --vault-password-file FILE`;

/** The password that unlocks `what`, which is vault-encrypted. */
export function requireVaultPassword(
  file: string | undefined,
  what: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const password = resolveVaultPassword(file, env);
  if (password === undefined) {
    throw new UsageError(`${what} is vault-encrypted and no vault password was given: ${HOW_TO_GIVE}`);
  }
  return password;
}

/** The password to encrypt `what` with (a plaintext: nothing about it is encrypted yet). */
export function requireEncryptionPassword(
  file: string | undefined,
  what: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const password = resolveVaultPassword(file, env);
  if (password === undefined) throw new UsageError(`no vault password to encrypt ${what} with: ${HOW_TO_GIVE}`);
  return password;
}
