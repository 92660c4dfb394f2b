/**
 * Parsing JSON someone else made. JSON.parse itself survives any nesting, but JSON.stringify and
 * every recursive reader of the value do not (a million `[` overflow the stack), and on a busy host
 * JSON.parse of tens of MiB holds the event loop for seconds, so Ctrl-C goes unheard. Here nesting
 * is capped, and a large document is parsed a piece at a time, the event loop turning in between.
 */

/** Far deeper than any document ci-builder reads: OSV records nest 6 levels, summaries and manifests fewer. */
export const MAX_JSON_DEPTH = 64;

/** Containers up to this size go to JSON.parse whole: native speed, a millisecond or so each. */
const WHOLE_PARSE_CHARS = 256 * 1024;

/** Characters scanned between two calls of `pace`. */
const SCAN_STEP = 64 * 1024;

export class JsonTextError extends Error {}

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;

const isSpace = (code: number) => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

class Parser {
  constructor(
    private readonly text: string,
    private readonly pace: () => Promise<void>,
    private readonly maxDepth: number,
  ) {}

  fail(why: string, at: number): never {
    throw new JsonTextError(`not valid JSON (${why} at position ${at})`);
  }

  skipSpace(at: number): number {
    while (at < this.text.length && isSpace(this.text.charCodeAt(at))) at++;
    return at;
  }

  /** The index after the string that opens at `at`. */
  stringEnd(at: number): number {
    let close = at;
    for (;;) {
      close = this.text.indexOf('"', close + 1);
      if (close < 0) this.fail('unterminated string', at);
      let backslashes = 0;
      while (this.text.charCodeAt(close - 1 - backslashes) === BACKSLASH) backslashes++;
      if (backslashes % 2 === 0) return close + 1;
    }
  }

  /** The index after the container that opens at `at`, refusing nesting past the cap. */
  async containerEnd(at: number, depth: number): Promise<number> {
    let level = 0;
    let steps = 0;
    for (let index = at; index < this.text.length;) {
      const code = this.text.charCodeAt(index);
      if (code === QUOTE) {
        index = this.stringEnd(index);
        continue;
      }
      if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
        level++;
        if (depth + level > this.maxDepth) {
          throw new JsonTextError(`nested deeper than the ${this.maxDepth} levels allowed (at position ${index})`);
        }
      } else if ((code === CLOSE_OBJECT || code === CLOSE_ARRAY) && --level === 0) {
        return index + 1;
      }
      index++;
      if (++steps % SCAN_STEP === 0) await this.pace();
    }
    return this.fail('unexpected end', this.text.length);
  }

  whole(start: number, end: number): unknown {
    try {
      return JSON.parse(this.text.slice(start, end)) as unknown;
    } catch {
      // V8's own message quotes the text: only where it went wrong is said.
      return this.fail('syntax error', start);
    }
  }

  /** The value at `at` (after any space) at nesting `depth`, and where it ends. */
  async value(at: number, depth: number): Promise<{ value: unknown; end: number }> {
    const start = this.skipSpace(at);
    const code = this.text.charCodeAt(start);
    if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      const end = await this.containerEnd(start, depth);
      if (end - start <= WHOLE_PARSE_CHARS) return { value: this.whole(start, end), end };
      return { value: await this.container(start, depth), end };
    }
    if (code === QUOTE) {
      const end = this.stringEnd(start);
      return { value: this.whole(start, end), end };
    }
    let end = start;
    while (end < this.text.length && !/[\s,\]}]/.test(this.text.charAt(end))) end++;
    if (end === start) this.fail('a value expected', start);
    return { value: this.whole(start, end), end };
  }

  /** A large container, member by member: each member small enough is parsed whole. */
  async container(start: number, depth: number): Promise<unknown> {
    const isObject = this.text.charCodeAt(start) === OPEN_OBJECT;
    const close = isObject ? CLOSE_OBJECT : CLOSE_ARRAY;
    const object: Record<string, unknown> = {};
    const array: unknown[] = [];
    let at = this.skipSpace(start + 1);
    if (this.text.charCodeAt(at) === close) return isObject ? object : array;
    for (;;) {
      await this.pace();
      if (isObject) {
        if (this.text.charCodeAt(at) !== QUOTE) this.fail('a key expected', at);
        const keyEnd = this.stringEnd(at);
        const key = this.whole(at, keyEnd) as string;
        at = this.skipSpace(keyEnd);
        if (this.text.charCodeAt(at) !== COLON) this.fail('":" expected', at);
        const member = await this.value(at + 1, depth + 1);
        // As JSON.parse does: a key such as __proto__ is an own property, never the prototype.
        Object.defineProperty(object, key, {
          value: member.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        at = this.skipSpace(member.end);
      } else {
        const member = await this.value(at, depth + 1);
        array.push(member.value);
        at = this.skipSpace(member.end);
      }
      const next = this.text.charCodeAt(at);
      if (next === close) return isObject ? object : array;
      if (next !== COMMA) this.fail('"," expected', at);
      at = this.skipSpace(at + 1);
    }
  }
}

/**
 * JSON.parse for text someone else made: nesting capped at `maxDepth`, and the event loop turned
 * (through `pace`, which may throw to stop) while a large document is parsed. Errors are one line.
 */
export async function parseJsonPaced(
  text: string,
  pace: () => Promise<void>,
  maxDepth = MAX_JSON_DEPTH,
): Promise<unknown> {
  const parser = new Parser(text, pace, maxDepth);
  const { value, end } = await parser.value(0, 0);
  const rest = parser.skipSpace(end);
  if (rest < text.length) parser.fail('unexpected text after the value', rest);
  return value;
}
