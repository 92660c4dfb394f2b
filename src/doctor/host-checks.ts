import { lookup } from 'node:dns/promises';
import { mkdtemp, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '../util/process.js';
import type { Engine } from '../engine/types.js';
import { failed, ok, warn, type CheckResult } from './check.js';

export async function checkCommand(check: string, command: string, args: string[], fix: string): Promise<CheckResult> {
  try {
    const result = await runProcess(command, args, { captureStdout: true });
    if (result.exitCode !== 0)
      return failed(
        check,
        `${command} ${args.join(' ')} exited with ${result.exitCode}: ${result.stderrTail.at(-1) ?? ''}`.trim(),
        fix,
      );
    return ok(check, result.stdout.split('\n')[0]?.trim() || `${command} answers`);
  } catch (error) {
    return failed(check, `${command} not found (${(error as NodeJS.ErrnoException).code ?? 'error'})`, fix);
  }
}

/** Builds a one-line image from scratch (no network needed) and removes it again. */
export async function checkEngineBuilds(engine: Engine): Promise<CheckResult> {
  const check = `${engine.name} can build`;
  const context = await mkdtemp(join(tmpdir(), 'ci-builder-doctor-'));
  const reference = `localhost/ci-builder/doctor:${process.pid}`;
  try {
    await writeFile(join(context, 'Dockerfile'), 'FROM scratch\nLABEL ci-builder.doctor="1"\n');
    const built = await engine.build({
      contextDir: context,
      reference,
      labels: {},
      onLine: () => undefined,
      signal: new AbortController().signal,
    });
    if (!built.ok)
      return failed(
        check,
        built.failure.message,
        `run the same build by hand to see why; for buildah and podman, overlay storage and --isolation chroot must work here`,
      );
    await engine.remove(reference);
    return ok(check, 'a one-line image built and removed');
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

export async function checkFreeSpace(path: string, minimumGiB: number): Promise<CheckResult> {
  const check = 'storage space';
  try {
    const stats = await statfs(path);
    const freeGiB = (stats.bavail * stats.bsize) / 1024 ** 3;
    const detail = `${freeGiB.toFixed(1)} GiB free at ${path}`;
    return freeGiB < minimumGiB
      ? warn(
          check,
          `${detail} (below ${minimumGiB} GiB)`,
          'remove old images or runs, or give the engine a bigger disk',
        )
      : ok(check, detail);
  } catch (error) {
    return warn(
      check,
      `cannot read free space at ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      'check the engine storage path',
    );
  }
}

/** Builds reach the auth proxy by its loopback address; `localhost` must resolve there too. */
export async function checkLocalhost(): Promise<CheckResult> {
  const check = 'localhost';
  try {
    const addresses = (await lookup('localhost', { all: true })).map((entry) => entry.address);
    return addresses.some((address) => address === '::1' || address.startsWith('127.'))
      ? ok(check, `resolves to ${addresses.join(', ')}`)
      : failed(check, `resolves to ${addresses.join(', ')}`, 'add "127.0.0.1 localhost" to /etc/hosts');
  } catch {
    return failed(check, 'does not resolve', 'add "127.0.0.1 localhost" to /etc/hosts');
  }
}
