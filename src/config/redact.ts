import { isPlainObject } from '../util/plain-object.js';

const secretKey = /(^|_)(pass(word)?|secret|token|credentials?|private_key|auth)$/i;

/** A URL's `user:password@` (a source location may carry one). */
const urlPassword = /([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*):[^\s/?#@]*@/gi;

/** A copy with every value under a secret-looking key, and every password in a URL, replaced, for display. */
export function redactSecrets(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(urlPassword, '$1:<redacted>@');
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => [key, secretKey.test(key) && child !== undefined && child !== '' ? '<redacted>' : redactSecrets(child)]),
  );
}
