/**
 * What a template's text can put into the JavaScript nunjucks compiles it to: escaped literals and names,
 * never code. nunjucks writes two pieces of template text into its code unescaped: a name, which its
 * lexer ends only at whitespace or an operator (so quotes and backticks belong to it), inside a string;
 * and the printed form of a called expression, whose double quotes alone it escapes. Either lets a
 * template write JavaScript that runs as soon as the template is loaded. Names are held to Jinja2's
 * identifiers and called expressions are written as JSON strings.
 */
import nunjucks from 'nunjucks';

/** Changes whenever what is installed below changes the compiled code: compiled templates are kept under it. */
export const SANDBOX_COMPILE_REVISION = 1;

/** A name as Jinja2 reads one (ASCII: no Kolla template or override uses any other). */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The parts of nunjucks' AST nodes and Compiler class used here. */
interface TemplateNode {
  typename: string;
  fields: string[];
  lineno: number;
  colno: number;
  value?: unknown;
  name: TemplateNode;
  args: TemplateNode;
}
interface CompilerInternals {
  fail(message: string, lineno?: number, colno?: number): never;
  _emit(code: string): void;
  _compileExpression(node: TemplateNode, frame: unknown): void;
  _compileAggregate(node: TemplateNode, frame: unknown, start: string, end: string): void;
  _getNodeName(node: TemplateNode): string;
  compileRoot: (this: CompilerInternals, node: TemplateNode, frame: unknown) => void;
  compileFunCall: (this: CompilerInternals, node: TemplateNode, frame: unknown) => void;
}

const { compiler, nodes } = nunjucks as unknown as {
  compiler: { Compiler: { prototype: CompilerInternals } };
  nodes: { Node: new () => TemplateNode; Symbol: new () => TemplateNode };
};

/** Every name node below `value`, through fields nunjucks keeps as plain arrays (set targets) too. */
function* namesIn(value: unknown): Generator<TemplateNode> {
  if (Array.isArray(value)) {
    for (const item of value) yield* namesIn(item);
    return;
  }
  if (!(value instanceof nodes.Node)) return;
  if (value instanceof nodes.Symbol) yield value;
  for (const field of value.fields) yield* namesIn((value as unknown as Record<string, unknown>)[field]);
}

let installed = false;

export function installCompilerSandbox(): void {
  if (installed) return;
  installed = true;
  const prototype = compiler.Compiler.prototype;
  const { compileRoot } = prototype;
  prototype.compileRoot = function checkedRoot(node, frame) {
    for (const name of namesIn(node)) {
      if (typeof name.value !== 'string' || !NAME.test(name.value)) {
        this.fail(`${JSON.stringify(name.value)} is not a name (letters, digits and _)`, name.lineno, name.colno);
      }
    }
    compileRoot.call(this, node, frame);
  };
  // nunjucks' own compileFunCall, but for the called expression's printed form, written as a JSON string.
  prototype.compileFunCall = function escapedCall(node, frame) {
    this._emit(`(lineno = ${node.lineno}, colno = ${node.colno}, `);
    this._emit('runtime.callWrap(');
    this._compileExpression(node.name, frame);
    this._emit(`, ${JSON.stringify(this._getNodeName(node.name))}, context, `);
    this._compileAggregate(node.args, frame, '[', '])');
    this._emit(')');
  };
}
