/**
 * Registry failures, one class per kind, each with a stable `code` (as undici does) so
 * callers branch on the kind, not on message text. `status` is the HTTP status, 0 when
 * no answer came. Messages name the request, never a credential.
 */
export type RegistryErrorCode =
  | 'REGISTRY_HTTP'
  | 'REGISTRY_AUTH'
  | 'REGISTRY_NOT_FOUND'
  | 'REGISTRY_CONNECTION'
  | 'REGISTRY_PROTOCOL'
  | 'REGISTRY_MOUNT_REFUSED';

export class RegistryError extends Error {
  readonly code: RegistryErrorCode = 'REGISTRY_HTTP';
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RegistryError';
  }
}

/** 401 or 403 after answering the challenge, no credentials for one, or a token server that says no. */
export class RegistryAuthError extends RegistryError {
  override readonly code = 'REGISTRY_AUTH';
  constructor(status: number, message: string) {
    super(status, message);
    this.name = 'RegistryAuthError';
  }
}

export class RegistryNotFoundError extends RegistryError {
  override readonly code = 'REGISTRY_NOT_FOUND';
  constructor(message: string) {
    super(404, message);
    this.name = 'RegistryNotFoundError';
  }
}

/** No answer at all (refused, reset, DNS) after the retries; `cause` keeps the system error and its code. */
export class RegistryConnectionError extends RegistryError {
  override readonly code = 'REGISTRY_CONNECTION';
  constructor(message: string, cause: unknown) {
    super(0, message, { cause });
    this.name = 'RegistryConnectionError';
  }
}

/** An answer that breaks the distribution protocol: no token, no Location, a digest that does not match. */
export class RegistryProtocolError extends RegistryError {
  override readonly code = 'REGISTRY_PROTOCOL';
  constructor(status: number, message: string) {
    super(status, message);
    this.name = 'RegistryProtocolError';
  }
}

/** The registry would not mount a blob from another repository (202 instead of 201). */
export class BlobMountRefusedError extends RegistryError {
  override readonly code = 'REGISTRY_MOUNT_REFUSED';
  constructor(message: string) {
    super(202, message);
    this.name = 'BlobMountRefusedError';
  }
}
