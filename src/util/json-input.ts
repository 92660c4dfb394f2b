import { ConfigError, InterruptedError, UsageError } from './errors.js';
import { JsonTextError, parseJsonPaced } from './json-text.js';

/**
 * JSON from a file someone else may have made. V8's own message quotes the file's first bytes
 * (`"root:*:202"... is not valid JSON` for /etc/shadow), so an error names the file and the
 * line and column instead, never the content.
 */
export function parseJsonInput(text: string, file: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const { line, column } = lineAndColumn(text, jsonErrorOffset(text));
    throw new ConfigError(file, `line ${line}, column ${column}`, `not a valid JSON ${what}`);
  }
}

/**
 * parseJsonInput for documents that may be large or deeply nested: parsed a piece at a time, `pace` turning
 * the event loop (and throwing InterruptedError once interrupted), nesting capped. An error names the file
 * and the place, never the content.
 */
export async function parseJsonInputPaced(
  text: string,
  file: string,
  what: string,
  pace: () => Promise<void>,
): Promise<unknown> {
  try {
    return await parseJsonPaced(text, pace);
  } catch (error) {
    if (error instanceof InterruptedError || !(error instanceof JsonTextError)) throw error;
    const offset = jsonErrorOffset(text);
    // Valid JSON that the parser refused is too deep; its message says so, with a position only.
    if (offset === -1) throw new UsageError(`${file}: ${error.message}`);
    const { line, column } = lineAndColumn(text, offset);
    throw new ConfigError(file, `line ${line}, column ${column}`, `not a valid JSON ${what}`);
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let index = text.indexOf('\n'); index !== -1 && index < offset; index = text.indexOf('\n', index + 1)) {
    line++;
    lineStart = index + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

type Expecting = 'value' | 'value-or-close' | 'key' | 'key-or-close' | 'colon' | 'comma-or-close' | 'end';

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const HEX4 = /[0-9a-fA-F]{4}/y;

/** Where the string starting at `start` (a `"`) ends, past its closing quote; or the offset of its fault. */
function stringEnd(text: string, start: number): { end: number } | { fault: number } {
  for (let index = start + 1; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (char === 0x22) return { end: index + 1 };
    if (char < 0x20) return { fault: index };
    if (char === 0x5c) {
      const escape = text[index + 1] ?? '';
      if (escape === 'u') {
        HEX4.lastIndex = index + 2;
        if (!HEX4.test(text)) return { fault: index };
        index += 5;
      } else if (ESCAPES.has(escape)) index++;
      else return { fault: index };
    }
  }
  return { fault: text.length };
}

/**
 * The offset of the first character that keeps `text` from being JSON (its length when the text
 * ends too soon), or -1 for valid JSON. Iterative, so a hostile nesting depth cannot overflow.
 */
export function jsonErrorOffset(text: string): number {
  const open: Array<'object' | 'array'> = [];
  let expecting = 'value' as Expecting;
  let index = 0;
  const afterValue = () => (expecting = open.length === 0 ? 'end' : 'comma-or-close');
  for (;;) {
    while (index < text.length && WHITESPACE.has(text[index] ?? '')) index++;
    if (index >= text.length) return expecting === 'end' ? -1 : text.length;
    const char = text[index];
    switch (expecting) {
      case 'end':
        return index;
      case 'colon':
        if (char !== ':') return index;
        index++;
        expecting = 'value';
        break;
      case 'key':
      case 'key-or-close': {
        if (char === '}' && expecting === 'key-or-close') {
          open.pop();
          index++;
          afterValue();
          break;
        }
        if (char !== '"') return index;
        const key = stringEnd(text, index);
        if ('fault' in key) return key.fault;
        index = key.end;
        expecting = 'colon';
        break;
      }
      case 'comma-or-close': {
        const inObject = open.at(-1) === 'object';
        if (char === ',') {
          index++;
          expecting = inObject ? 'key' : 'value';
        } else if (char === (inObject ? '}' : ']')) {
          open.pop();
          index++;
          afterValue();
        } else return index;
        break;
      }
      case 'value':
      case 'value-or-close': {
        if (char === ']' && expecting === 'value-or-close') {
          open.pop();
          index++;
          afterValue();
        } else if (char === '{' || char === '[') {
          open.push(char === '{' ? 'object' : 'array');
          index++;
          expecting = char === '{' ? 'key-or-close' : 'value-or-close';
        } else if (char === '"') {
          const value = stringEnd(text, index);
          if ('fault' in value) return value.fault;
          index = value.end;
          afterValue();
        } else {
          const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, index));
          NUMBER.lastIndex = index;
          if (literal !== undefined) index += literal.length;
          else if (NUMBER.test(text)) index = NUMBER.lastIndex;
          else return index;
          afterValue();
        }
        break;
      }
      default: {
        const never: never = expecting;
        return never;
      }
    }
  }
}
