import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { UploadGate, RouteHandler } from '../fs-artifact.http.js';
import type { FsArtifactStore } from '../fs-artifact.store.js';
import { PlaintextLengthError } from '../encryption/chunked-format.js';
import { reply } from '../http-reply.js';
import { signatureMatches } from '../signed-url.js';
import { PART_KEY, partEtag } from './fs-multipart.js';

const PREFIX = '/artifacts/part/';

/**
 * `PUT /artifacts/part/<key>?expires&len&sig`: one part of a multipart upload on the embedded
 * store. The signature covers the key (model, version, artifact, upload id, part number), the
 * length and the expiry; the version must still be PENDING_UPLOAD and the upload still open (its
 * plan names the same upload id). The part is sealed as it streams in (encryption at rest),
 * written under tmp/ and renamed into place, so a part is either whole or absent; the answer
 * carries its ETag. A part sent again replaces the earlier one (and gets a new ETag).
 */
export function fsMultipartRoutes(store: FsArtifactStore, acceptsUpload: UploadGate, now: () => Date = () => new Date()): RouteHandler {
  return async (req, res, url) => {
    if (!url.pathname.startsWith(PREFIX)) return false;
    if (req.method !== 'PUT') {
      res.setHeader('Allow', 'PUT');
      return reply(res, 405, 'use PUT');
    }
    let key: string;
    try {
      key = url.pathname.slice(PREFIX.length).split('/').map(decodeURIComponent).join('/');
    } catch {
      return reply(res, 400, 'malformed path');
    }
    const q = url.searchParams;
    const expires = Number(q.get('expires'));
    const length = Number(q.get('len'));
    const m = PART_KEY.exec(key);
    const valid = m !== null && Number.isSafeInteger(expires) && Number.isSafeInteger(length) && length >= 0 &&
      signatureMatches(store.secret, { method: 'PUT', key, expires, contentLength: length, contentType: null }, q.get('sig') ?? '');
    if (!valid) return reply(res, 403, 'signature does not match');
    if (expires * 1000 < now().getTime()) return reply(res, 403, 'URL expired');
    const [, modelName, versionId, artifact, uploadId, partNumber] = m!;
    if (!(await acceptsUpload({ modelName: modelName!, versionId: versionId! }))) {
      req.resume();
      res.setHeader('Connection', 'close');
      return reply(res, 409, 'this version no longer takes uploads (it is not PENDING_UPLOAD)');
    }
    const dir = store.fileFor(`multipart/${modelName}/${versionId}/${artifact}`);
    const plan = await readFile(join(dir, 'plan.json'), 'utf8').then((t) => JSON.parse(t) as { uploadId: string }, () => null);
    if (plan === null || plan.uploadId !== uploadId) {
      req.resume();
      res.setHeader('Connection', 'close');
      return reply(res, 404, 'no such multipart upload (it was joined or aborted): ask for fresh part URLs');
    }
    return receivePart(req, res, store, join(dir, uploadId!, partNumber!), length);
  };
}

async function receivePart(req: IncomingMessage, res: ServerResponse, store: FsArtifactStore, file: string, length: number): Promise<true> {
  if (req.headers['content-length'] === undefined) return reply(res, 411, 'Content-Length is required');
  if (Number(req.headers['content-length']) !== length) return reply(res, 403, `Content-Length must be exactly ${length}`);
  const tmp = join(store.root, 'tmp', randomUUID());
  await mkdir(dirname(tmp), { recursive: true });
  try {
    await pipeline(req, store.codec.writer(length), createWriteStream(tmp, { flags: 'wx' }));
    await mkdir(dirname(file), { recursive: true });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof PlaintextLengthError) return reply(res, 400, 'body length differs from Content-Length');
    throw err;
  }
  res.setHeader('ETag', `"${partEtag(await stat(file))}"`);
  return reply(res, 200, 'stored', 'status');
}
