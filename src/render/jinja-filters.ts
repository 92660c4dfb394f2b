import type nunjucks from 'nunjucks';
import { sandboxedMemberLookup } from './sandbox-runtime.js';

/**
 * Jinja2 filters nunjucks lacks, for what operators write in template override blocks
 * (`site_repos | map(attribute='url') | list`). Without them such an override fails to render.
 */
type Keywords = Record<string, unknown> & { __keywords: true };

function splitKeywords(args: unknown[]): [unknown[], Record<string, unknown>] {
  const last = args.at(-1);
  if (last !== null && typeof last === 'object' && (last as Partial<Keywords>).__keywords === true) {
    const keywords = Object.fromEntries(Object.entries(last as Keywords).filter(([key]) => key !== '__keywords'));
    return [args.slice(0, -1), keywords];
  }
  return [args, {}];
}

/** Jinja2's attribute path: `a.b.0` looks up a, then b, then index 0, each as a template's `.` would. */
function lookupPath(item: unknown, path: string): unknown {
  let value = item;
  for (const part of path.split('.')) {
    if (value === null || value === undefined) return undefined;
    value = sandboxedMemberLookup(value, /^\d+$/.test(part) && Array.isArray(value) ? Number(part) : part);
  }
  return value;
}

const asList = (values: unknown): unknown[] =>
  Array.isArray(values)
    ? values
    : typeof values === 'string'
      ? [...values]
      : values !== null && typeof values === 'object'
        ? Object.keys(values)
        : [];

export function addJinjaFilters(environment: nunjucks.Environment): void {
  environment.addFilter('map', function (this: unknown, values: unknown, ...args: unknown[]) {
    const [positional, keywords] = splitKeywords(args);
    if (typeof keywords.attribute === 'string') {
      const attribute = keywords.attribute;
      return asList(values).map((item) => lookupPath(item, attribute) ?? keywords.default);
    }
    const [name, ...rest] = positional;
    if (typeof name !== 'string') throw new Error('map needs a filter name or attribute=');
    const filter = environment.getFilter(name) as (value: unknown, ...args: unknown[]) => unknown;
    return asList(values).map((item) => filter.call(this, item, ...rest));
  });
  // Jinja2's unique compares strings without case unless case_sensitive=true; the first one seen stays.
  environment.addFilter('unique', (values: unknown, ...args: unknown[]) => {
    const [positional, keywords] = splitKeywords(args);
    const caseSensitive = Boolean(keywords.case_sensitive ?? positional[0] ?? false);
    const attribute = keywords.attribute ?? positional[1];
    const seen = new Set<unknown>();
    return asList(values).filter((item) => {
      let key = typeof attribute === 'string' ? lookupPath(item, attribute) : item;
      if (!caseSensitive && typeof key === 'string') key = key.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  });
}
