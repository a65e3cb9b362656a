import { createHash } from 'node:crypto';
import { closeSync, createReadStream, open, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IntegrityError, NetworkError, RegistryClientError, codeOfStatus, errorFor } from './errors.js';

const CHUNK = 1024 * 1024;
/** A transfer that moves no byte for this long is dropped (a network error, so it is retried). */
const IDLE_MS = 60_000;

/** Size and SHA-256 (lowercase hex) of a file, read as a stream. */
export async function hashFile(file: string, onBytes?: (n: number) => void): Promise<{ sizeBytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    onBytes?.(chunk.length);
  }
  return { sizeBytes: size, sha256: hash.digest('hex') };
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
  const s3Code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  let code = codeOfStatus(res.statusCode ?? 0);
  let message = `${what} at ${where(url)} answered HTTP ${res.statusCode}${s3Code ? ` (${s3Code})` : ''}`;
  try {
    const body = JSON.parse(text) as { error?: string; code?: string };
    if (body.code) code = body.code;
    if (body.error) message = `${what}: ${body.error}`;
  } catch {
    /* storage answers XML or text */
  }
  return errorFor(code, message, res.statusCode);
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
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = requestFn(url)(url, { method: 'GET', timeout: IDLE_MS }, resolve);
    req.once('error', (err) => reject(networkError('The download', url, err)));
    // The socket's idle timeout also covers the body: a stalled download ends with an error, and is retried.
    req.once('timeout', () => req.destroy(Object.assign(new Error(`idle for ${IDLE_MS / 1000} s`), { code: 'ETIMEDOUT' })));
    req.end();
  });
  if ((res.statusCode ?? 0) !== 200) throw await failure(res, `The download of ${expected.path}`, url);
  // Each chunk is hashed and written as it arrives, with a synchronous write (a copy into the page
  // cache): this costs about half the CPU per byte of a stream pipeline with asynchronous writes,
  // which is what limits a pull on a busy machine. `wx`: never over an existing file.
  const hash = createHash('sha256');
  let received = 0;
  const fd = await new Promise<number>((resolve, reject) => open(file, 'wx', (err, fd) => (err ? reject(err) : resolve(fd))));
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      hash.update(chunk);
      received += chunk.length;
      if (received > expected.sizeBytes) break; // more than registered: stop reading, refused below
      for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
      onBytes?.(chunk.length);
    }
  } catch (err) {
    throw networkError(`The download of ${expected.path}`, url, err);
  } finally {
    closeSync(fd);
  }
  const sha256 = hash.digest('hex');
  if (received !== expected.sizeBytes || sha256 !== expected.sha256) {
    res.destroy();
    throw new IntegrityError(
      'INTEGRITY',
      `${expected.path}: the downloaded bytes do not match the registry's record (expected ${expected.sizeBytes} bytes with sha256 ${expected.sha256}, got ${received > expected.sizeBytes ? 'more than that' : `${received} bytes`} with sha256 ${sha256}); nothing was kept`,
    );
  }
}
