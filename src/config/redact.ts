import { isPlainObject } from '../util/plain-object.js';
import { redactUrlPasswords } from '../util/url-login.js';

const secretKey = /(^|_)(pass(word)?|secret|token|credentials?|private_key|auth)$/i;

/** A copy with every value under a secret-looking key, and every password in a URL, replaced, for display. */
export function redactSecrets(value: unknown): unknown {
  if (typeof value === 'string') return redactUrlPasswords(value);
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => [
      key,
      secretKey.test(key) && child !== undefined && child !== '' ? '<redacted>' : redactSecrets(child),
    ]),
  );
}
