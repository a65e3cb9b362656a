/**
 * Errors the client throws. Server refusals carry the server's `extensions.code` (or the HTTP
 * routes' `code`) and message unchanged; failures found by the client itself have codes of their
 * own (NETWORK, INTEGRITY, VERSION_FAILED, SERVER_ERROR, BAD_RESPONSE).
 */
export class RegistryClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The HTTP status of the answer, when there was one. */
    readonly status?: number,
    /** The input field at fault, when the server named it. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'RegistryClientError';
  }
}

/** BAD_USER_INPUT: the request was malformed or an input failed validation; nothing was written. */
export class BadInputError extends RegistryClientError {
  override name = 'BadInputError';
}
/** NOT_FOUND: the model, version, token or ref does not exist, or is outside the token's scope. */
export class NotFoundError extends RegistryClientError {
  override name = 'NotFoundError';
}
/** CONFLICT: a compare-and-set lost, or an idempotency key was reused with another input. */
export class ConflictError extends RegistryClientError {
  override name = 'ConflictError';
}
/** FAILED_PRECONDITION: refused by policy or state (improvement policy not met, version not READY, …). */
export class FailedPreconditionError extends RegistryClientError {
  override name = 'FailedPreconditionError';
}
/** UNAUTHENTICATED: no token, or an unknown, revoked or expired one. */
export class UnauthenticatedError extends RegistryClientError {
  override name = 'UnauthenticatedError';
}
/** FORBIDDEN: the token's role does not allow this. */
export class ForbiddenError extends RegistryClientError {
  override name = 'ForbiddenError';
}
/** NETWORK: the registry or the storage could not be reached (after the retries). */
export class NetworkError extends RegistryClientError {
  override name = 'NetworkError';
}
/** SERVER_ERROR / INTERNAL_SERVER_ERROR: the registry or the storage failed (5xx, after the retries). */
export class ServerError extends RegistryClientError {
  override name = 'ServerError';
}
/** INTEGRITY: downloaded bytes do not match the registered size or SHA-256; nothing was kept. */
export class IntegrityError extends RegistryClientError {
  override name = 'IntegrityError';
}
/** VERSION_FAILED: the registry checked the uploaded files and marked the version FAILED. */
export class VersionFailedError extends RegistryClientError {
  override name = 'VersionFailedError';
}

const BY_CODE: Record<string, new (code: string, message: string, status?: number, field?: string) => RegistryClientError> = {
  BAD_USER_INPUT: BadInputError,
  NOT_FOUND: NotFoundError,
  CONFLICT: ConflictError,
  FAILED_PRECONDITION: FailedPreconditionError,
  UNAUTHENTICATED: UnauthenticatedError,
  FORBIDDEN: ForbiddenError,
  NETWORK: NetworkError,
  SERVER_ERROR: ServerError,
  INTERNAL_SERVER_ERROR: ServerError,
  INTEGRITY: IntegrityError,
  VERSION_FAILED: VersionFailedError,
};

/** The typed error for a code (unknown codes give the base class). */
export function errorFor(code: string, message: string, status?: number, field?: string): RegistryClientError {
  const Class = BY_CODE[code] ?? RegistryClientError;
  return new Class(code, message, status, field);
}

/** The code an HTTP status stands for when the body names none. */
export function codeOfStatus(status: number): string {
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status >= 500) return 'SERVER_ERROR';
  return 'BAD_USER_INPUT';
}

/** Worth another try: the network failed or the server answered 5xx. */
export function isRetryable(err: unknown): boolean {
  return err instanceof NetworkError || err instanceof ServerError;
}
