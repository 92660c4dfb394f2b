import { join, relative, sep } from 'node:path';
import nunjucks from 'nunjucks';
import { isInside } from '../catalog/tree-links.js';
import { compiledTemplateKey, compileTemplate, evaluateCompiledTemplate } from './compiled-cache.js';
import type { CompiledTemplate } from './compiled-cache.js';
import { asNunjucksSource } from './jinja-compat.js';

/** The templates of the image trees, read beforehand. */
export interface TemplateFiles {
  /** Each template's text, by absolute path. */
  readonly texts: ReadonlyMap<string, string>;
  /** The links met while reading that were refused, by absolute path: the line that says why. */
  readonly refusedLinks: ReadonlyMap<string, string>;
}

/**
 * Compiled templates as plain data: the code kept by earlier runs comes in, the code compiled
 * now goes out (`added`) for the caller to keep. Nothing here reads or writes a file.
 */
export class CompiledTemplates {
  readonly added = new Map<string, string>();

  constructor(
    /** Compiled code by key, as earlier runs kept it. */
    private readonly known: ReadonlyMap<string, string>,
    private readonly options: object,
  ) {}

  load(name: string, source: string): CompiledTemplate {
    const key = compiledTemplateKey(name, source, this.options);
    const kept = this.known.get(key) ?? this.added.get(key);
    if (kept !== undefined) {
      try {
        return evaluateCompiledTemplate(kept);
      } catch {
        // a damaged file: compile again below
      }
    }
    const code = compileTemplate(name, source, this.options);
    const compiled = evaluateCompiledTemplate(code);
    this.added.set(key, code);
    return compiled;
  }
}

/**
 * Finds templates in several roots, first root first, the way the image's own tree shadows the
 * trees it overlays, in templates read beforehand: rendering touches no file. Names never leave
 * their root, and a name that meets a link the reading refused (out of its tree, dangling,
 * looping) is refused with the line that names the link: a template could otherwise render any
 * file the build host can read (a secrets file, /etc/shadow) into a Dockerfile.
 */
export class MemoryTreeLoader extends nunjucks.Loader implements nunjucks.ILoader {
  /** Templates that live only in memory (the merged template override); a Map, so no inherited name matches. */
  private readonly virtual: ReadonlyMap<string, string>;

  constructor(
    private readonly roots: readonly string[],
    private readonly templates: TemplateFiles,
    virtual: Readonly<Record<string, string>>,
    private readonly compiled: CompiledTemplates,
  ) {
    super();
    this.virtual = new Map(Object.entries(virtual));
  }

  /**
   * nunjucks keeps loaded templates here by name and sets it to a plain `{}`; without a
   * prototype, a name such as "constructor" is looked up in the templates instead of found in it.
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
      const refusal = this.refusedLinkOnTheWay(root, path);
      if (refusal !== undefined) throw new Error(`template ${name}: ${refusal}`);
      const text = this.templates.texts.get(path);
      if (text !== undefined) return this.source(path, asNunjucksSource(text));
    }
    throw new Error(`template not found: ${name} (looked in ${this.roots.join(', ')})`);
  }

  /** The refusal of the first refused link going down from `root` to `path` (the file, or a folder on the way). */
  private refusedLinkOnTheWay(root: string, path: string): string | undefined {
    let current = root;
    for (const segment of relative(root, path).split(sep)) {
      current = join(current, segment);
      const refusal = this.templates.refusedLinks.get(current);
      if (refusal !== undefined) return refusal;
    }
    return undefined;
  }

  private source(path: string, text: string): nunjucks.LoaderSource {
    // nunjucks takes {type: 'code'} in place of a source string; its type definitions do not say so.
    return { src: this.compiled.load(path, text) as unknown as string, path, noCache: false };
  }
}
