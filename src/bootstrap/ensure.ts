import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeFailure, runProcess } from '../engine/process.js';
import type { Engine } from '../engine/types.js';
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
export async function ensureBaseImage(base: BaseImage, options: EnsureOptions): Promise<Result<EnsureOutcome, string>> {
  if (base.kind === 'image') return ok('present');
  if (await options.engine.exists(base.reference)) return ok('present');

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
      labels: { [BOOTSTRAP_DIGEST_LABEL]: base.digest, 'org.opencontainers.image.title': `${base.distro} ${base.suite} (bootstrapped)` },
      onLine: options.onLine,
      signal: options.signal,
    });
    await rename(join(context, 'rootfs.tar'), rootfs);
    return built.ok ? ok(outcome) : fail(`importing the ${base.distro} root filesystem failed: ${built.failure.message}`);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

async function bootstrapRootfs(base: Extract<BaseImage, { kind: 'bootstrap' }>, target: string, options: EnsureOptions): Promise<Result<void, string>> {
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
  const result = await runProcess('mmdebstrap', args, { signal: options.signal, onLine: options.onLine });
  if (result.exitCode !== 0) {
    await rm(partial, { force: true });
    return fail(`bootstrapping ${base.distro} ${base.suite} failed: ${describeFailure('mmdebstrap', result)}`);
  }
  await rename(partial, target);
  return ok(undefined);
}
