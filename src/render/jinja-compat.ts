/**
 * Shims that close the gaps between nunjucks and the Jinja2 semantics Kolla templates rely on.
 * Each is a silent difference otherwise: a wrong Dockerfile, not an error.
 */
import nunjucks from 'nunjucks';
import { pythonPercentFormat } from './python-format.js';
import { withNullAsName, withPythonStringEscapes } from './jinja-literals.js';
import { pythonOutput, pythonStr } from './python-values.js';

interface CompilerInternals {
  prototype: {
    compileAdd(this: CompilerInternals['prototype'], node: { left: unknown; right: unknown }, frame: unknown): void;
    compileMul(this: CompilerInternals['prototype'], node: { left: unknown; right: unknown }, frame: unknown): void;
    compileConcat(this: CompilerInternals['prototype'], node: { left: unknown; right: unknown }, frame: unknown): void;
    compile(node: unknown, frame: unknown): void;
    _emit(code: string): void;
  };
}

let installed = false;

/**
 * Bumped whenever a shim changes the JavaScript nunjucks compiles templates to (the compiler
 * patches below, the source rewrites), so compiled templates cached on disk are not reused.
 */
export const JINJA_COMPAT_REVISION = 2;

/** Jinja2's `+`: lists concatenate into a list (nunjucks would make "ab" out of ['a'] + ['b']). */
export function pythonAdd(left: unknown, right: unknown): unknown {
  if (Array.isArray(left) && Array.isArray(right)) return left.concat(right);
  return (left as number) + (right as number);
}

/** Jinja2's `*`: a list or string times a count repeats it (`['x %s'] * 3`); numbers multiply. */
export function pythonMultiply(left: unknown, right: unknown): unknown {
  const [sequence, count] = typeof right === 'number' ? [left, right] : [right, left];
  if (typeof count === 'number' && Array.isArray(sequence)) {
    const list: unknown[] = sequence;
    return Array.from({ length: Math.max(0, Math.trunc(count)) }, () => list).flat();
  }
  if (typeof count === 'number' && typeof sequence === 'string') return sequence.repeat(Math.max(0, Math.trunc(count)));
  return (left as number) * (right as number);
}

/** Jinja2's `~`: both sides as Python's str(), an undefined one as '' (nunjucks would write "undefined"). */
export function pythonConcat(left: unknown, right: unknown): string {
  const text = (value: unknown) => (value === undefined ? '' : pythonStr(value));
  return text(left) + text(right);
}

export function installJinjaCompat(): void {
  if (installed) return;
  installed = true;
  const runtime = nunjucks.runtime as unknown as Record<string, unknown>;
  runtime.pyAdd = pythonAdd;
  runtime.pyMul = pythonMultiply;
  runtime.pyConcat = pythonConcat;
  // `{{ None }}` prints None and `{{ [1, 2] }}` prints [1, 2] under Jinja2; nunjucks would print '' and 1,2.
  const suppressValue = runtime.suppressValue as (value: unknown, autoescape: boolean) => unknown;
  runtime.suppressValue = (value: unknown, autoescape: boolean) => suppressValue(pythonOutput(value), autoescape);
  const compiler = (nunjucks as unknown as { compiler: { Compiler: CompilerInternals } }).compiler.Compiler;
  const emitCall = (helper: string): CompilerInternals['prototype']['compileAdd'] =>
    function compileBinary(node, frame) {
      this._emit(`runtime.${helper}(`);
      this.compile(node.left, frame);
      this._emit(', ');
      this.compile(node.right, frame);
      this._emit(')');
    };
  compiler.prototype.compileAdd = emitCall('pyAdd');
  compiler.prototype.compileMul = emitCall('pyMul');
  compiler.prototype.compileConcat = emitCall('pyConcat');
}

/** Jinja2 drops one trailing newline of each template source (keep_trailing_newline=False). */
export function stripOneTrailingNewline(source: string): string {
  if (source.endsWith('\r\n')) return source.slice(0, -2);
  if (source.endsWith('\n')) return source.slice(0, -1);
  return source;
}

