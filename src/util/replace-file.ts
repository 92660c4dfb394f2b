import { constants, lstatSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { UsageError } from './errors.js';

/** As the kernel's own limit on links followed in one path. */
const MAX_LINK_HOPS = 40;

/**
 * Where a write to `path` lands when links are followed, as ansible-vault does: the final target
 * of a chain of symbolic links, a dangling one included (the file is then created there).
 */
export function followLinks(path: string): string {
  let current = resolve(path);
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    let isLink: boolean;
    try {
      isLink = lstatSync(current).isSymbolicLink();
    } catch {
      return current;
    }
    if (!isLink) return current;
    current = resolve(dirname(current), readlinkSync(current));
  }
  throw new UsageError(`${path}: too many levels of symbolic links`);
}

function statIfExists(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

export interface ReplaceOptions {
  /**
   * The old content is secret (a plaintext being encrypted): it is overwritten where it lies,
   * so no other hard link keeps it. That needs write permission on the file, as ansible-vault's
   * shredding does: a file the user may not write is refused, not replaced.
   */
  overwriteOld: boolean;
  /** Keep the replaced file's mode and owner (ansible-vault's rekey); else the file gets `mode`. */
  keepModeAndOwner: boolean;
  mode: number;
}

/**
 * Replaces a file's content through its symbolic links (the link stays a link), atomically.
 * `name` is how the file is called in errors.
 */
export async function replaceFile(
  name: string,
  path: string,
  data: string | Uint8Array,
  options: ReplaceOptions,
): Promise<void> {
  const target = followLinks(path);
  const old = statIfExists(target);
  if (old !== undefined && !old.isFile()) throw new UsageError(`${name}: is not a regular file`);
  let oldContent: FileHandle | undefined;
  if (old !== undefined && options.overwriteOld) {
    try {
      oldContent = await open(target, constants.O_WRONLY | constants.O_NOFOLLOW);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new UsageError(`${name}: cannot be written (${code}); nothing was changed`);
    }
  }
  try {
    const keep = options.keepModeAndOwner && old !== undefined;
    if (keep) await writeFileAtomic(target, data, old.mode & 0o7777, { owner: { uid: old.uid, gid: old.gid } });
    else await writeFileAtomic(target, data, options.mode);
    if (oldContent !== undefined) {
      // Other hard links (and the freed blocks) now hold the new content instead of the old.
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      await oldContent.write(bytes, 0, bytes.length, 0);
      await oldContent.truncate(bytes.length);
      await oldContent.sync();
    }
  } finally {
    await oldContent?.close();
  }
}
