import { isPlainObject } from './layers.js';

const secretKey = /(^|_)(pass(word)?|secret|token|credentials?|private_key|auth)$/i;

/** A copy with every value under a secret-looking key replaced, for display. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => [key, secretKey.test(key) && child !== undefined && child !== '' ? '<redacted>' : redactSecrets(child)]),
  );
}
