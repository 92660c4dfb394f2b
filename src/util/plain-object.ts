export type PlainObject = Record<string, unknown>;

/**
 * A mapping as YAML, JSON and object literals make it: not an array, and not an instance of a
 * class (a nunjucks SafeString or a Date is a value, not a mapping to walk or print as a dict).
 */
export function isPlainObject(value: unknown): value is PlainObject {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}
