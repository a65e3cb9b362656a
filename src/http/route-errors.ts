import type { RegistryError } from '../domain/errors.js';

/**
 * The HTTP status of a domain error on the download and manifest routes: 404 for what does not
 * exist (or is outside the token's scope, or not downloadable); 400 for anything else, chiefly
 * BAD_USER_INPUT: a malformed model name or ref (the message states the rule).
 */
export function routeErrorStatus(err: RegistryError): number {
  return err.code === 'NOT_FOUND' ? 404 : 400;
}
