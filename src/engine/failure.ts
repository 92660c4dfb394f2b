import { fail, ok, type Result } from '../util/result.js';
import { describeFailure, runProcess, type ProcessResult, type RunOptions } from '../util/process.js';
import type { EngineFailure, EngineFailureKind, ImageInfo } from './types.js';

/** The engine's daemon or service is down or its socket unreachable (as docker and podman say it). */
const ENGINE_UNREACHABLE = new RegExp(
  [
    'Cannot connect to the Docker daemon',
    'error during connect',
    'Is the docker daemon running',
    'Cannot connect to Podman',
    'unable to connect to Podman socket',
  ].join('|'),
  'i',
);
/** The registry could not be reached at all, as the Go network stack of buildah and docker words it. */
const REGISTRY_UNREACHABLE = new RegExp(
  [
    'dial tcp',
    'connection refused',
    'no such host',
    'i/o timeout',
    'TLS handshake timeout',
    'network is unreachable',
    'connection reset by peer',
  ].join('|'),
  'i',
);
/** The image asked for is not in the engine's storage (buildah, docker). */
const IMAGE_NOT_FOUND = /image not known|No such image|no such object|image not found/i;
/** The registry has no such manifest (docker, buildah and podman, as the registry's error code reaches them). */
const MANIFEST_NOT_FOUND =
  /manifest unknown|manifest for \S+ not found|not found: manifest|reading manifest .* not found/i;

/**
 * buildah and podman re-execute themselves from a sealed in-memory copy (containers/storage's unshare) before
 * doing anything; sealing fails with EBUSY when another process briefly holds a writable mapping of that copy.
 * The command then stopped before it started: it is run again, at most twice.
 */
const REEXEC_RACE = /^(Close_Fd|Error) sealing memfd copy: Device or resource busy$/;
const REEXEC_ATTEMPTS = 3;

/**
 * Runs an engine's command. One that cannot even be started (not installed, not executable)
 * means the engine is unreachable: a failure value, not a thrown error.
 */
export async function runEngineCommand(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<Result<ProcessResult, EngineFailure>> {
  try {
    let result = await runProcess(command, args, options);
    for (let attempt = 1; attempt < REEXEC_ATTEMPTS && stoppedBeforeStarting(result); attempt++) {
      result = await runProcess(command, args, options);
    }
    return ok(result);
  } catch (error) {
    return fail({ kind: 'connection', message: `cannot run ${command}: ${(error as Error).message}` });
  }
}

function stoppedBeforeStarting(result: ProcessResult): boolean {
  return result.exitCode !== 0 && result.stderrTail.some((line) => REEXEC_RACE.test(line.trim()));
}

/**
 * What a failed command means. `usual` is the kind for a failure of the operation itself; the
 * standard error tells an interrupt, an unreachable engine or registry, or a missing image apart.
 * Registry reachability is read only from pushes and missing images only from queries: a build's
 * own output may say "connection refused" or "not found" about what its RUN steps did.
 */
export function commandFailure(
  label: string,
  result: ProcessResult,
  usual: EngineFailureKind,
  signal?: AbortSignal,
): EngineFailure {
  const message = describeFailure(label, result);
  const errors = result.stderrTail.join('\n');
  if (signal?.aborted) return { kind: 'interrupted', message };
  if (ENGINE_UNREACHABLE.test(errors)) return { kind: 'connection', message };
  if (usual === 'push' && REGISTRY_UNREACHABLE.test(errors)) return { kind: 'connection', message };
  if (usual === 'engine' && IMAGE_NOT_FOUND.test(errors)) return { kind: 'not-found', message };
  return { kind: usual, message };
}

/** What a failed pull means: no such manifest, an unreachable registry or engine, or anything else. */
export function pullFailure(label: string, result: ProcessResult, signal: AbortSignal): EngineFailure {
  const errors = result.stderrTail.join('\n');
  if (!signal.aborted && MANIFEST_NOT_FOUND.test(errors))
    return { kind: 'not-found', message: describeFailure(label, result) };
  return commandFailure(label, result, 'push', signal).kind === 'connection'
    ? { kind: 'connection', message: describeFailure(label, result) }
    : commandFailure(label, result, 'engine', signal);
}

/** Runs a command whose only interest is success: its standard output on exit 0, a classified failure otherwise. */
export async function engineQuery(
  command: string,
  args: readonly string[],
  label: string,
  options: RunOptions = {},
): Promise<Result<string, EngineFailure>> {
  const ran = await runEngineCommand(command, args, { ...options, captureStdout: true });
  if (!ran.ok) return ran;
  if (ran.value.exitCode !== 0) return fail(commandFailure(label, ran.value, 'engine', options.signal));
  return ok(ran.value.stdout);
}

/** Parses a query's JSON answer; an answer that is not JSON is an engine failure, not a crash. */
export function parseJson<T>(text: string, label: string): Result<T, EngineFailure> {
  try {
    return ok(JSON.parse(text) as T);
  } catch {
    return fail({ kind: 'engine', message: `${label} did not answer JSON` });
  }
}

/** An image that is not there is an answer (false), not a failure. */
export function presence(inspected: Result<ImageInfo, EngineFailure>): Result<boolean, EngineFailure> {
  if (inspected.ok) return ok(true);
  return inspected.failure.kind === 'not-found' ? ok(false) : inspected;
}

/** Keeps only whether the operation worked. */
export function nothing<T>(result: Result<T, EngineFailure>): Result<void, EngineFailure> {
  return result.ok ? ok(undefined) : result;
}
