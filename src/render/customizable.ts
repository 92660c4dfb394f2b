import { pythonStr } from './python-values.js';

/**
 * Kolla's `customizable` filter: `<image_name with - as _>_<kind>_override` replaces the
 * list, `_append` extends it, `_remove` takes items out. The names are looked up in the
 * template context, so `{% set %}` lines of a template override count.
 */
export function customizable(this: { ctx: Record<string, unknown> }, values: unknown, kind: string): unknown {
  if (!Array.isArray(values)) return values;
  const imageName = pythonStr(this.ctx.image_name ?? '').replace(/-/g, '_');
  const prefix = `${imageName}_${kind}_`;
  const override = this.ctx[`${prefix}override`];
  if (override !== undefined) return override;
  let result: unknown[] = values.slice();
  const append = this.ctx[`${prefix}append`];
  if (Array.isArray(append)) result = result.concat(append);
  const remove = this.ctx[`${prefix}remove`];
  // As Python's list.remove: the first occurrence of each item.
  if (Array.isArray(remove)) {
    for (const item of remove) {
      const index = result.indexOf(item);
      if (index !== -1) result.splice(index, 1);
    }
  }
  return result;
}
