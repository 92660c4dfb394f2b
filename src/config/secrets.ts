import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../util/errors.js';
import { isPlainObject } from './layers.js';
import { secretsSchema, type Secrets } from './secrets-schema.js';

/** Reads the secrets file; an absent file means no credentials. Values never appear in errors. */
export function loadSecrets(file: string | undefined): Secrets {
  if (file === undefined || !existsSync(file)) return {};
  const text = readFileSync(file, 'utf8');
  if (text.startsWith('$ANSIBLE_VAULT;')) {
    throw new ConfigError(file, '', 'is vault-encrypted, and vault support is not available in this build');
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch {
    throw new ConfigError(file, '', 'invalid YAML (content not shown: it holds secrets)');
  }
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) throw new ConfigError(file, '', 'expected a mapping of secret names to values');
  const parsed = secretsSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join('.') ?? '';
    const key = issue?.code === 'unrecognized_keys' ? issue.keys[0] ?? '' : path;
    throw new ConfigError(file, key, issue?.code === 'unrecognized_keys' ? 'unknown key' : 'expected a string');
  }
  return parsed.data;
}
