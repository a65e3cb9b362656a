import { RegistryClientError } from '../client/index.js';

/** The CLI's exit codes (documented in the README). */
export const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  REFUSED: 3,
  NOT_FOUND: 4,
  ACCESS: 5,
} as const;

/** A mistake in the command line itself: exit 2, nothing sent. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

/** The exit code of an error: by the server's code where there is one. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.USAGE;
  if (!(err instanceof RegistryClientError)) return EXIT.ERROR;
  switch (err.code) {
    case 'BAD_USER_INPUT':
      return EXIT.USAGE;
    case 'CONFLICT':
    case 'FAILED_PRECONDITION':
      return EXIT.REFUSED;
    case 'NOT_FOUND':
      return EXIT.NOT_FOUND;
    case 'UNAUTHENTICATED':
    case 'FORBIDDEN':
      return EXIT.ACCESS;
    default:
      return EXIT.ERROR;
  }
}

/** The error as the user sees it: the server's message and code, never a stack trace. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof RegistryClientError || err instanceof UsageError) return { code: err.code, message: err.message };
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.message === 'string') return { code: e.code ?? 'ERROR', message: e.message };
  return { code: 'ERROR', message: String(err) };
}
