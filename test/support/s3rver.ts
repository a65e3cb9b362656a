import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * s3rver (@20minutes/s3rver): a real HTTP server speaking the S3 REST API, storing objects in a
 * directory. It is not AWS: it verifies SigV4 signatures (including presigned URLs and their
 * expiry) but ignores checksums, SSE and conditional copies (x-amz-copy-source-if-match).
 *
 * Quirks handled here, in test code only:
 * - the S3 client signs bucket-level requests (HeadBucket, CreateBucket) for `/<bucket>/`, but
 *   s3rver drops that trailing slash when it computes the canonical URI, so every such request
 *   failed with SignatureDoesNotMatch; the slash the client sent is put back;
 * - it URI-decodes `x-amz-copy-source` with decodeURI, which leaves %2B %3D %40 %2C (+ = @ ,)
 *   encoded; S3 wants that header URL-encoded, so its copy source keys are decoded once more;
 * - the S3 client must be told to send and check checksums only when required (see
 *   `s3rverClientConfig`), since s3rver does not speak the flexible checksum protocol.
 */
export interface S3rverHandle {
  endpoint: string;
  bucket: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Where s3rver keeps the objects (tests that tamper with stored bytes write here). */
  directory: string;
  close(): Promise<void>;
}

interface S3rverStore {
  existsObject(bucket: string, key: string): Promise<boolean>;
  getObject(bucket: string, key: string): Promise<{ content: AsyncIterable<Buffer> | null } | null>;
  copyObject(srcBucket: string, srcKey: string, ...rest: unknown[]): Promise<unknown>;
}
interface KoaContext {
  path: string;
  method: string;
  status: number;
  body: unknown;
  req: { headers: Record<string | symbol, unknown> };
  set(name: string, value: string): void;
  remove(name: string): void;
}

/**
 * Ways to make s3rver answer as a real store configured differently would, for one behaviour each
 * (s3rver itself has no IAM, no versioning, and always sends an ETag):
 * - `denyMissingObjects`: GET/HEAD of a missing object answers 403 AccessDenied, as S3 does when
 *   the caller lacks s3:ListBucket;
 * - `omitHeadEtag`: HEAD answers without an ETag header;
 * - `versionIds`: object answers carry an `x-amz-version-id` (derived from the key), as a
 *   versioned bucket's do; s3rver still keeps one version and ignores `versionId` on DELETE;
 * - `headChecksums`: HEAD answers carry the full-object SHA-256 of the bytes s3rver stores
 *   (`x-amz-checksum-sha256`, computed here from the stored object), as AWS S3 does for objects
 *   written with a SHA-256 checksum. s3rver still never checks a checksum on PUT.
 */
export interface S3rverQuirks {
  denyMissingObjects?: boolean;
  omitHeadEtag?: boolean;
  versionIds?: boolean;
  headChecksums?: boolean;
}
interface S3rverInstance {
  store: S3rverStore;
  middleware: ((ctx: KoaContext, next: () => Promise<void>) => Promise<void>)[];
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

const require = createRequire(import.meta.url);
const TRAILING_SLASH = Symbol('bucket path sent with a trailing slash');

interface CanonicalRequest {
  uri: string;
  headers: Record<string | symbol, unknown>;
}
type StringToSign = (canonical: CanonicalRequest, request: unknown) => string;

/** Puts the trailing slash of `/<bucket>/` back into the URI s3rver verifies the signature for. */
function patchBucketTrailingSlash(): void {
  const v4 = require('@20minutes/s3rver/lib/signature/v4.js') as { getStringToSign: StringToSign & { patched?: true } };
  if (v4.getStringToSign.patched) return;
  const original = v4.getStringToSign;
  const patched: StringToSign & { patched?: true } = (canonical, request) =>
    original(canonical.headers[TRAILING_SLASH] === true ? { ...canonical, uri: `${canonical.uri}/` } : canonical, request);
  patched.patched = true;
  v4.getStringToSign = patched;
}

/** S3Client settings s3rver needs (the store accepts them as `clientConfig`). */
export const s3rverClientConfig = {
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
} as const;

/** Starts s3rver on 127.0.0.1 (random port) over a fresh temporary directory with one bucket. */
export async function startS3rver(bucket = 'models', quirks: S3rverQuirks = {}): Promise<S3rverHandle> {
  const S3rver = require('@20minutes/s3rver') as S3rverClass;
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }],
  });
  patchBucketTrailingSlash();
  // Marks the request before s3rver's own middleware runs (Koa composes `middleware` at run()).
  server.middleware.unshift(async (ctx, next) => {
    if (/^\/[^/]+\/$/.test(ctx.path)) ctx.req.headers[TRAILING_SLASH] = true;
    await next();
  });
  const decode = (key: string): string => (key.includes('%') ? decodeURIComponent(key) : key);
  if (quirks.denyMissingObjects || quirks.omitHeadEtag || quirks.versionIds || quirks.headChecksums) {
    server.middleware.unshift(async (ctx, next) => {
      const object = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
      if (!object) return next();
      const key = object[2]!.split('/').map(decodeURIComponent).join('/');
      if (quirks.denyMissingObjects && (ctx.method === 'GET' || ctx.method === 'HEAD') && !(await server.store.existsObject(object[1]!, key))) {
        ctx.status = 403;
        ctx.set('Content-Type', 'application/xml');
        ctx.body = ctx.method === 'HEAD' ? '' : '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';
        return;
      }
      await next();
      if (quirks.omitHeadEtag && ctx.method === 'HEAD') ctx.remove('ETag');
      if (quirks.versionIds && ctx.status < 300) ctx.set('x-amz-version-id', versionIdOf(key));
      if (quirks.headChecksums && ctx.method === 'HEAD' && ctx.status === 200) {
        const stored = await server.store.getObject(object[1]!, key);
        const hash = createHash('sha256');
        for await (const chunk of stored?.content ?? []) hash.update(chunk);
        ctx.set('x-amz-checksum-sha256', hash.digest('base64'));
        ctx.set('x-amz-checksum-type', 'FULL_OBJECT');
      }
    });
  }
  const { existsObject, copyObject } = server.store;
  server.store.existsObject = (b, key) => existsObject.call(server.store, b, decode(key));
  server.store.copyObject = (b, key, ...rest) => copyObject.call(server.store, b, decode(key), ...rest);
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    directory,
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The version id the `versionIds` quirk reports for a key. */
export function versionIdOf(key: string): string {
  return `ver-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}
