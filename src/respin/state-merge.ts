/**
 * The package managers' state when a child's own layer is put onto its patched parent. A child's copy of a state
 * file holds its parent's entries as they were when it was built, plus its own; the patched parent's copy holds
 * the parent's entries as they are now. Merged: the patched parent's entries, plus the child's own (those its
 * parent did not have), and the child's change or removal of a parent's entry the patch left alone. A child that
 * changed or dropped an entry the patch changed too, or added one the patched parent now has otherwise, cannot be
 * merged so: that is a conflict, and the child is patched as a whole instead.
 */

/** How a state file is cut into entries, and what names an entry. */
export interface StateFormat {
  /** Blank-line-separated stanzas (dpkg, apt, debconf), or one entry per line (dpkg's triggers). */
  split: 'stanzas' | 'lines';
  /** The fields whose values name a stanza; a line names itself. */
  keyFields?: readonly string[];
}

export const DPKG_STANZAS: StateFormat = { split: 'stanzas', keyFields: ['Package', 'Architecture'] };
export const DEBCONF_STANZAS: StateFormat = { split: 'stanzas', keyFields: ['Name'] };
export const LINES: StateFormat = { split: 'lines' };

export type MergeResult = { merged: string } | { conflict: string };

interface Entry {
  key: string;
  text: string;
}

function fieldValue(stanza: string, field: string): string {
  const prefix = `${field}:`;
  const line = stanza.split('\n').find((candidate) => candidate.startsWith(prefix));
  return line === undefined ? '' : line.slice(prefix.length).trim();
}

function entriesOf(text: string, format: StateFormat): Entry[] {
  if (format.split === 'lines') {
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => ({ key: line, text: line }));
  }
  const fields = format.keyFields ?? [];
  return text
    .split(/\n{2,}/)
    .map((stanza) => stanza.replace(/^\n+|\n+$/g, ''))
    .filter((stanza) => stanza !== '')
    .map((stanza) => ({ key: fields.map((field) => fieldValue(stanza, field)).join(' '), text: stanza }));
}

const byKey = (entries: readonly Entry[]) => new Map(entries.map((entry) => [entry.key, entry.text]));

/**
 * The merge of one state file: `before` is the parent's copy the child was built on, `after` the patched
 * parent's, `child` the child's (absent files are empty text). A parent's entry the child changed or dropped
 * keeps the child's doing where the patch left that entry as it was (a full build on the patched parent would
 * have done the same to the same entry); where the patch changed it too, that is a conflict.
 */
export function mergeState(before: string, after: string, child: string, format: StateFormat): MergeResult {
  const parentBefore = byKey(entriesOf(before, format));
  const parentAfter = entriesOf(after, format);
  const afterByKey = byKey(parentAfter);
  const childEntries = entriesOf(child, format);
  const childByKey = byKey(childEntries);
  const childsDoing = new Map<string, string | undefined>();
  for (const [key, text] of parentBefore) {
    const own = childByKey.get(key);
    if (own === text) continue;
    if (afterByKey.get(key) !== text) {
      const what = own === undefined ? 'dropped' : 'changed';
      return { conflict: `the child ${what} its parent's entry ${key}, which the parent's patch changed` };
    }
    childsDoing.set(key, own);
  }
  const added = childEntries.filter((entry) => !parentBefore.has(entry.key));
  for (const entry of added) {
    const now = afterByKey.get(entry.key);
    if (now !== undefined && now !== entry.text) return { conflict: `the patched parent has ${entry.key} otherwise` };
  }
  const kept = parentAfter.flatMap((entry) =>
    childsDoing.has(entry.key) ? (childsDoing.get(entry.key) ?? []) : [entry.text],
  );
  const merged = [...kept, ...added.filter((entry) => !afterByKey.has(entry.key)).map((entry) => entry.text)];
  if (merged.length === 0) return { merged: '' };
  return { merged: format.split === 'lines' ? `${merged.join('\n')}\n` : `${merged.join('\n\n')}\n\n` };
}

/** The names of the packages a child installed itself: its dpkg entries its parent does not have. */
export function ownPackageKeys(parentStatus: string, childStatus: string): string[] {
  const parent = byKey(entriesOf(parentStatus, DPKG_STANZAS));
  return entriesOf(childStatus, DPKG_STANZAS)
    .filter((entry) => !parent.has(entry.key))
    .map((entry) => entry.key);
}
