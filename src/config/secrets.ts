import { existsSync } from 'node:fs';
import { ConfigError, UsageError } from '../util/errors.js';
import type { PlainObject } from '../util/plain-object.js';
import { secretsSchema, type Secrets } from './secrets-schema.js';

/**
 * Reads the secrets file (plain YAML, a vault-encrypted file or `!vault` values), with the
 * config's YAML reader so the same vault password unlocks it. No `secrets:` key means no
 * credentials; a file the key names must exist (a missing one is a typo or an undeployed
 * secret, not "no credentials"). Values never appear in errors.
 */
export function loadSecrets(file: string | undefined, readYaml: (file: string) => PlainObject): Secrets {
  if (file === undefined) return {};
  if (!existsSync(file)) {
    const hint = 'remove the key for no credentials';
    throw new UsageError(`${file}: the secrets file named by the config key "secrets" does not exist (${hint})`);
  }
  const parsed = secretsSchema.safeParse(readYaml(file));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const unknown = issue?.code === 'unrecognized_keys';
    const key = unknown ? (issue.keys[0] ?? '') : (issue?.path.map(String).join('.') ?? '');
    throw new ConfigError(file, key, unknown ? 'unknown key' : 'expected a string');
  }
  return parsed.data;
}
