import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import { sha256Hex } from '../util/hash.js';
import { JINJA_COMPAT_REVISION } from './jinja-compat.js';
import { installCompilerSandbox, SANDBOX_COMPILE_REVISION } from './sandbox-compile.js';

/** What nunjucks' Template accepts in place of a source string: the compiled module's exports. */
export interface CompiledTemplate {
  type: 'code';
  obj: Record<string, unknown>;
}

interface Compiler {
  compile(source: string, asyncFilters: string[], extensions: unknown[], name: string, options: object): string;
}

/** The part of nunjucks' Compiler class the filter placing below wraps. */
interface FilterCompiler {
  compileFilter: (this: FilterCompiler, node: { lineno: number; colno: number }, frame: unknown) => void;
  _emit(code: string): void;
}

const { compiler } = nunjucks as unknown as { compiler: Compiler & { Compiler: { prototype: FilterCompiler } } };

/**
 * nunjucks records the place of function calls only; a filter that fails (`| int`, a Python method
 * emulation) would be blamed on the last call before it. Its place is recorded the same way.
 */
const filterPrototype = compiler.Compiler.prototype;
const { compileFilter } = filterPrototype;
filterPrototype.compileFilter = function placedFilter(node, frame) {
  this._emit(`(lineno = ${node.lineno}, colno = ${node.colno}, `);
  compileFilter.call(this, node, frame);
  this._emit(')');
};
const nunjucksVersion = (createRequire(import.meta.url)('nunjucks/package.json') as { version: string }).version;

/** The name a compiled template is kept under: everything that shapes the compiled code. */
export function compiledTemplateKey(name: string, source: string, options: object): string {
  return sha256Hex(
    JSON.stringify([
      nunjucksVersion,
      JINJA_COMPAT_REVISION,
      PLACED_CODE_REVISION,
      SANDBOX_COMPILE_REVISION,
      options,
      name,
      source,
    ]),
  );
}

/**
 * Compiles a template to JavaScript; a template error surfaces from here, placed in the
 * template as nunjucks places the errors of the templates it compiles itself.
 */
export function compileTemplate(name: string, source: string, options: object): string {
  installCompilerSandbox();
  try {
    return placeRunTimeErrors(compiler.compile(source, [], [], name, options), name);
  } catch (error) {
    // A parse error's line is exact (unlike a run-time error's), so the message keeps it as file:line;
    // columns are not, as the Jinja2 compatibility rewrites change a line's length.
    const { lineno } = error as { lineno?: number };
    const place = lineno === undefined ? '' : `:${lineno}`;
    throw new Error(`(${name}${place}) ${(error as Error).message}`, { cause: error });
  }
}

/** Changes when what placeRunTimeErrors adds to compiled code changes. */
const PLACED_CODE_REVISION = 1;

/** Where an expression nunjucks compiled is evaluated: it sets these two just before (`(lineno = 4, colno = 13, …)`). */
const NUNJUCKS_PLACE = /\(lineno = (\d+), colno = (\d+), /g;

/** The last place a template's compiled code reached, kept on its environment while rendering. */
export interface PlacedEnvironment {
  ciBuilderTemplate?: string;
  /** 0-based, as nunjucks counts. */
  ciBuilderLine?: number;
}

/**
 * nunjucks names a run-time error after the template being rendered and a line of whichever function's
 * catch the error reached first (callbacks nest, so often another one's), never the macro file or parent
 * block it arose in. So every place the compiled code records also names its template on the environment:
 * the last one recorded before an error is where it arose (rendering is synchronous).
 */
function placeRunTimeErrors(code: string, name: string): string {
  const template = JSON.stringify(name);
  return code.replace(
    NUNJUCKS_PLACE,
    (_all, line: string, column: string) =>
      `(lineno = ${line}, colno = ${column}, env.ciBuilderTemplate = ${template}, env.ciBuilderLine = ${line}, `,
  );
}

/** Runs the module code nunjucks compiled from a template: it returns the template's root functions. */
export function evaluateCompiledTemplate(code: string): CompiledTemplate {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- nunjucks' compiled template code, run as designed
  const moduleBody = new Function(code) as () => Record<string, unknown>;
  return { type: 'code', obj: moduleBody() };
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
