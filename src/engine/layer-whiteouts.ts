import { link, lstat, lutimes, readFile, unlink, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describeFailure, runProcess } from '../util/process.js';

/**
 * A deletion as a layer's tar recorded it: when it was made, and the earlier deletion of the same layer it was
 * a hard link of (overlayfs makes every deletion of a container's layer a link of one inode, and the tar writer
 * then names the first deletion's path as the link of the later ones, in an entry that stays a plain `.wh.` file).
 */
export interface RecordedDeletion {
  /** The deleted path, relative to the layer's root, as overlayfs keeps it (the `.wh.` prefix taken off). */
  path: string;
  mtime: number;
  linkOf?: string;
}

const BLOCK = 512;
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/**
 * The deletions of a layer, from the record containers-storage keeps of its tar (`overlay-layers/<id>.tar-split.gz`:
 * one JSON line per entry, the bytes between files, headers included, kept as they were). The store's own folder
 * does not keep them: extracting a layer makes each deletion a new device, stamped with that moment. Empty when
 * the store keeps no record (a layer it made itself) or the record holds no deletion.
 */
export async function recordedDeletions(graphRoot: string, layerId: string): Promise<RecordedDeletion[]> {
  let packed: Buffer;
  try {
    packed = await readFile(join(graphRoot, 'overlay-layers', `${layerId}.tar-split.gz`));
  } catch {
    return [];
  }
  const deletions: RecordedDeletion[] = [];
  // Kept as text, decoded only before a deletion: most entries of a layer are files.
  let between = '';
  for (const line of gunzipSync(packed).toString('utf8').split('\n')) {
    if (line === '') continue;
    const entry = JSON.parse(line) as { type: number; name?: string; payload?: string | null };
    // Type 2: the bytes before the next file (the last file's padding, then the next entry's headers).
    if (entry.type === 2) {
      between = entry.payload ?? '';
      continue;
    }
    const name = entry.name ?? '';
    const file = basename(name);
    if (!file.startsWith(WHITEOUT) || file === OPAQUE) continue;
    const bytes = Buffer.from(between, 'base64');
    if (bytes.length < BLOCK) continue;
    const header = bytes.subarray(bytes.length - BLOCK);
    const mtime = Number.parseInt(field(header, 136, 12), 8);
    if (!Number.isFinite(mtime)) continue;
    const linkOf = field(header, 157, 100);
    const path = join(dirname(name), file.slice(WHITEOUT.length));
    // A link name filling its field may be cut short (the whole one is in a PAX record): not followed.
    deletions.push(linkOf !== '' && linkOf.length < 100 ? { path, mtime, linkOf } : { path, mtime });
  }
  return deletions;
}

/** A NUL- or space-ended text field of a tar header. */
function field(header: Buffer, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length).toString('latin1');
  const end = raw.search(/[\0 ]/);
  return (end < 0 ? raw : raw.slice(0, end)).trim();
}

/** Paths per cp: well under any argument list's limit. */
const PATHS_PER_COPY = 500;

/**
 * Gives the deletions of a layer copied (`cp -a --link`) into `to` the times and links its tar recorded, so that
 * the copy's tar is the same bytes as the original's. The copies are made new devices first (one cp per folder
 * of them): hard links of the original layer's would change that layer's own when given a time.
 */
export async function restoreDeletions(
  from: string,
  to: string,
  deletions: readonly RecordedDeletion[],
): Promise<void> {
  if (deletions.length === 0) return;
  const byFolder = new Map<string, string[]>();
  for (const { path } of deletions) {
    const folder = dirname(path);
    const paths = byFolder.get(folder);
    if (paths) paths.push(path);
    else byFolder.set(folder, [path]);
  }
  // Making and linking entries stamps their folders: each is given back the time it has in the original.
  const folders = [...byFolder.keys()];
  const times = await Promise.all(folders.map((folder) => lstat(join(from, folder))));
  for (const [folder, paths] of byFolder) {
    for (let start = 0; start < paths.length; start += PATHS_PER_COPY) {
      const sources = paths.slice(start, start + PATHS_PER_COPY).map((path) => join(from, path));
      const made = await runProcess('cp', ['-a', '--remove-destination', '--', ...sources, `${join(to, folder)}/`]);
      if (made.exitCode !== 0) throw new Error(describeFailure(`cp of the deletions in ${folder}`, made));
    }
  }
  const deleted = new Set(deletions.map((deletion) => deletion.path));
  for (const deletion of deletions) await lutimes(join(to, deletion.path), deletion.mtime, deletion.mtime);
  for (const { path, linkOf } of deletions) {
    // Deletions share an inode only with deletions: a link name that is not one is not followed.
    if (linkOf === undefined || !deleted.has(linkOf)) continue;
    await unlink(join(to, path));
    await link(join(to, linkOf), join(to, path));
  }
  for (const [index, folder] of folders.entries()) {
    const time = times[index];
    if (time !== undefined) await utimes(join(to, folder), time.atime, time.mtime);
  }
}
