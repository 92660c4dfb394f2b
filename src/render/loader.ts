import { readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import nunjucks from 'nunjucks';
import { firstLinkBelow, isInside, linkProblemText, realFolder } from '../catalog/tree-links.js';
import type { CompiledTemplateCache } from './compiled-cache.js';
import { asNunjucksSource } from './jinja-compat.js';

/**
 * Finds templates in several roots, first root first, the way the image's own tree
 * shadows the trees it overlays. Names never leave their root, and symlinks are followed
 * only to files inside one of the roots: a template could otherwise render any file the
 * build host can read (a secrets file, /etc/shadow) into a Dockerfile.
 */
export class TreeLoader extends nunjucks.Loader implements nunjucks.ILoader {
  private readonly realRoots: readonly string[];
  /** Templates that live in memory (the merged template override); a Map, so no inherited name matches. */
  private readonly virtual: ReadonlyMap<string, string>;

  constructor(
    private readonly roots: readonly string[],
    virtual: Record<string, string> = {},
    /** Where compiled templates are kept between runs; without it every run compiles. */
    private readonly compiled?: CompiledTemplateCache,
  ) {
    super();
    this.realRoots = roots.map(realFolder);
    this.virtual = new Map(Object.entries(virtual));
  }

  /**
   * nunjucks keeps loaded templates here by name and sets it to a plain `{}`; without a
   * prototype, a name such as "constructor" is looked up on disk instead of found in it.
   */
  private templatesByName: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  get cache(): Record<string, unknown> {
    return this.templatesByName;
  }
  set cache(_emptied: Record<string, unknown>) {
    this.templatesByName = Object.create(null) as Record<string, unknown>;
  }

  getSource(name: string): nunjucks.LoaderSource {
    const inMemory = this.virtual.get(name);
    if (inMemory !== undefined) return this.source(name, asNunjucksSource(inMemory));
    for (const root of this.roots) {
      const path = join(root, name);
      if (!isInside(root, path)) continue;
      const realPath = realFile(path);
      if (realPath === undefined) continue;
      if (!this.realRoots.some((realRoot) => isInside(realRoot, realPath))) {
        throw new Error(this.escapeText(name, root, path));
      }
      // The checked real path is what is read, so the link cannot change between check and read.
      return this.source(path, asNunjucksSource(readFileSync(realPath, 'utf8')));
    }
    throw new Error(`template not found: ${name} (looked in ${this.roots.join(', ')})`);
  }

  private escapeText(name: string, root: string, path: string): string {
    const link = firstLinkBelow(root, path);
    if (link === undefined) return `template ${name} is outside the image tree; refused`;
    return `template ${name}: ${linkProblemText('leaves-tree', relative(root, link), link)}`;
  }

  private source(path: string, text: string): nunjucks.LoaderSource {
    // nunjucks takes {type: 'code'} in place of a source string; its type definitions do not say so.
    // The cache is keyed by the text read above, so it is only ever reached after the checks.
    const src = this.compiled ? (this.compiled.load(path, text) as unknown as string) : text;
    return { src, path, noCache: false };
  }
}

/** The real path of a regular file (Jinja2's loader skips folders too), or undefined. */
function realFile(path: string): string | undefined {
  try {
    const realPath = realpathSync(path);
    return statSync(realPath).isFile() ? realPath : undefined;
  } catch {
    return undefined;
  }
}
