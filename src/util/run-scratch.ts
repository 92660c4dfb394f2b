import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs `work` with TMPDIR pointing at a folder of its own, removed afterwards whatever
 * happened. Engines and their helpers (buildah, mmdebstrap, skopeo) stage files in TMPDIR and
 * leave them there when they are stopped mid-way; every child of the run inherits this folder,
 * so an interrupt or a crash of one of them leaves nothing behind in the host's temp folder.
 */
export async function withRunScratch<T>(work: () => Promise<T>): Promise<T> {
  const previous = process.env.TMPDIR;
  const scratch = await mkdtemp(join(tmpdir(), 'ci-builder-run-'));
  process.env.TMPDIR = scratch;
  try {
    return await work();
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    await rm(scratch, { recursive: true, force: true });
  }
}
