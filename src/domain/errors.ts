/**
 * The closed set of domain errors. Services throw these with messages written for the client;
 * the GraphQL error formatter is the one place that maps them to `extensions.code`.
 */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'FAILED_PRECONDITION'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN';

export abstract class RegistryError extends Error {
  abstract readonly code: ErrorCode;
}

export class InvalidArgumentError extends RegistryError {
  readonly code = 'BAD_USER_INPUT' as const;
  /** The input field at fault, dotted, e.g. `input.metrics[3].value`. */
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'InvalidArgumentError';
  }
}

export class NotFoundError extends RegistryError {
  readonly code = 'NOT_FOUND' as const;
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/**
 * The version exists but its artifacts were purged (retention over, metadata kept). NOT_FOUND for
 * GraphQL; the download and manifest routes answer 410 Gone with this message.
 */
export class ArtifactsPurgedError extends NotFoundError {
  constructor(versionId: string, purgedAt: Date) {
    super(`Version ${versionId}'s artifacts were purged at ${purgedAt.toISOString()} (its metadata and audit history are kept)`);
    this.name = 'ArtifactsPurgedError';
  }
}

export class ConflictError extends RegistryError {
  readonly code = 'CONFLICT' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

export class FailedPreconditionError extends RegistryError {
  readonly code = 'FAILED_PRECONDITION' as const;
  constructor(message: string) {
    super(message);
    this.name = 'FailedPreconditionError';
  }
}

export class UnauthenticatedError extends RegistryError {
  readonly code = 'UNAUTHENTICATED' as const;
  constructor(message = 'A valid API token is required') {
    super(message);
    this.name = 'UnauthenticatedError';
  }
}

export class ForbiddenError extends RegistryError {
  readonly code = 'FORBIDDEN' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}
