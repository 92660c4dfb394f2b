import { Lexer, YAMLMap } from 'yaml';

type Searching = 'some' | 'every' | 'find' | 'findIndex' | 'includes' | 'indexOf' | 'filter';
const SEARCHES: readonly Searching[] = ['some', 'every', 'find', 'findIndex', 'includes', 'indexOf', 'filter'];

/**
 * The work a call does, counted instead of timed: characters the YAML lexer reads (a text parsed
 * again per change counts again), pairs YAMLMap.get looks through, and elements array searches
 * walk (a search inside a loop over the same data is where quadratic work hides). Patched only
 * while `work` runs; nothing else should run meanwhile.
 */
export async function countOperations(work: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const lex = Object.getOwnPropertyDescriptor(Lexer.prototype, 'lex');
  const get = Object.getOwnPropertyDescriptor(YAMLMap.prototype, 'get');
  const searches = SEARCHES.map((name) => [name, Object.getOwnPropertyDescriptor(Array.prototype, name)] as const);
  const originalLex = lex?.value as (source: string, incomplete?: boolean) => Generator<string>;
  const originalGet = get?.value as (key: unknown, keepScalar?: boolean) => unknown;
  Lexer.prototype.lex = function* (this: Lexer, source: string, incomplete?: boolean) {
    count += source.length;
    yield* originalLex.call(this, source, incomplete);
  };
  YAMLMap.prototype.get = function (this: YAMLMap, key: unknown, keepScalar?: boolean): unknown {
    count += this.items.length;
    return originalGet.call(this, key, keepScalar);
  } as typeof YAMLMap.prototype.get;
  for (const [name, descriptor] of searches) {
    const original = descriptor?.value as (...args: unknown[]) => unknown;
    Object.defineProperty(Array.prototype, name, {
      ...descriptor,
      value: function (this: unknown[], ...args: unknown[]) {
        count += this.length;
        return original.apply(this, args);
      },
    });
  }
  try {
    await work();
  } finally {
    if (lex) Object.defineProperty(Lexer.prototype, 'lex', lex);
    if (get) Object.defineProperty(YAMLMap.prototype, 'get', get);
    for (const [name, descriptor] of searches) if (descriptor) Object.defineProperty(Array.prototype, name, descriptor);
  }
  return count;
}
