/**
 * Errors that carry the process exit code the command-line contract gives them.
 * Bad input or usage is 2 (nothing was done); anything else that escapes is a bug.
 */
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
