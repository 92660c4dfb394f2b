import { pythonStr } from './python-values.js';

/**
 * Kolla's `customizable` filter: `<image_name with - as _>_<kind>_override` replaces the
 * list, `_append` extends it, `_remove` takes items out. The names are looked up in the
 * template context, so `{% set %}` lines of a template override count. Like Kolla's, it changes
 * the template's list itself: the template (or an override's block) reading that list again
 * afterwards sees the appended and removed items.
 */
export function customizable(this: { ctx: Record<string, unknown> }, values: unknown, kind: string): unknown {
  if (!Array.isArray(values)) return values;
  const imageName = pythonStr(this.ctx.image_name ?? '').replace(/-/g, '_');
  const prefix = `${imageName}_${kind}_`;
  if (Object.hasOwn(this.ctx, `${prefix}override`)) return this.ctx[`${prefix}override`];
  const append = this.ctx[`${prefix}append`];
  if (Array.isArray(append)) values.push(...(append as unknown[]));
  const remove = this.ctx[`${prefix}remove`];
  // As Python's list.remove: the first occurrence of each item.
  if (Array.isArray(remove)) {
    for (const item of remove) {
      const index = values.indexOf(item);
      if (index !== -1) values.splice(index, 1);
    }
  }
  return values;
}
