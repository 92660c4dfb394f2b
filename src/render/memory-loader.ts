import { join, normalize, sep } from 'node:path';
import nunjucks from 'nunjucks';
import { compiledTemplateKey, compileTemplate, evaluateCompiledTemplate } from './compiled-cache.js';
import type { CompiledTemplate } from './compiled-cache.js';
import { asNunjucksSource } from './jinja-compat.js';

/** The templates of the image trees, read beforehand: absolute path → text. */
export type TemplateFiles = ReadonlyMap<string, string>;

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
 * Finds templates the way the loader of tree folders does (first root first, names never leave
 * their root), but in templates read beforehand, so rendering touches no file.
 */
export class MemoryTreeLoader extends nunjucks.Loader implements nunjucks.ILoader {
  constructor(
    private readonly roots: readonly string[],
    private readonly files: TemplateFiles,
    /** Templates that live only in memory (the merged template override). */
    private readonly virtual: Readonly<Record<string, string>>,
    private readonly compiled: CompiledTemplates,
  ) {
    super();
  }

  getSource(name: string): nunjucks.LoaderSource {
    const inMemory = this.virtual[name];
    if (inMemory !== undefined) return this.source(name, asNunjucksSource(inMemory));
    for (const root of this.roots) {
      const path = normalize(join(root, name));
      if (!path.startsWith(root.endsWith(sep) ? root : root + sep)) continue;
      const text = this.files.get(path);
      if (text !== undefined) return this.source(path, asNunjucksSource(text));
    }
    throw new Error(`template not found: ${name} (looked in ${this.roots.join(', ')})`);
  }

  private source(path: string, text: string): nunjucks.LoaderSource {
    // nunjucks takes {type: 'code'} in place of a source string; its type definitions do not say so.
    return { src: this.compiled.load(path, text) as unknown as string, path, noCache: false };
  }
}
