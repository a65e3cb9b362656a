import type { ServerResponse } from 'node:http';
import { RegistryError } from '../domain/errors.js';
import type { Principal } from '../domain/token.js';
import type { Services } from '../services/services.js';

export const AUDIT_PUBLIC_KEY_ROUTE = '/v1/audit/public-key';
export const AUDIT_EXPORT_ROUTE = '/v1/audit/export';
export const AUDIT_CHECKPOINTS_ROUTE = '/v1/audit/checkpoints';

/** GET /v1/audit/public-key: the Ed25519 public key (SPKI PEM) that verifies the signed checkpoints. Public. */
export function publicKeyRoute(res: ServerResponse, services: Services): void {
  const body = services.checkpoints.publicKeyPem;
  res.writeHead(200, { 'Content-Type': 'application/x-pem-file', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache' });
  res.end(body);
}

/**
 * GET /v1/audit/export?after=N&until=M (unscoped admins): every audit event after sequence N (and
 * up to M included), ascending,
 * as JSON lines (one event per line, canonical JSON), streamed. GET /v1/audit/checkpoints: every
 * signed checkpoint, as stored, one per line. With the public key, the offline verifier needs nothing else.
 */
export async function exportRoute(res: ServerResponse, services: Services, principal: Principal, url: URL, what: 'events' | 'checkpoints'): Promise<void> {
  let range: { after: number; until: number | null };
  try {
    range = services.auditExport.authorize(principal, url.searchParams.get('after'), url.searchParams.get('until'));
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    const status = err.code === 'FORBIDDEN' ? 403 : err.code === 'UNAUTHENTICATED' ? 401 : 400;
    const body = JSON.stringify({ error: err.message, code: err.code });
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store' });
  const lines = what === 'events' ? services.auditExport.eventLines(range) : services.auditExport.checkpointLines();
  try {
    for await (const line of lines) {
      // A client that goes away ends the wait too (then the stream stops below).
      if (!res.write(`${line}\n`)) await new Promise((resolve) => { res.once('drain', resolve); res.once('close', resolve); });
      if (res.destroyed) return;
    }
    res.end();
  } catch (err) {
    // Headers are sent: cut the stream, so the client sees a failure, not a shorter log.
    res.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}
