import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** Give the file this owner (a rewrite keeping who owns it); skipped where not permitted. */
  owner?: { uid: number; gid: number };
}

/**
 * Writes a file so readers see either the old or the new content, never half of it. Whatever
 * is at the destination is replaced, never written through: a symbolic link there (planted in a
 * run folder, say) is replaced by the file and cannot send the content elsewhere. Callers that
 * mean to write where a link points resolve it first. The mode is set exactly, umask aside.
 * The data may come in chunks (a copy streamed, not held whole).
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array | AsyncIterable<Uint8Array>,
  mode = 0o644,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx' is O_CREAT|O_EXCL: it never opens an existing file or follows a link at the temporary name.
  const handle = await open(temporary, 'wx', 0o600);
  try {
    try {
      await writeFile(handle, data);
      const { owner } = options;
      if (owner !== undefined) await handle.chown(owner.uid, owner.gid).catch(ignoreNotPermitted);
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

function ignoreNotPermitted(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EPERM') throw error;
}
