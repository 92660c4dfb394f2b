import { writeFileAtomic } from '../util/atomic-write.js';
import { applyTagChanges, type TagChange } from './edit.js';
import { parseTags, type TagsFile } from './tags-file.js';
import { applyToTags } from './update.js';

/**
 * Writes the changes into the file, atomically, after checking the new text: it must pass the
 * same validation as any input, and hold exactly the intended tags, or nothing is written.
 * A dry run checks the same and writes nothing.
 */
export async function writeTagChanges(file: TagsFile, changes: readonly TagChange[], dryRun = false): Promise<string> {
  const text = applyTagChanges(file.path, file.text, changes);
  const written = parseTags(file.path, text);
  const intended = applyToTags(file.tags, changes);
  if (JSON.stringify(sorted(written)) !== JSON.stringify(sorted(intended))) {
    throw new Error(`${file.path}: the edited text does not hold the intended tags; the file is left as it was`);
  }
  if (text !== file.text && !dryRun) await writeFileAtomic(file.path, text);
  return text;
}

/** Key order does not matter to the comparison: new keys go at the end of the file. */
function sorted(value: Record<string, Record<string, string>>): Array<[string, Array<[string, string]>]> {
  const byName = <T>([a]: [string, T], [b]: [string, T]) => a.localeCompare(b);
  return Object.entries(value)
    .map(([key, byDistro]): [string, Array<[string, string]>] => [key, Object.entries(byDistro).sort(byName)])
    .sort(byName);
}
