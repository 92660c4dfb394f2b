import { existsSync, readFileSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import nunjucks from 'nunjucks';
import type { CompiledTemplateCache } from './compiled-cache.js';
import { asNunjucksSource } from './jinja-compat.js';

/**
 * Finds templates in several roots, first root first, the way the image's own tree
 * shadows the trees it overlays. Names never leave their root.
 */
export class TreeLoader extends nunjucks.Loader implements nunjucks.ILoader {
  constructor(
    private readonly roots: readonly string[],
    /** Templates that live in memory (the merged template override). */
    private readonly virtual: Record<string, string> = {},
    /** Where compiled templates are kept between runs; without it every run compiles. */
    private readonly compiled?: CompiledTemplateCache,
  ) {
    super();
  }

  getSource(name: string): nunjucks.LoaderSource {
    const inMemory = this.virtual[name];
    if (inMemory !== undefined) return this.source(name, asNunjucksSource(inMemory));
    for (const root of this.roots) {
      const path = normalize(join(root, name));
      if (!path.startsWith(root.endsWith(sep) ? root : root + sep)) continue;
      if (existsSync(path)) return this.source(path, asNunjucksSource(readFileSync(path, 'utf8')));
    }
    throw new Error(`template not found: ${name} (looked in ${this.roots.join(', ')})`);
  }

  private source(path: string, text: string): nunjucks.LoaderSource {
    // nunjucks takes {type: 'code'} in place of a source string; its type definitions do not say so.
    const src = this.compiled ? (this.compiled.load(path, text) as unknown as string) : text;
    return { src, path, noCache: false };
  }
}
