import { UsageError } from '../util/errors.js';
import { MiB } from '../util/read-input.js';
import { replaceFile } from '../util/replace-file.js';
import { Pace } from '../util/pace.js';
import { applyTagChanges, type TagChange } from './edit.js';
import { parseTags, TAGS_FILE_LIMITS, type TagsFile } from './tags-file.js';
import { applyToTags } from './update.js';

/**
 * Writes the changes into the file, atomically, after checking the new text: it must pass the
 * same validation as any input, and hold exactly the intended tags, or nothing is written.
 * The file is written where its symbolic links lead (the link stays a link), in its own
 * encoding, keeping its mode and owner. A dry run checks the same and writes nothing.
 * A file it would refuse to read (past the size of a tags file) is not written either.
 */
export async function writeTagChanges(
  file: TagsFile,
  changes: readonly TagChange[],
  dryRun = false,
  pace = new Pace(),
): Promise<string> {
  const text = await applyTagChanges(file.path, file.text, changes, pace);
  const bytes = Buffer.from(text, file.encoding);
  if (bytes.length > TAGS_FILE_LIMITS.maxBytes) {
    const size = `${(bytes.length / MiB).toFixed(1)} MiB`;
    const limit = `${(TAGS_FILE_LIMITS.maxBytes / MiB).toFixed(1)} MiB`;
    throw new UsageError(
      `${file.path}: the edited tags file would be ${size}, more than the ${limit} allowed; not written`,
    );
  }
  const written = parseTags(file.path, text);
  const intended = applyToTags(file.tags, changes);
  if (JSON.stringify(sorted(written)) !== JSON.stringify(sorted(intended))) {
    throw new Error(`${file.path}: the edited text does not hold the intended tags; the file is left as it was`);
  }
  pace.check();
  if (text !== file.text && !dryRun) {
    await replaceFile(file.path, file.path, bytes, { overwriteOld: false, keepModeAndOwner: true, mode: 0o644 });
  }
  return text;
}

/** Key order does not matter to the comparison: new keys go at the end of the file. */
function sorted(value: Record<string, Record<string, string>>): Array<[string, Array<[string, string]>]> {
  // Code unit order: any one order does, and the locale's costs a lot over 300,000 keys.
  const byName = <T>([a]: [string, T], [b]: [string, T]) => (a < b ? -1 : a > b ? 1 : 0);
  return Object.entries(value)
    .map(([key, byDistro]): [string, Array<[string, string]>] => [key, Object.entries(byDistro).sort(byName)])
    .sort(byName);
}
