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
    const key = sha256Hex(JSON.stringify([nunjucksVersion, JINJA_COMPAT_REVISION, this.options, name, source]));
    const file = join(this.dir, `${key}.js`);
    try {
      return { type: 'code', obj: new Function(readFileSync(file, 'utf8'))() as Record<string, unknown> };
    } catch {
      // Not cached yet, or a damaged file: compile (a template error surfaces from here) and keep it.
      const code = compiler.compile(source, [], [], name, this.options);
      const compiled = new Function(code)() as Record<string, unknown>;
      this.store(file, code);
      return { type: 'code', obj: compiled };
    }
  }

  /** Best effort: a cache that cannot be written only costs speed. */
  private store(file: string, code: string): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      writeFileSync(temporary, code, { flag: 'wx' });
      renameSync(temporary, file);
    } catch {
      // read-only or full cache: compile every time
    }
  }
}
