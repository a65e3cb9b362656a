import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { InvalidArgumentError, RegistryError } from '../domain/errors.js';

/** Apollo's codes for requests the client got wrong; the contract calls them all BAD_USER_INPUT. */
const CLIENT_CODES = new Set([
  'BAD_USER_INPUT',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

export const INTERNAL_MESSAGE = 'Internal server error';

/** True for errors the client caused and is told about; false for ones to log and mask. */
export function isClientError(error: unknown): boolean {
  const original = unwrapResolverError(error);
  if (original instanceof RegistryError) return true;
  if (!(original instanceof GraphQLError)) return false;
  const code = original.extensions?.code;
  if (code !== undefined) return CLIENT_CODES.has(String(code));
  // graphql-js request errors (parse, validation, coercion) have no path and no non-GraphQL cause.
  const cause = original.originalError;
  return original.path === undefined && (cause === undefined || cause instanceof GraphQLError);
}

/**
 * The one place that turns errors into `extensions.code`: domain errors by their code, GraphQL
 * request errors as BAD_USER_INPUT, anything else masked as INTERNAL_SERVER_ERROR.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown, opts: { exposeDetails: boolean }): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  const base = { locations: formatted.locations, path: formatted.path };
  if (original instanceof RegistryError) {
    const extensions: Record<string, unknown> = { code: original.code };
    if (original instanceof InvalidArgumentError) extensions.field = original.field;
    return { ...base, message: original.message, extensions };
  }
  if (isClientError(error)) {
    return { ...base, message: formatted.message, extensions: { code: 'BAD_USER_INPUT' } };
  }
  return {
    ...base,
    message: opts.exposeDetails ? formatted.message : INTERNAL_MESSAGE,
    extensions: opts.exposeDetails ? { ...formatted.extensions, code: 'INTERNAL_SERVER_ERROR' } : { code: 'INTERNAL_SERVER_ERROR' },
  };
}
