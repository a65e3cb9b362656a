import type { ServerResponse } from 'node:http';

/** A small JSON answer of the artifact routes (`{ error }` or `{ status }`), never sniffed as anything else. */
export function reply(res: ServerResponse, status: number, message: string, key: 'error' | 'status' = 'error'): true {
  const body = JSON.stringify({ [key]: message });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
  return true;
}
