import { spawn } from 'node:child_process';
import { posix } from 'node:path';
import { readTar } from '../util/tar-stream.js';
import { errorMessage } from '../util/errors.js';
import { fail, ok, type Result } from '../util/result.js';
import { engineQuery } from './failure.js';
import type { EngineFailure } from './types.js';

/** The largest file read out of an image this way: dpkg's status of a big image is a few MB. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Regular files at or under absolute `paths` in a docker image, by path relative to its root, with nothing run
 * in it: a container is created (never started), each path copied out as the tar `docker cp` streams, the
 * container removed. docker resolves each path inside the container's root, so a link in the image never
 * reaches the host; links and other members are left out. A path the image lacks is left out too.
 */
export async function copyFilesOut(
  command: string,
  env: NodeJS.ProcessEnv,
  reference: string,
  paths: readonly string[],
): Promise<Result<Map<string, Buffer>, EngineFailure>> {
  const query = (args: readonly string[]) => engineQuery(command, args, `docker ${args[0]}`, { env });
  // A command is given only because create wants one when the image names none; it never runs.
  const created = await query(['create', '--entrypoint', '', reference, 'true']);
  if (!created.ok) return created;
  const container = created.value.trim();
  try {
    const files = new Map<string, Buffer>();
    for (const path of paths) {
      const copied = await copyOut(command, env, container, path, files);
      if (!copied.ok) return copied;
    }
    return ok(files);
  } finally {
    await query(['rm', container]);
  }
}

/** One path's tar from `docker cp`, its regular files into `files`; a missing path adds nothing. */
async function copyOut(
  command: string,
  env: NodeJS.ProcessEnv,
  container: string,
  path: string,
  files: Map<string, Buffer>,
): Promise<Result<void, EngineFailure>> {
  const child = spawn(command, ['cp', `${container}:${path}`, '-'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4096)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  // The tar names members after the copied path's last part: `status`, `apt/sources.list`.
  const parent = posix.dirname(path).replace(/^\/+/, '');
  const read = readTar(
    child.stdout,
    () => true,
    (entry) => {
      if (entry.kind === 'file' && entry.content) files.set(posix.join(parent, entry.path), entry.content);
    },
    { label: `docker cp ${path}`, maxFileBytes: () => MAX_FILE_BYTES },
  ).then(
    () => undefined,
    (error: unknown) => {
      // Nothing reads the rest: stopped, docker cp would wait on a full pipe forever.
      child.kill();
      return error;
    },
  );
  const [readError, code] = await Promise.all([read, exited.catch((error: unknown) => error)]);
  if (typeof code !== 'number' && code !== null) {
    return fail({ kind: 'connection', message: `cannot run ${command}: ${errorMessage(code)}` });
  }
  // A read that failed stopped docker cp: its exit says nothing the read's error does not.
  if (readError !== undefined) {
    return fail({ kind: 'engine', message: `docker cp ${path}: ${errorMessage(readError)}` });
  }
  // The archive was read to its end-of-archive blocks and the pipe let go; docker cp, still writing the padding
  // after them, is stopped by SIGPIPE: every member was read.
  if (code === null && child.signalCode === 'SIGPIPE') return ok(undefined);
  if (code !== 0) {
    if (/could not find the file|no such file or directory/i.test(stderr)) return ok(undefined);
    const said = stderr.trim().split('\n').pop() ?? '';
    return fail({ kind: 'engine', message: `docker cp ${path} failed (exit ${code ?? child.signalCode}): ${said}` });
  }
  return ok(undefined);
}
