import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { UploadGate, RouteHandler } from '../fs-artifact.http.js';
import type { FsArtifactStore } from '../fs-artifact.store.js';
import { PlaintextLengthError } from '../encryption/chunked-format.js';
import { reply } from '../http-reply.js';
import { signatureMatches } from '../signed-url.js';
import { PART_KEY, partEtag } from './fs-multipart.js';
import { PART_SHA256, partSha256Base64 } from './part-checksums.js';

const PREFIX = '/artifacts/part/';

/**
 * `PUT /artifacts/part/<key>?expires&len[&sha]&sig`: one part of a multipart upload on the embedded
 * store. The signature covers the key (model, version, artifact, upload id, part number), the
 * length, the expiry and, when the client declared part hashes, the part's SHA-256 (`sha`); the
 * version must still be PENDING_UPLOAD and the upload still open (its plan names the same upload
 * id). The part is hashed and sealed as it streams in (encryption at rest), written under tmp/ and
 * renamed into place only when its SHA-256 is the signed one (400 otherwise, the earlier part left
 * as it was), so a part is either whole or absent; the answer carries its ETag. A part sent again
 * replaces the earlier one (and gets a new ETag).
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
    const sha = q.get('sha');
    const m = PART_KEY.exec(key);
    const valid = m !== null && Number.isSafeInteger(expires) && Number.isSafeInteger(length) && length >= 0 && (sha === null || PART_SHA256.test(sha)) &&
      signatureMatches(store.secret, { method: 'PUT', key, expires, contentLength: length, contentType: null, sha256: sha }, q.get('sig') ?? '');
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
    return receivePart(req, res, store, join(dir, uploadId!, partNumber!), length, sha);
  };
}

async function receivePart(req: IncomingMessage, res: ServerResponse, store: FsArtifactStore, file: string, length: number, sha: string | null): Promise<true> {
  if (req.headers['content-length'] === undefined) return reply(res, 411, 'Content-Length is required');
  if (Number(req.headers['content-length']) !== length) return reply(res, 403, `Content-Length must be exactly ${length}`);
  const claimed = req.headers['x-amz-checksum-sha256'];
  if (sha !== null && claimed !== undefined && claimed !== partSha256Base64(sha)) {
    return refuse(req, res, 400, 'x-amz-checksum-sha256 differs from the SHA-256 this part URL was signed for; send the header the URL lists');
  }
  const tmp = join(store.root, 'tmp', randomUUID());
  await mkdir(dirname(tmp), { recursive: true });
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(req, hashing, store.codec.writer(length), createWriteStream(tmp, { flags: 'wx' }));
    const got = hash.digest('hex');
    if (sha !== null && got !== sha) {
      await rm(tmp, { force: true });
      return reply(res, 400, `the part's bytes have SHA-256 ${got}, its URL was signed for ${sha} (the part declared at registration): part not stored`);
    }
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

/** Refuses before reading the body: the connection closes rather than taking bytes that are not wanted. */
function refuse(req: IncomingMessage, res: ServerResponse, code: number, message: string): true {
  req.resume();
  res.setHeader('Connection', 'close');
  return reply(res, code, message);
}
