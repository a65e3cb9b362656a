import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ArrivalDigests } from './arrival-digest.js';
import { type FsArtifactStore, parseObjectKey } from './fs-artifact.store.js';
import { sendArtifact } from './fs-artifact.download.js';
import { PlaintextLengthError } from './encryption/chunked-format.js';
import { reply } from './http-reply.js';
import type { ArtifactKey } from './multipart/multipart.port.js';
import { signatureMatches } from './signed-url.js';

/** A route handler the HTTP server mounts: returns false when the request is not for it. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

const PREFIX = '/artifacts/';

/** Whether a version still takes uploads (it is PENDING_UPLOAD); app.ts answers from the metadata store. */
export type UploadGate = (target: { modelName: string; versionId: string }) => Promise<boolean>;

/**
 * Serves the filesystem store's signed URLs: `PUT /artifacts/upload/<key>` and
 * `GET|HEAD /artifacts/download/<key>`, each with `expires`, `ct`, (`len`) and `sig` in the query.
 * Tampered or expired URLs get 403; the body of an upload must match the signed length and type.
 * Even a valid signature reaches only the upload stage (PUT) or final artifacts (GET), and an
 * upload only while its version waits for files: a replayed URL cannot write once it is verified.
 */
export function fsArtifactRoutes(store: FsArtifactStore, acceptsUpload: UploadGate, now: () => Date = () => new Date()): RouteHandler {
  return async (req, res, url) => {
    if (!url.pathname.startsWith(PREFIX)) return false;
    const rest = url.pathname.slice(PREFIX.length);
    const slash = rest.indexOf('/');
    const op = slash < 0 ? rest : rest.slice(0, slash);
    const method = op === 'upload' ? 'PUT' : op === 'download' ? 'GET' : null;
    if (method === null) return reply(res, 404, 'no such artifact route');
    if (req.method !== method && !(method === 'GET' && req.method === 'HEAD')) {
      res.setHeader('Allow', method === 'GET' ? 'GET, HEAD' : 'PUT');
      return reply(res, 405, `use ${method}`);
    }
    let key: string;
    try {
      key = rest.slice(slash + 1).split('/').map(decodeURIComponent).join('/');
    } catch {
      return reply(res, 400, 'malformed path');
    }
    const q = url.searchParams;
    const expires = Number(q.get('expires'));
    const contentType = q.get('ct');
    const len = q.get('len');
    const sha256 = q.get('sha');
    const contentLength = method === 'PUT' ? Number(len) : null;
    const fields = { method, key, expires, contentLength, contentType, sha256 } as const;
    const valid =
      Number.isSafeInteger(expires) &&
      contentType !== null &&
      (sha256 === null || (method === 'GET' && /^[0-9a-f]{64}$/.test(sha256))) &&
      (method === 'GET' ? len === null : Number.isSafeInteger(contentLength)) &&
      (signatureMatches(store.secret, fields, q.get('sig') ?? '') ||
        // A URL signed for HEAD serves HEAD only (one signed for GET serves both).
        (req.method === 'HEAD' && method === 'GET' && signatureMatches(store.secret, { ...fields, method: 'HEAD' }, q.get('sig') ?? '')));
    if (!valid) return reply(res, 403, 'signature does not match');
    if (expires * 1000 < now().getTime()) return reply(res, 403, 'URL expired');
    const target = parseObjectKey(key, method === 'PUT' ? 'uploads' : 'models');
    if (target === null) return reply(res, 403, 'signature does not match');
    if (method === 'PUT' && !(await acceptsUpload(target))) {
      req.resume();
      res.setHeader('Connection', 'close');
      return reply(res, 409, 'this version no longer takes uploads (it is not PENDING_UPLOAD)');
    }
    let file: string;
    try {
      file = store.fileFor(key);
    } catch {
      return reply(res, 403, 'signature does not match');
    }
    return method === 'PUT' ? receive(req, res, store, target, file, contentLength!, contentType) : sendArtifact(req, res, store.codec, file, contentType, sha256);
  };
}

async function receive(
  req: IncomingMessage, res: ServerResponse, store: FsArtifactStore, target: ArtifactKey, file: string, length: number, contentType: string,
): Promise<true> {
  if (req.headers['content-type'] !== contentType) return reply(res, 403, `Content-Type must be exactly "${contentType}"`);
  if (req.headers['content-length'] === undefined) return reply(res, 411, 'Content-Length is required');
  if (Number(req.headers['content-length']) !== length) return reply(res, 403, `Content-Length must be exactly ${length}`);
  const tmp = join(store.root, 'tmp', randomUUID());
  await mkdir(dirname(tmp), { recursive: true });
  try {
    // Sealed as it streams in (encryption at rest): no plaintext byte reaches the disk, also in tmp/.
    // The writer counts the body and fails on any other length than the signed one. The plaintext
    // is hashed on its way in, so that completion need not read the file again (arrival-digest.ts).
    const hasher = ArrivalDigests.hasher();
    await pipeline(req, hasher.stream, store.codec.writer(length), createWriteStream(tmp, { flags: 'wx' }));
    await store.arrivals.record(target, tmp, hasher.result());
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof PlaintextLengthError) return reply(res, 400, 'body length differs from Content-Length');
    throw err;
  }
  try {
    await mkdir(dirname(file), { recursive: true });
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
  return reply(res, 200, 'stored', 'status');
}
