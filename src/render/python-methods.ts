/**
 * Python methods templates call on dicts and strings (`users.items()`, `name.startswith('x')`).
 * nunjucks has none of the dict ones, and would call JavaScript's own string methods where
 * names clash: `'a-b-c'.replace('-', '_')` would change only the first dash. Each is Python's.
 */
import { isPlainObject } from '../util/plain-object.js';
import { pythonStr } from './python-values.js';

type Method = (...args: unknown[]) => unknown;

const dictMethods: Record<string, (dict: Record<string, unknown>) => Method> = {
  items: (dict) => () => Object.entries(dict),
  keys: (dict) => () => Object.keys(dict),
  values: (dict) => () => Object.values(dict),
  get:
    (dict) =>
    (key, fallback = null) =>
      Object.hasOwn(dict, String(key)) ? dict[String(key)] : fallback,
};

const prefixes = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : [String(value)]);

const stringMethods: Record<string, (text: string) => Method> = {
  startswith: (text) => (prefix) => prefixes(prefix).some((item) => text.startsWith(item)),
  endswith: (text) => (suffix) => prefixes(suffix).some((item) => text.endsWith(item)),
  lower: (text) => () => text.toLowerCase(),
  upper: (text) => () => text.toUpperCase(),
  strip: (text) => (chars) => stripped(text, chars, true, true),
  lstrip: (text) => (chars) => stripped(text, chars, true, false),
  rstrip: (text) => (chars) => stripped(text, chars, false, true),
  split: (text) => (separator, maxSplit) => pythonSplit(text, separator, maxSplit),
  replace: (text) => (old, replacement, count) => pythonReplace(text, String(old), String(replacement), count),
  join: (text) => (items) => (Array.isArray(items) ? items.map(String).join(text) : String(items)),
};

/** The Python method of `target` called `name`, or undefined when Python has no such method. */
export function pythonMethod(target: unknown, name: unknown): Method | undefined {
  const key = String(name);
  if (typeof target === 'string' && Object.hasOwn(stringMethods, key)) return stringMethods[key]?.(target);
  if (isPlainObject(target) && Object.hasOwn(dictMethods, key) && !Object.hasOwn(target, key))
    return dictMethods[key]?.(target);
  return undefined;
}

function stripped(text: string, chars: unknown, left: boolean, right: boolean): string {
  const set = chars === undefined || chars === null ? null : new Set(pythonStr(chars));
  const strip = (char: string) => (set === null ? /\s/.test(char) : set.has(char));
  let start = 0;
  let end = text.length;
  while (left && start < end && strip(text.charAt(start))) start++;
  while (right && end > start && strip(text.charAt(end - 1))) end--;
  return text.slice(start, end);
}

/** str.split: no separator splits on runs of whitespace and drops empty ends; maxsplit limits the cuts. */
function pythonSplit(text: string, separator: unknown, maxSplit: unknown): string[] {
  const limit = typeof maxSplit === 'number' && maxSplit >= 0 ? maxSplit : Infinity;
  if (separator === undefined || separator === null) {
    const parts: string[] = [];
    let rest = text.replace(/^\s+/, '');
    while (rest !== '') {
      if (parts.length === limit) {
        parts.push(rest.replace(/\s+$/, ''));
        break;
      }
      const match = /\s+/.exec(rest);
      if (match === null) {
        parts.push(rest);
        break;
      }
      parts.push(rest.slice(0, match.index));
      rest = rest.slice(match.index + match[0].length);
    }
    return parts;
  }
  const sep = pythonStr(separator);
  if (sep === '') throw new Error('empty separator');
  const pieces = text.split(sep);
  return limit >= pieces.length - 1 ? pieces : [...pieces.slice(0, limit), pieces.slice(limit).join(sep)];
}

function pythonReplace(text: string, old: string, replacement: string, count: unknown): string {
  const pieces = text.split(old);
  const limit = typeof count === 'number' && count >= 0 ? count : Infinity;
  if (limit >= pieces.length - 1) return pieces.join(replacement);
  return pieces.slice(0, limit + 1).join(replacement) + old + pieces.slice(limit + 1).join(old);
}
