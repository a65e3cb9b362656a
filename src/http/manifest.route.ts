import type { ServerResponse } from 'node:http';
import { RegistryError } from '../domain/errors.js';
import type { Principal } from '../domain/token.js';
import { routeErrorStatus } from './route-errors.js';
import { etagMatches } from '../services/manifest/manifest.service.js';
import type { Services } from '../services/services.js';

export const MANIFEST_ROUTE = /^\/v1\/models\/([^/]+)\/versions\/([^/]+)\/manifest$/;

/**
 * GET (or HEAD) /v1/models/{name}/versions/{ref}/manifest: the version's artifacts with presigned
 * GET URLs, as JSON. An `If-None-Match` naming the current ETag gets 304 with no body, and nothing
 * is signed. Errors as on the download route: 404 NOT_FOUND for anything missing, outside the
 * token's scope, or not downloadable; 400 BAD_USER_INPUT (stating the rule) for a malformed ref.
 */
export async function manifestRoute(
  res: ServerResponse, services: Services, match: RegExpExecArray, principal: Principal, ifNoneMatch: string | undefined, head: boolean,
): Promise<void> {
  let model: string;
  let ref: string;
  try {
    [model, ref] = match.slice(1, 3).map((p) => decodeURIComponent(p!)) as [string, string];
  } catch {
    return send(res, 400, { error: 'Malformed path', code: 'BAD_USER_INPUT' }, head);
  }
  try {
    const resolved = await services.manifests.resolve(principal, model, ref);
    const headers = { ETag: resolved.etag, 'Cache-Control': 'no-store', 'X-Model-Version-Id': resolved.version.id };
    if (etagMatches(ifNoneMatch, resolved.etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    send(res, 200, await services.manifests.sign(resolved), head, headers);
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    send(res, routeErrorStatus(err), { error: err.message, code: err.code }, head);
  }
}

function send(res: ServerResponse, status: number, value: unknown, head: boolean, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}
