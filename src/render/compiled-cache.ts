import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import { sha256Hex } from '../util/hash.js';
import { JINJA_COMPAT_REVISION } from './jinja-compat.js';

/** What nunjucks' Template accepts in place of a source string: the compiled module's exports. */
export interface CompiledTemplate {
  type: 'code';
  obj: Record<string, unknown>;
}

interface Compiler {
  compile(source: string, asyncFilters: string[], extensions: unknown[], name: string, options: object): string;
}

const compiler = (nunjucks as unknown as { compiler: Compiler }).compiler;
const nunjucksVersion = (createRequire(import.meta.url)('nunjucks/package.json') as { version: string }).version;

/** The name a compiled template is kept under: everything that shapes the compiled code. */
export function compiledTemplateKey(name: string, source: string, options: object): string {
  return sha256Hex(JSON.stringify([nunjucksVersion, JINJA_COMPAT_REVISION, options, name, source]));
}

/** Compiles a template to JavaScript; a template error surfaces from here. */
export function compileTemplate(name: string, source: string, options: object): string {
  return compiler.compile(source, [], [], name, options);
}

export function evaluateCompiledTemplate(code: string): CompiledTemplate {
  return { type: 'code', obj: new Function(code)() as Record<string, unknown> };
}

/** The file a compiled template is kept in. */
export function compiledTemplateFile(dir: string, key: string): string {
  return join(dir, `${key}.js`);
}

/** Best effort: a cache that cannot be written only costs speed. */
export function storeCompiledTemplate(dir: string, key: string, code: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    const file = compiledTemplateFile(dir, key);
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, code, { flag: 'wx' });
    renameSync(temporary, file);
  } catch {
    // read-only or full cache: compile every time
  }
}

/**
 * Compiling a template to JavaScript is most of rendering's cost (about 2.5 ms per Kolla
 * template, ten times the cost of loading the compiled code), and templates rarely change
 * between runs: the compiled code is kept on disk, keyed by everything that shapes it.
 */
export class CompiledTemplateCache {
  constructor(
    private readonly dir: string,
    private readonly options: object,
  ) {}

  load(name: string, source: string): CompiledTemplate {
    const key = compiledTemplateKey(name, source, this.options);
    try {
      return evaluateCompiledTemplate(readFileSync(compiledTemplateFile(this.dir, key), 'utf8'));
    } catch {
      // Not cached yet, or a damaged file: compile (a template error surfaces from here) and keep it.
      const code = compileTemplate(name, source, this.options);
      const compiled = evaluateCompiledTemplate(code);
      storeCompiledTemplate(this.dir, key, code);
      return compiled;
    }
  }
}
