import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandFailure, runEngineCommand } from '../engine/failure.js';
import type { Engine, EngineFailure } from '../engine/types.js';
import { shellQuote } from '../repos/shell.js';
import { fail, ok, type Result } from '../util/result.js';
import type { BaseImage } from './base-image.js';

export const BOOTSTRAP_DIGEST_LABEL = 'ci-builder.bootstrap-digest';

export interface EnsureOptions {
  engine: Engine;
  /** apt sources lines to bootstrap from (through the auth proxy when Pulp needs a credential). */
  mirrorLines: readonly string[];
  /** Root filesystems are kept here by digest, so another engine or a pruned store reuses them. */
  cacheDir: string;
  onLine: (line: string) => void;
  signal: AbortSignal;
}

export type EnsureOutcome = 'present' | 'imported' | 'bootstrapped';

/**
 * Makes sure the distro's base image is in the engine: reused while its inputs are unchanged,
 * imported from a cached root filesystem, or bootstrapped from the distro's repository.
 */
export async function ensureBaseImage(
  base: BaseImage,
  options: EnsureOptions,
): Promise<Result<EnsureOutcome, EngineFailure>> {
  if (base.kind === 'image') return ok('present');
  const exists = await options.engine.exists(base.reference);
  if (!exists.ok) return exists;
  if (exists.value) return ok('present');

  const rootfs = join(options.cacheDir, `${base.digest.replace('sha256:', '')}.tar`);
  let outcome: EnsureOutcome = 'imported';
  if (!existsSync(rootfs)) {
    const made = await bootstrapRootfs(base, rootfs, options);
    if (!made.ok) return made;
    outcome = 'bootstrapped';
  }
  const context = await mkdtemp(join(options.cacheDir, 'context-'));
  try {
    await rename(rootfs, join(context, 'rootfs.tar'));
    await writeFile(join(context, 'Dockerfile'), 'FROM scratch\nADD rootfs.tar /\nCMD ["/bin/bash"]\n');
    const built = await options.engine.build({
      contextDir: context,
      reference: base.reference,
      labels: {
        [BOOTSTRAP_DIGEST_LABEL]: base.digest,
        'org.opencontainers.image.title': `${base.distro} ${base.suite} (bootstrapped)`,
      },
      onLine: options.onLine,
      signal: options.signal,
    });
    await rename(join(context, 'rootfs.tar'), rootfs);
    if (built.ok) return ok(outcome);
    const message = `importing the ${base.distro} root filesystem failed: ${built.failure.message}`;
    return fail({ kind: built.failure.kind, message });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

async function bootstrapRootfs(
  base: Extract<BaseImage, { kind: 'bootstrap' }>,
  target: string,
  options: EnsureOptions,
): Promise<Result<void, EngineFailure>> {
  await mkdir(options.cacheDir, { recursive: true });
  const partial = `${target}.partial`;
  const { source } = base;
  // The finished root filesystem keeps only the configured sources: no mirror or proxy URL.
  const finalSources = source.sources.map((line) => shellQuote(line)).join(' ');
  const args = [
    `--variant=${source.variant}`,
    '--format=tar',
    ...(source.include.length ? [`--include=${source.include.join(',')}`] : []),
    `--customize-hook=rm -rf "$1"/etc/apt/sources.list.d/* && printf '%s\n' ${finalSources} > "$1"/etc/apt/sources.list`,
    base.suite,
    partial,
    ...options.mirrorLines,
  ];
  // Stopped while it sets up or tears down its chroot, mmdebstrap as root leaves mounts and a root filesystem
  // behind. In a mount namespace of its own the mounts go when it does, and its scratch folder is removed here.
  // (Without root it picks its unshare mode, a namespace of its own already.)
  const scratch = await mkdtemp(join(tmpdir(), 'ci-builder-bootstrap-'));
  const [command, commandArgs]: [string, string[]] =
    process.getuid?.() === 0
      ? ['unshare', ['--mount', '--propagation', 'private', '--', 'mmdebstrap', ...args]]
      : ['mmdebstrap', args];
  const env = { ...process.env, TMPDIR: scratch };
  let ran: Awaited<ReturnType<typeof runEngineCommand>>;
  try {
    ran = await runEngineCommand(command, commandArgs, { env, signal: options.signal, onLine: options.onLine });
  } finally {
    await removeUnmounted(scratch);
  }
  if (!ran.ok || ran.value.exitCode !== 0) {
    await rm(partial, { force: true });
    // A repository that refuses or cannot be reached makes mmdebstrap fail like a build step does.
    // mmdebstrap missing is this host's problem, not an unreachable engine.
    const failure: EngineFailure = ran.ok
      ? commandFailure('mmdebstrap', ran.value, 'build', options.signal)
      : { ...ran.failure, kind: 'engine' };
    const message = `bootstrapping ${base.distro} ${base.suite} failed: ${failure.message}`;
    return fail({ kind: failure.kind, message });
  }
  await rename(partial, target);
  return ok(undefined);
}

/** Removes a folder unless something is still mounted under it (a recursive rm would reach into the mount). */
async function removeUnmounted(dir: string): Promise<void> {
  const mountInfo = await readFile('/proc/self/mountinfo', 'utf8');
  const mountPoints = mountInfo.split('\n').map((line) => line.split(' ')[4] ?? '');
  if (mountPoints.some((point) => point === dir || point.startsWith(`${dir}/`))) return;
  await rm(dir, { recursive: true, force: true });
}
