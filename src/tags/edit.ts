import { isMap, isScalar, parseDocument, Scalar, type Pair, type YAMLMap } from 'yaml';
import { UsageError } from '../util/errors.js';
import { Pace } from '../util/pace.js';
import { TAGS_VARIABLE } from './tags-file.js';

export interface TagChange {
  key: string;
  distro: string;
  /** undefined when the key or the distro is new. */
  from: string | undefined;
  to: string;
}

/** One splice of the text: `insert` replaces [start, end); an insertion has start === end. */
interface Splice {
  start: number;
  end: number;
  insert: string;
}

/**
 * The file's text with these tags set, changed in place: the YAML document only locates each
 * value (its source range), and the text is spliced there, so comments, order, quoting,
 * indentation and blank lines elsewhere stay byte for byte. A new distro goes after the key's
 * last distro; a new key after the last key, indented as its neighbours.
 *
 * The document is parsed once and every splice located in it, then the text is put together
 * once: the work grows with the file and the changes, not with their product.
 */
export async function applyTagChanges(
  path: string,
  text: string,
  changes: readonly TagChange[],
  pace = new Pace(),
): Promise<string> {
  const section = tagsSection(path, text);
  const byKey = new Map<unknown, Pair>();
  for (const pair of section.items) {
    if (isScalar(pair.key)) byKey.set(pair.key.value, pair);
    await pace.step();
  }
  // The last change of a key and distro wins, at the place its first one took.
  const wanted = new Map<string, TagChange>();
  for (const change of changes) wanted.set(`${change.key}\0${change.distro}`, change);

  const replaced: Splice[] = [];
  const newDistros = new Map<YAMLMap, TagChange[]>();
  const newKeys = new Map<string, TagChange[]>();
  for (const change of wanted.values()) {
    await pace.step();
    const byDistro = byKey.get(change.key)?.value;
    if (byDistro === undefined) {
      newKeys.set(change.key, [...(newKeys.get(change.key) ?? []), change]);
      continue;
    }
    if (!isMap(byDistro)) {
      throw new UsageError(`${path}: ${TAGS_VARIABLE}.${change.key}: expected a mapping of distro to tag`);
    }
    const current = byDistro.get(change.distro, true);
    if (isScalar(current) && current.range) {
      const [start, end] = current.range;
      replaced.push({ start, end, insert: quotedLike(current, change.to) });
    } else newDistros.set(byDistro, [...(newDistros.get(byDistro) ?? []), change]);
  }

  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = new LineInserts(text, eol);
  const flowInserts: Splice[] = [];
  for (const [map, added] of newDistros) {
    if (map.flow) flowInserts.push(insertIntoFlow(text, map, added));
    else lines.add(lineEndAfter(text, map), distroLines(text, map, added));
  }
  // New keys follow the section's last key, after any distro added to that key.
  if (newKeys.size > 0) lines.add(lineEndAfter(text, section), keyLines(text, section, [...newKeys.values()]));
  return spliced(text, [...replaced, ...flowInserts, ...lines.splices()], pace);
}

/** Whole lines inserted at line starts, those at one offset in the order given, ended as the file ends its own. */
class LineInserts {
  private readonly byOffset = new Map<number, string[]>();

  constructor(
    private readonly text: string,
    private readonly eol: string,
  ) {}

  add(at: number, lines: readonly string[]): void {
    this.byOffset.set(at, [...(this.byOffset.get(at) ?? []), ...lines]);
  }

  splices(): Splice[] {
    return [...this.byOffset].map(([at, lines]) => {
      // A last line without its end gets one before the new lines.
      const joiner = at > 0 && this.text[at - 1] !== '\n' ? this.eol : '';
      return { start: at, end: at, insert: `${joiner}${lines.join(this.eol)}${this.eol}` };
    });
  }
}

/** The text with the splices made, in one pass. Splices never overlap; at one offset they keep their order. */
async function spliced(text: string, splices: readonly Splice[], pace: Pace): Promise<string> {
  const ordered = splices.map((splice, order) => ({ splice, order }));
  ordered.sort((a, b) => a.splice.start - b.splice.start || a.order - b.order);
  const parts: string[] = [];
  let from = 0;
  for (const { splice } of ordered) {
    parts.push(text.slice(from, splice.start), splice.insert);
    from = splice.end;
    await pace.step();
  }
  parts.push(text.slice(from));
  return parts.join('');
}

function tagsSection(path: string, text: string): YAMLMap {
  // Keys were checked unique when the file was read; yaml's own check compares every pair with every other.
  const document = parseDocument(text, { uniqueKeys: false });
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

/** New distros of a flow mapping, inside its braces. */
function insertIntoFlow(text: string, map: YAMLMap, added: readonly TagChange[]): Splice {
  const close = text.lastIndexOf('}', (map.range?.[1] ?? text.length) - 1);
  const pairs = added.map((change) => `${change.distro}: ${change.to}`).join(', ');
  const separator = map.items.length > 0 ? ', ' : '';
  return { start: close, end: close, insert: `${separator}${pairs}` };
}

/** New distros of a block mapping: lines indented as its first distro. */
function distroLines(text: string, map: YAMLMap, added: readonly TagChange[]): string[] {
  const indent = ' '.repeat(columnOf(text, firstKeyStart(map)));
  return added.map((change) => `${indent}${change.distro}: ${change.to}`);
}

/** New keys with their distros, indented as the file indents its keys and distros. */
function keyLines(text: string, section: YAMLMap, keys: ReadonlyArray<readonly TagChange[]>): string[] {
  const outer = columnOf(text, firstKeyStart(section));
  const nested = section.items
    .map((pair) => pair.value)
    .find((value): value is YAMLMap => isMap(value) && !value.flow && value.items.length > 0);
  const step = nested ? columnOf(text, firstKeyStart(nested)) - outer : 2;
  const inner = ' '.repeat(outer + Math.max(step, 1));
  return keys.flatMap((changes) => [
    `${' '.repeat(outer)}${changes[0]?.key ?? ''}:`,
    ...changes.map((change) => `${inner}${change.distro}: ${change.to}`),
  ]);
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
