import { parseDocument, YAMLParseError, type ScalarTag } from 'yaml';
import { decryptVault, isVaultText, VaultError } from './vault.js';

/** A `!vault |` value as parsed, before it is unlocked. */
export class VaultedValue {
  constructor(readonly text: string) {}
}

const vaultTag: ScalarTag = {
  tag: '!vault',
  resolve: (value: string) => new VaultedValue(value),
};

export class VaultYamlError extends Error {
  constructor(
    readonly keyPath: string,
    message: string,
  ) {
    super(message);
    this.name = 'VaultYamlError';
  }
}

/** More alias expansions than this is an alias bomb ("billion laughs"), not a configuration. */
export const MAX_ALIAS_COUNT = 100;

/** An alias that cannot be expanded: to no anchor, or too many times (unbounded memory to read). */
export class YamlAliasError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'YamlAliasError';
  }
}

/**
 * Parses YAML that may be a whole vault-encrypted file or hold `!vault |` values, as
 * Ansible reads them. `password` is asked for only when something is encrypted.
 */
export function parseYamlWithVault(text: string, password: () => string): unknown {
  const plain = isVaultText(text) ? unlock(text, password, '') : text;
  const document = parseDocument(plain, { customTags: [vaultTag] });
  const [first] = document.errors;
  if (first !== undefined) throw first;
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // The yaml package reports an alias bomb, and an alias to nothing, as a ReferenceError.
    if (!(error instanceof ReferenceError)) throw error;
    const bomb = /excessive alias count/i.test(error.message);
    if (!bomb) throw new YamlAliasError(error.message);
    throw new YamlAliasError(`aliases expand more than ${MAX_ALIAS_COUNT} times: refused as an alias bomb`);
  }
  return decryptValues(value, password, []);
}

function unlock(text: string, password: () => string, keyPath: string): string {
  try {
    return decryptVault(text, password()).toString('utf8');
  } catch (error) {
    if (error instanceof VaultError) throw new VaultYamlError(keyPath, error.message);
    throw error;
  }
}

function decryptValues(value: unknown, password: () => string, path: string[]): unknown {
  if (value instanceof VaultedValue) return unlock(value.text, password, path.join('.'));
  if (Array.isArray(value)) return value.map((item, index) => decryptValues(item, password, [...path, String(index)]));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => [key, decryptValues(child, password, [...path, key])]),
    );
  }
  return value;
}

export { YAMLParseError };
