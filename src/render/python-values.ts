import { isPlainObject } from '../util/plain-object.js';

/**
 * Python's view of template values, for methods whose output must match kolla-build's:
 * str() spelling and truthiness differ from JavaScript's for booleans, None and containers.
 */
export function pythonStr(value: unknown): string {
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value) || isPlainObject(value)) return pythonRepr(value);
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- left: non-Python values, a Date say
  return String(value);
}

/** Python's repr() for the values templates hold: how a list or dict prints inside another. */
export function pythonRepr(value: unknown): string {
  if (typeof value === 'string') {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const escaped = value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
    return quote + (quote === "'" ? escaped.replace(/'/g, "\\'") : escaped) + quote;
  }
  // Jinja2's Undefined inside a list or dict: an undefined variable or `null`.
  if (value === undefined) return 'Undefined';
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  if (isPlainObject(value))
    return `{${Object.entries(value)
      .map(([key, item]) => `${pythonRepr(key)}: ${pythonRepr(item)}`)
      .join(', ')}}`;
  return pythonStr(value);
}

/** What `{{ value }}` prints under Jinja2: None, True, False, and lists and dicts as Python shows them. */
export function pythonOutput(value: unknown): unknown {
  // undefined stays '' (as Jinja2's Undefined prints) and strings, numbers and SafeStrings stay as they are.
  return value === null || typeof value === 'boolean' || Array.isArray(value) || isPlainObject(value)
    ? pythonStr(value)
    : value;
}

export function pythonTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value !== null && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}
