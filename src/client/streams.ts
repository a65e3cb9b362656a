import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type RawFailure, RawGetError, rawGet } from './raw-get.js';
import { IntegrityError, NetworkError, RegistryClientError, codeOfStatus, errorFor } from './errors.js';

const CHUNK = 1024 * 1024;
/** A transfer that moves no byte for this long is dropped (a network error, so it is retried). */
const IDLE_MS = 60_000;

/**
 * Size and SHA-256 (lowercase hex) of a file, read as a stream; with `partSizeBytes`, also the
 * SHA-256 of each part of that size (the last part the rest), in the same read.
 */
export async function hashFile(
  file: string, onBytes?: (n: number) => void, partSizeBytes: number | null = null,
): Promise<{ sizeBytes: number; sha256: string; partSha256: string[] | null }> {
  const hash = createHash('sha256');
  const parts: string[] = [];
  let part = partSizeBytes ? createHash('sha256') : null;
  let inPart = 0;
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    onBytes?.(chunk.length);
    for (let at = 0; part && at < chunk.length; ) {
      const take = Math.min(chunk.length - at, partSizeBytes! - inPart);
      part.update(chunk.subarray(at, at + take));
      at += take;
      inPart += take;
      if (inPart === partSizeBytes) {
        parts.push(part.digest('hex'));
        part = createHash('sha256');
        inPart = 0;
      }
    }
  }
  if (part && (inPart > 0 || parts.length === 0)) parts.push(part.digest('hex'));
  return { sizeBytes: size, sha256: hash.digest('hex'), partSha256: partSizeBytes ? parts : null };
}

/** Counts the bytes passing through (an upload's progress). */
class Meter extends Transform {
  constructor(private readonly onBytes?: (n: number) => void) {
    super({ highWaterMark: CHUNK });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.onBytes?.(chunk.length);
    done(null, chunk);
  }
}

function requestFn(url: URL): typeof http.request {
  if (url.protocol === 'http:') return http.request;
  if (url.protocol === 'https:') return https.request;
  throw new RegistryClientError('BAD_RESPONSE', `Refusing a storage URL that is not http(s): ${url.protocol}`);
}

/** The host of a URL only: presigned URLs carry credentials in their query and never go into a message. */
const where = (url: URL) => `${url.protocol}//${url.host}`;

/** Drains a failed answer and turns it into a typed error (5xx: ServerError, retried by the caller). */
async function failure(res: http.IncomingMessage, what: string, url: URL): Promise<RegistryClientError> {
  let text = '';
  for await (const chunk of res as AsyncIterable<Buffer>) if (text.length < 2000) text += chunk.toString();
  return failureOf(res.statusCode ?? 0, text, what, url);
}

/** A failed answer's status and body as a typed error: the registry's JSON error, or S3's XML code. */
function failureOf(status: number, text: string, what: string, url: URL): RegistryClientError {
  const s3Code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  let code = codeOfStatus(status);
  let message = `${what} at ${where(url)} answered HTTP ${status}${s3Code ? ` (${s3Code})` : ''}`;
  try {
    const body = JSON.parse(text) as { error?: string; code?: string };
    if (body.code) code = body.code;
    if (body.error) message = `${what}: ${body.error}`;
  } catch {
    /* storage answers XML or text */
  }
  return errorFor(code, message, status);
}

const networkError = (what: string, url: URL, err: unknown) =>
  err instanceof RegistryClientError ? err : new NetworkError('NETWORK', `${what} at ${where(url)} failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);

/**
 * PUTs a file (or the byte range `range` of it: one part of a multipart upload) to a presigned URL
 * with exactly the headers it was signed with, as a stream. Resolves with storage's ETag, if any.
 */
export async function putFile(
  target: { url: string; method: string; headers: { name: string; value: string }[] }, file: string, onBytes?: (n: number) => void,
  range?: { start: number; length: number },
): Promise<string | null> {
  const url = new URL(target.url);
  const size = range ? range.length : (await stat(file)).size;
  const headers: Record<string, string> = { 'content-length': String(size) };
  for (const h of target.headers) headers[h.name.toLowerCase()] = h.value;
  const meter = new Meter(onBytes);
  return new Promise<string | null>((resolve, reject) => {
    const req = requestFn(url)(url, { method: target.method, headers, timeout: IDLE_MS }, (res) => {
      if ((res.statusCode ?? 0) >= 300) return failure(res, 'The upload', url).then(reject, reject);
      res.resume();
      const etag = res.headers.etag ?? null;
      res.once('end', () => resolve(etag));
      res.once('error', (err) => reject(networkError('The upload', url, err)));
    });
    req.once('error', (err) => reject(networkError('The upload', url, err)));
    req.once('timeout', () => req.destroy(Object.assign(new Error(`idle for ${IDLE_MS / 1000} s`), { code: 'ETIMEDOUT' })));
    const source = createReadStream(file, { highWaterMark: CHUNK, ...(range ? { start: range.start, end: range.start + range.length - 1 } : {}) });
    pipeline(source, meter, req).catch((err: unknown) => {
      req.destroy();
      reject(networkError('The upload', url, err));
    });
  });
}

/**
 * GETs a presigned URL into `file`, hashing while streaming; throws IntegrityError (after the
 * bytes are written: the caller removes the file) when the size or the SHA-256 differ.
 */
export async function downloadVerified(
  source: string, file: string, expected: { sizeBytes: number; sha256: string; path: string }, onBytes?: (n: number) => void,
): Promise<void> {
  const url = new URL(source);
  requestFn(url); // refuses anything but http(s)
  const what = `The download of ${expected.path}`;
  // Each chunk is hashed and written as it arrives, with a synchronous write (a copy into the page
  // cache) from the socket's reused read buffer (see raw-get.ts). `wx`: never over an existing file.
  const hash = createHash('sha256');
  let received = 0;
  let fd: number | null = null;
  let failed: RawFailure | null;
  try {
    failed = await rawGet(url, IDLE_MS, {
      onHead: (head) => {
        if (Number(head.headers.get('content-length')) !== expected.sizeBytes) return null; // refused below, without writing
        fd = openSync(file, 'wx');
        return (chunk) => {
          hash.update(chunk);
          received += chunk.length;
          for (let at = 0; at < chunk.length; ) at += writeSync(fd!, chunk, at);
          onBytes?.(chunk.length);
        };
      },
    });
  } catch (err) {
    // The connection's failures are retried; the file's (EEXIST, ENOSPC, EACCES...) are not: they are local.
    throw err instanceof RawGetError ? networkError(what, url, err) : err;
  } finally {
    if (fd !== null) closeSync(fd);
  }
  const mismatch = (got: string) =>
    new IntegrityError('INTEGRITY', `${expected.path}: the downloaded bytes do not match the registry's record (expected ${expected.sizeBytes} bytes with sha256 ${expected.sha256}, got ${got}); nothing was kept`);
  if (failed?.head.status === 200) throw mismatch(`an answer of ${failed.head.headers.get('content-length')} bytes`);
  if (failed) throw failureOf(failed.head.status, failed.body, what, url);
  const sha256 = hash.digest('hex');
  if (received !== expected.sizeBytes || sha256 !== expected.sha256) throw mismatch(`${received} bytes with sha256 ${sha256}`);
}
