import type { SetEntry } from '../config/schema.js';
import { UsageError } from '../util/errors.js';

/** The enabled regexes of the named sets, as Kayobe's regex maps select them. */
export function regexesOfSets(sets: Record<string, SetEntry[]>, names: readonly string[]): string[] {
  const regexes: string[] = [];
  for (const name of names) {
    const entries = sets[name];
    if (entries === undefined) {
      throw new UsageError(`unknown set "${name}" (configured: ${Object.keys(sets).sort().join(', ') || 'none'})`);
    }
    for (const entry of entries) if (entry.enabled) regexes.push(entry.regex);
  }
  return regexes;
}

/** Positional regexes and named sets together; null when neither was given (every image). */
export function chosenRegexes(
  sets: Record<string, SetEntry[]>,
  positional: readonly string[],
  names: readonly string[] | undefined,
): string[] | null {
  if (positional.length === 0 && (names === undefined || names.length === 0)) return null;
  return [...positional, ...regexesOfSets(sets, names ?? [])];
}
