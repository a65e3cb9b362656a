import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { InvalidArgumentError, RegistryError } from '../domain/errors.js';

/** Apollo's codes for requests the client got wrong. */
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

/**
 * Document failures keep Apollo's codes, so a client can tell a bug in its query (fix the query)
 * from a bad value (BAD_USER_INPUT: fix the value). Every other client error is BAD_USER_INPUT.
 */
export const DOCUMENT_CODES: ReadonlySet<string> = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED']);

/**
 * Request errors Apollo answers with 400 that the GraphQL-over-HTTP spec answers with 200 under
 * `Accept: application/json` (the request was well-formed; the GraphQL document or its variables
 * were not): parse, validation, unknown operation name and variable coercion.
 */
const WELL_FORMED_REQUEST_CODES: ReadonlySet<string> = new Set([...DOCUMENT_CODES, 'OPERATION_RESOLUTION_FAILURE', 'BAD_USER_INPUT']);

/** The same error with an Apollo code (for documents checked outside Apollo, e.g. over WebSocket). */
export function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, originalError: error.originalError, extensions: { ...error.extensions, code } });
}

/** True when every error is one of a well-formed request that failed before execution (see WELL_FORMED_REQUEST_CODES). */
export function onlyRequestErrors(errors: readonly GraphQLError[]): boolean {
  return errors.length > 0 && errors.every((e) => e.path === undefined && WELL_FORMED_REQUEST_CODES.has(String(e.extensions?.code)));
}

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
 * The one place that turns errors into `extensions.code`: domain errors by their code, document
 * failures as GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED, other request errors as
 * BAD_USER_INPUT, anything else masked as INTERNAL_SERVER_ERROR.
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
    const code = String((original instanceof GraphQLError ? original.extensions?.code : undefined) ?? formatted.extensions?.code);
    return { ...base, message: formatted.message, extensions: { code: DOCUMENT_CODES.has(code) ? code : 'BAD_USER_INPUT' } };
  }
  return {
    ...base,
    message: opts.exposeDetails ? formatted.message : INTERNAL_MESSAGE,
    extensions: opts.exposeDetails ? { ...formatted.extensions, code: 'INTERNAL_SERVER_ERROR' } : { code: 'INTERNAL_SERVER_ERROR' },
  };
}