/**
 * Jinja2 accepts a trailing comma in lists, dicts and calls (`['a', 'b',]`); nunjucks does
 * not parse it. Dropped inside `{% %}` and `{{ }}` tags only, never in template text.
 */
export function withoutTrailingCommas(source: string): string {
  return source.replace(/\{[%{][\s\S]*?[%}]\}/g, (tag) => tag.replace(/,(\s*[\])}])/g, '$1'));
}

/**
 * Jinja2 passes a list as separate arguments with `*`: `| format(*plugins)`. nunjucks has no
 * such syntax, so inside tags `format(*x)` becomes a call of `format_splat(x)`, which spreads it.
 */
export function withFormatSplat(source: string): string {
  return source.replace(/\{[%{][\s\S]*?[%}]\}/g, (tag) => tag.replace(/\bformat\(\s*\*\s*/g, 'format_splat('));
}

/** The global a rewritten `{% from <expression> import name %}` calls. */
export const FROM_IMPORT_GLOBAL = '__jinja_from_import';

/**
 * nunjucks compiles `{% from <template> import name %}` into a callback whose variable is out of
 * scope after an enclosing `{% if %}` (2024.1's rabbitmq imports its package list inside one). An
 * import whose template is named by an expression becomes `{% set name = <global>(template, 'name') %}`.
 */
export function withFromImportsAsSets(source: string): string {
  return source.replace(
    /\{%(-?)\s*from\s+((?!['"])[^%]+?)\s+import\s+([A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*)\s*(-?)%\}/g,
    (_tag, open: string, template: string, names: string, close: string) =>
      names
        .split(',')
        .map((name) => name.trim())
        .map((name) => `{%${open} set ${name} = ${FROM_IMPORT_GLOBAL}(${template}, '${name}') ${close}%}`)
        .join(''),
  );
}

/** What `{% from <template> import <name> %}` gives: the name the template exports, rendered without context. */
export function fromImport(this: { env: nunjucks.Environment }, template: unknown, name: unknown): unknown {
  const loaded = this.env.getTemplate(String(template));
  let exported: Record<string, unknown> | undefined;
  let failure: unknown;
  // With a synchronous loader the callback runs before getExported returns.
  (loaded as unknown as ExportingTemplate).getExported({}, null, (error, values) => {
    failure = error;
    exported = values;
  });
  if (failure instanceof Error) throw failure;
  if (failure !== null && failure !== undefined) throw new Error(`cannot import from ${String(template)}`);
  if (exported === undefined || !Object.hasOwn(exported, String(name)))
    throw new Error(`the template ${String(template)} does not export ${String(name)}`);
  return exported[String(name)];
}

type ExportingTemplate = {
  getExported(
    context: object,
    frame: null,
    done: (error: unknown, values: Record<string, unknown> | undefined) => void,
  ): void;
};

/** A template's text as nunjucks must read it to behave as Jinja2 does with the original. */
export function asNunjucksSource(jinjaSource: string): string {
  const jinja = withNullAsName(withPythonStringEscapes(stripOneTrailingNewline(jinjaSource)));
  return withFromImportsAsSets(withFormatSplat(withoutTrailingCommas(jinja)));
}

/** Jinja2's `format` filter: Python %-formatting. */
export function addPythonFormatFilters(environment: nunjucks.Environment): void {
  environment.addFilter('format', (format: unknown, ...args: unknown[]) => pythonPercentFormat(String(format), args));
  environment.addFilter('format_splat', (format: unknown, args: unknown) =>
    pythonPercentFormat(String(format), Array.isArray(args) ? args : [args]),
  );
}

export const pythonGlobals = { True: true, False: false, None: null } as const;

/** nunjucks has addTest at run time; its type definitions leave it out. */
type WithTests = { addTest(name: string, test: (value: unknown) => boolean): void };

export function addPythonTests(environment: nunjucks.Environment): void {
  const withTests = environment as unknown as WithTests;
  withTests.addTest('sequence', (value: unknown) => Array.isArray(value) || typeof value === 'string');
  withTests.addTest('none', (value: unknown) => value === null);
}
