import { ArtifactsPurgedError, type RegistryError } from '../domain/errors.js';

/**
 * The HTTP status of a domain error on the download and manifest routes: 404 for what does not
 * exist (or is outside the token's scope, or not downloadable); 400 for anything else, chiefly
 * BAD_USER_INPUT: a malformed model name or ref (the message states the rule); 410 Gone for a
 * version whose artifacts were purged (it exists, its bytes never will again).
 */
export function routeErrorStatus(err: RegistryError): number {
  if (err instanceof ArtifactsPurgedError) return 410;
  return err.code === 'NOT_FOUND' ? 404 : 400;
}
