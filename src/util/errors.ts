/**
 * The two-layer error rule (docs/architecture.md):
 * - Expected failures of work (an engine build, a registry push, a scan of one image) travel as
 *   Result values (src/util/result.ts) with a typed kind: one image failing never stops the others,
 *   and the run's summary and exit code (1) say what failed.
 * - Bad input (usage, configuration, a file given) is thrown as a typed error carrying its exit code:
 *   UsageError and ConfigError exit 2 (nothing was done), WorkFailedError exits 1 (a command's one piece
 *   of work failed for a reason outside the input, a registry down), InterruptedError 130. They are
 *   caught once, at the edge (src/cli/main.ts), and printed as one line.
 * - Anything else thrown is a bug: main.ts says "internal error" (the stack with CI_BUILDER_DEBUG).
 */

/** Bad input or usage: exit 2, nothing was done. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Work that could not be done for a reason outside the input (a service down): exit 1. */
export class WorkFailedError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'WorkFailedError';
  }
}

/** The command stopped because of SIGINT or SIGTERM: exit 130, and nothing to add to what was said. */
export class InterruptedError extends Error {
  readonly exitCode = 130;
  constructor() {
    super('interrupted');
    this.name = 'InterruptedError';
  }
}

/** A config file that is missing, unparsable or has a value of the wrong shape. */
export class ConfigError extends UsageError {
  constructor(
    readonly file: string,
    readonly keyPath: string,
    readonly expected: string,
  ) {
    super(`${file}: ${keyPath || '(top level)'}: ${expected}`);
    this.name = 'ConfigError';
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A system error's code (ENOENT, ECONNREFUSED) where it has one, its message otherwise. */
export function errorCodeOrMessage(error: unknown): string {
  return (error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined) ?? errorMessage(error);
}
