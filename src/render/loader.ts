import { existsSync, readFileSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import nunjucks from 'nunjucks';
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
  ) {
    super();
  }

  getSource(name: string): nunjucks.LoaderSource {
    const inMemory = this.virtual[name];
    if (inMemory !== undefined) return { src: asNunjucksSource(inMemory), path: name, noCache: false };
    for (const root of this.roots) {
      const path = normalize(join(root, name));
      if (!path.startsWith(root.endsWith(sep) ? root : root + sep)) continue;
      if (existsSync(path)) return { src: asNunjucksSource(readFileSync(path, 'utf8')), path, noCache: false };
    }
    throw new Error(`template not found: ${name} (looked in ${this.roots.join(', ')})`);
  }
}
