import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from './errors.js';

/**
 * Kernel file systems: writing there is never what an operator meant, and Node's recursive
 * mkdir never returns under /proc (it loops on the ENOENT the kernel answers).
 */
const KERNEL_FILE_SYSTEMS = ['/proc', '/sys', '/dev'];

const errnoOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? 'error';

/** The path itself if it exists, else its nearest existing ancestor. */
function nearestExisting(path: string, prefix: string): string {
  let current = path;
  for (;;) {
    try {
      statSync(current);
      return current;
    } catch (error) {
      const code = errnoOf(error);
      // ENOTDIR: an ancestor is a file; walking up finds it and says so.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new UsageError(`${prefix}: ${current} cannot be reached (${code})`);
      }
      const parent = dirname(current);
      if (parent === current) throw new UsageError(`${prefix}: no part of the path exists`);
      current = parent;
    }
  }
}

function refuseKernelFileSystem(realPath: string, prefix: string): void {
  const root = KERNEL_FILE_SYSTEMS.find((candidate) => realPath === candidate || realPath.startsWith(`${candidate}/`));
  if (root !== undefined) {
    throw new UsageError(`${prefix}: is in ${root}, a kernel file system, not a place for output`);
  }
}

function checkFolder(absolute: string, prefix: string): void {
  const existing = nearestExisting(absolute, prefix);
  let real: string;
  try {
    real = realpathSync(existing);
  } catch (error) {
    throw new UsageError(`${prefix}: ${existing} cannot be reached (${errnoOf(error)})`);
  }
  refuseKernelFileSystem(real, prefix);
  if (!statSync(real).isDirectory()) throw new UsageError(`${prefix}: ${existing} is not a folder`);
  try {
    accessSync(real, constants.W_OK | constants.X_OK);
  } catch (error) {
    const folder = existing === absolute ? 'the folder' : existing;
    throw new UsageError(`${prefix}: ${folder} is not writable (${errnoOf(error)})`);
  }
}

/**
 * Checks, before any work is done, that a folder can be written into or created: what exists
 * of it is a folder, is writable, and is not in /proc, /sys or /dev. Returns it absolute.
 * `what` names the option (`--run-dir`) for the one-line error.
 */
export function checkOutputDir(path: string, what: string): string {
  const absolute = resolve(path);
  checkFolder(absolute, `${what} ${path}`);
  return absolute;
}

/**
 * Checks that a file can be created or replaced: it is not a folder, and its folder passes
 * checkOutputDir. A symbolic link is judged where it points.
 */
export function checkOutputFile(path: string, what: string): string {
  const absolute = resolve(path);
  const prefix = `${what} ${path}`;
  let real = absolute;
  try {
    if (statSync(absolute).isDirectory()) throw new UsageError(`${prefix}: is a folder, not a file`);
    real = realpathSync(absolute);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = errnoOf(error);
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new UsageError(`${prefix}: cannot be reached (${code})`);
  }
  refuseKernelFileSystem(real, prefix);
  checkFolder(dirname(real), prefix);
  return absolute;
}
