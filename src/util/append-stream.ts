import { constants, createWriteStream, lstatSync, mkdirSync, openSync, unlinkSync, type WriteStream } from 'node:fs';

const APPEND_NO_FOLLOW = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/** Removes a symbolic link at `path`: in a run folder the run did not put it there. */
function removeLink(path: string): void {
  try {
    if (lstatSync(path).isSymbolicLink()) unlinkSync(path);
  } catch {
    // Nothing there yet.
  }
}

/**
 * Opens a log of a run folder for appending. A symbolic link at its path is removed, never
 * followed, so it cannot send the log into another file.
 */
export function createAppendStream(path: string): WriteStream {
  removeLink(path);
  return createWriteStream(path, { fd: openSync(path, APPEND_NO_FOLLOW, 0o644) });
}

/** Makes a folder of a run folder (logs/), replacing a symbolic link that would send its files elsewhere. */
export function makeRunSubfolder(path: string): void {
  removeLink(path);
  mkdirSync(path, { recursive: true });
}
