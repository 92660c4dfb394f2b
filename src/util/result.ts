/**
 * The two-layer error rule (docs/architecture.md; the whole of it in src/util/errors.ts): expected
 * failures of work (an engine, a registry, a build, a scan) travel as these Result values with a typed
 * kind; bad input (usage, config, files given) is thrown as UsageError/ConfigError (exit 2) or
 * WorkFailedError (exit 1) and caught once in src/cli/main.ts; anything else thrown is a bug.
 */

/** An expected outcome of work: its value, or the failure the caller handles. */
export type Result<T, F> = { ok: true; value: T } | { ok: false; failure: F };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const fail = <F>(failure: F): { ok: false; failure: F } => ({ ok: false, failure });
