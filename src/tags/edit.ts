import { isMap, isScalar, parseDocument, Scalar, type YAMLMap } from 'yaml';
import { UsageError } from '../util/errors.js';
import { TAGS_VARIABLE } from './tags-file.js';

export interface TagChange {
  key: string;
  distro: string;
  /** undefined when the key or the distro is new. */
  from: string | undefined;
  to: string;
}

/**
 * The file's text with these tags set, changed in place: the YAML document only locates each
 * value (its source range), and the text is spliced there, so comments, order, quoting,
 * indentation and blank lines elsewhere stay byte for byte. A new distro goes after the key's
 * last distro; a new key after the last key, indented as its neighbours.
 */
export function applyTagChanges(path: string, text: string, changes: readonly TagChange[]): string {
  let result = text;
  for (const change of changes) result = applyOne(path, result, change);
  return result;
}

function applyOne(path: string, text: string, change: TagChange): string {
  const section = tagsSection(path, text);
  const byDistro = section.get(change.key, true);
  if (byDistro === undefined) return insertKey(text, section, change);
  if (!isMap(byDistro)) {
    throw new UsageError(`${path}: ${TAGS_VARIABLE}.${change.key}: expected a mapping of distro to tag`);
  }
  const current = byDistro.get(change.distro, true);
  if (isScalar(current) && current.range) {
    const [start, end] = current.range;
    return `${text.slice(0, start)}${quotedLike(current, change.to)}${text.slice(end)}`;
  }
  return insertPair(text, byDistro, change.distro, change.to);
}

function tagsSection(path: string, text: string): YAMLMap {
  const document = parseDocument(text);
  const root = document.contents;
  const section = isMap(root) ? root.get(TAGS_VARIABLE, true) : undefined;
  if (!isMap(section) || section.flow) {
    throw new UsageError(`${path}: ${TAGS_VARIABLE}: expected a block mapping to edit`);
  }
  return section;
}

/** The new value in the quoting the old one had (tags need no escaping in any style). */
function quotedLike(scalar: Scalar, value: string): string {
  switch (scalar.type) {
    case Scalar.QUOTE_DOUBLE:
      return `"${value}"`;
    case Scalar.QUOTE_SINGLE:
      return `'${value}'`;
    // A block scalar becomes a plain one: a tag is a single short word.
    case Scalar.PLAIN:
    case Scalar.BLOCK_FOLDED:
    case Scalar.BLOCK_LITERAL:
    case undefined:
      return value;
    default: {
      const never: never = scalar.type;
      return never;
    }
  }
}

function insertPair(text: string, map: YAMLMap, key: string, value: string): string {
  if (map.flow) {
    const close = text.lastIndexOf('}', (map.range?.[1] ?? text.length) - 1);
    const separator = map.items.length > 0 ? ', ' : '';
    return `${text.slice(0, close)}${separator}${key}: ${value}${text.slice(close)}`;
  }
  const indent = ' '.repeat(columnOf(text, firstKeyStart(map)));
  return insertLines(text, lineEndAfter(text, map), [`${indent}${key}: ${value}`]);
}

function insertKey(text: string, section: YAMLMap, change: TagChange): string {
  const outer = columnOf(text, firstKeyStart(section));
  const nested = section.items
    .map((pair) => pair.value)
    .find((value): value is YAMLMap => isMap(value) && !value.flow && value.items.length > 0);
  const step = nested ? columnOf(text, firstKeyStart(nested)) - outer : 2;
  const inner = outer + Math.max(step, 1);
  const lines = [`${' '.repeat(outer)}${change.key}:`, `${' '.repeat(inner)}${change.distro}: ${change.to}`];
  return insertLines(text, lineEndAfter(text, section), lines);
}

function firstKeyStart(map: YAMLMap): number {
  const key = map.items[0]?.key;
  const start = isScalar(key) ? key.range?.[0] : undefined;
  return start ?? map.range?.[0] ?? 0;
}

function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/** The start of the line after a block mapping's last value. */
function lineEndAfter(text: string, map: YAMLMap): number {
  const end = map.range?.[1] ?? text.length;
  if (end > 0 && text[end - 1] === '\n') return end;
  const newline = text.indexOf('\n', end);
  return newline === -1 ? text.length : newline + 1;
}

/** Inserts whole lines, ending them as the file ends its own (a CRLF file stays CRLF). */
function insertLines(text: string, at: number, lines: readonly string[]): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const before = text.slice(0, at);
  const joiner = before.length > 0 && !before.endsWith('\n') ? eol : '';
  return `${before}${joiner}${lines.join(eol)}${eol}${text.slice(at)}`;
}
