import { constants, createWriteStream, lstatSync, openSync, unlinkSync, type WriteStream } from 'node:fs';

const APPEND_NO_FOLLOW = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/**
 * Opens a log of a run folder for appending. A symbolic link at its path was not put there by
 * the run: it is removed, never followed, so it cannot send the log into another file.
 */
export function createAppendStream(path: string): WriteStream {
  try {
    if (lstatSync(path).isSymbolicLink()) unlinkSync(path);
  } catch {
    // Nothing there yet.
  }
  return createWriteStream(path, { fd: openSync(path, APPEND_NO_FOLLOW, 0o644) });
}
