/**
 * Shims that close the gaps between nunjucks and the Jinja2 semantics Kolla templates rely on.
 * Each is a silent difference otherwise: a wrong Dockerfile, not an error.
 */
import nunjucks from 'nunjucks';

interface CompilerInternals {
  prototype: {
    compileAdd(this: CompilerInternals['prototype'], node: { left: unknown; right: unknown }, frame: unknown): void;
    compile(node: unknown, frame: unknown): void;
    _emit(code: string): void;
  };
}

let installed = false;

/** Jinja2's `+`: lists concatenate into a list (nunjucks would make "ab" out of ['a'] + ['b']). */
export function pythonAdd(left: unknown, right: unknown): unknown {
  if (Array.isArray(left) && Array.isArray(right)) return [...left, ...right];
  return (left as number) + (right as number);
}

export function installJinjaCompat(): void {
  if (installed) return;
  installed = true;
  const runtime = nunjucks.runtime as unknown as Record<string, unknown>;
  runtime.pyAdd = pythonAdd;
  const compiler = (nunjucks as unknown as { compiler: { Compiler: CompilerInternals } }).compiler.Compiler;
  compiler.prototype.compileAdd = function compileAdd(node, frame) {
    this._emit('runtime.pyAdd(');
    this.compile(node.left, frame);
    this._emit(', ');
    this.compile(node.right, frame);
    this._emit(')');
  };
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

export const pythonGlobals = { True: true, False: false, None: null } as const;

/** nunjucks has addTest at run time; its type definitions leave it out. */
type WithTests = { addTest(name: string, test: (value: unknown) => boolean): void };

export function addPythonTests(environment: nunjucks.Environment): void {
  const withTests = environment as unknown as WithTests;
  withTests.addTest('sequence', (value: unknown) => Array.isArray(value) || typeof value === 'string');
  withTests.addTest('none', (value: unknown) => value === null);
}
