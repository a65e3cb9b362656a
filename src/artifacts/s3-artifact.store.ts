import { createHash } from 'node:crypto';
import {
  type BucketLocationConstraint,
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import { InvalidArgumentError } from '../domain/errors.js';
import type { ArtifactStore, ArtifactTarget, FinalizeOutcome, PresignedRequest } from './artifact.store.js';

export type S3ServerSideEncryption = 'none' | 'AES256' | 'aws:kms';

export interface S3ArtifactStoreOptions {
  bucket: string;
  region: string;
  /** An S3-compatible endpoint (MinIO); absent: AWS S3 for `region`. */
  endpoint?: string | null;
  /** The endpoint clients reach storage through, when it differs from `endpoint` (put into presigned URLs). */
  publicEndpoint?: string | null;
  /** Key prefix, without leading or trailing slash. */
  prefix?: string | null;
  forcePathStyle?: boolean;
  sse?: S3ServerSideEncryption;
  /** Required for `aws:kms`. */
  kmsKeyId?: string | null;
  /** Absent: the AWS default credential chain. */
  credentials?: S3ClientConfig['credentials'];
  /** Further S3Client settings (e.g. checksum behaviour of an S3-compatible server). */
  clientConfig?: Omit<S3ClientConfig, 'region' | 'endpoint' | 'forcePathStyle' | 'credentials'>;
  now?: () => Date;
}

/** The largest object one PUT or one CopyObject can carry. */
export const S3_MAX_SINGLE_OBJECT_BYTES = 5 * 1024 ** 3;
const FINALIZE_ATTEMPTS = 3;
const DELETE_CONCURRENCY = 8;
const STAGING = '_staging';

type HttpRequestToSign = Parameters<S3RequestPresigner['presign']>[0];
interface BaseUrl {
  protocol: string;
  hostname: string;
  port: number | undefined;
  path: string;
}

/** A storage failure, naming the operation and key; never a URL or a signature. */
export class S3StorageError extends Error {
  constructor(operation: string, key: string, cause: unknown) {
    const e = cause as { name?: string; $metadata?: { httpStatusCode?: number } };
    super(`S3 ${operation} of "${key}" failed: ${e?.name ?? 'Error'}${e?.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : ''}`, { cause });
    this.name = 'S3StorageError';
  }
}

/**
 * Artifacts in an S3 bucket (AWS S3, MinIO). Uploads go, through presigned PUTs bound to the
 * declared length and type, to `<prefix>/_staging/<model>/<versionId>/<path>`; finalize hashes the
 * staged bytes, copies them (only if their ETag is still the one hashed) to
 * `<prefix>/<model>/<versionId>/<path>` and deletes the staging object. Model names never start
 * with `_`, so the two namespaces cannot collide.
 *
 * One presigner is built per store; URLs are signed for the host of `publicEndpoint` (or the
 * endpoint the SDK resolves), since the signature covers the host.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly engine = 's3';

  private constructor(
    private readonly client: S3Client,
    private readonly presigner: S3RequestPresigner,
    private readonly publicBase: BaseUrl,
    private readonly bucket: string,
    /** For CreateBucket: AWS outside us-east-1 needs it; S3-compatible servers do not. */
    private readonly locationConstraint: string | null,
    private readonly prefix: string,
    private readonly sse: { ServerSideEncryption?: 'AES256' | 'aws:kms'; SSEKMSKeyId?: string },
    private readonly now: () => Date,
  ) {}

  static async open(opts: S3ArtifactStoreOptions): Promise<S3ArtifactStore> {
    if (!opts.bucket) throw new Error('S3 bucket is required');
    const sseMode = opts.sse ?? 'none';
    if (sseMode === 'aws:kms' && !opts.kmsKeyId) throw new Error('S3 SSE aws:kms needs a KMS key id');
    if (sseMode !== 'aws:kms' && opts.kmsKeyId) throw new Error('a KMS key id is only used with S3 SSE aws:kms');
    const client = new S3Client({
      ...opts.clientConfig,
      region: opts.region,
      forcePathStyle: opts.forcePathStyle ?? false,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
    });
    const resolved = client.config.endpointProvider({
      Bucket: opts.bucket,
      Region: opts.region,
      ForcePathStyle: opts.forcePathStyle ?? false,
      UseFIPS: await client.config.useFipsEndpoint(),
      UseDualStack: await client.config.useDualstackEndpoint(),
      Accelerate: false,
      ...((opts.publicEndpoint ?? opts.endpoint) ? { Endpoint: (opts.publicEndpoint ?? opts.endpoint)! } : {}),
    });
    const scheme = resolved.properties?.authSchemes?.[0] as { name?: string; signingRegion?: string } | undefined;
    if (scheme?.name && scheme.name !== 'sigv4') throw new Error(`S3 bucket needs the unsupported signing scheme ${scheme.name}`);
    const signingRegion = scheme?.signingRegion ?? opts.region;
    const presigner = new S3RequestPresigner({ ...client.config, region: async () => signingRegion });
    const url = new URL(resolved.url.toString());
    const publicBase: BaseUrl = {
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname.replace(/\/+$/, ''),
    };
    const sse = sseMode === 'none' ? {} : { ServerSideEncryption: sseMode, ...(opts.kmsKeyId ? { SSEKMSKeyId: opts.kmsKeyId } : {}) };
    return new S3ArtifactStore(client, presigner, publicBase, opts.bucket, !opts.endpoint && opts.region !== 'us-east-1' ? opts.region : null, normalizePrefix(opts.prefix), sse, opts.now ?? (() => new Date()));
  }

  finalKey(t: Pick<ArtifactTarget, 'modelName' | 'versionId' | 'path'>): string {
    return `${this.prefix}${t.modelName}/${t.versionId}/${t.path}`;
  }

  stagingKey(t: Pick<ArtifactTarget, 'modelName' | 'versionId' | 'path'>): string {
    return `${this.prefix}${STAGING}/${t.modelName}/${t.versionId}/${t.path}`;
  }

  async presignUpload(t: ArtifactTarget, ttlSeconds: number): Promise<PresignedRequest> {
    if (t.sizeBytes > S3_MAX_SINGLE_OBJECT_BYTES) {
      throw new InvalidArgumentError(
        'artifacts',
        `artifact "${t.path}" has ${t.sizeBytes} bytes; S3 storage accepts at most ${S3_MAX_SINGLE_OBJECT_BYTES} bytes (5 GiB) per artifact`,
      );
    }
    const headers: Record<string, string> = { 'content-type': t.contentType, 'content-length': String(t.sizeBytes) };
    if (this.sse.ServerSideEncryption) headers['x-amz-server-side-encryption'] = this.sse.ServerSideEncryption;
    if (this.sse.SSEKMSKeyId) headers['x-amz-server-side-encryption-aws-kms-key-id'] = this.sse.SSEKMSKeyId;
    const clientHeaders = Object.entries(headers)
      .filter(([name]) => name !== 'content-length')
      .map(([name, value]) => ({ name: name === 'content-type' ? 'Content-Type' : name, value }));
    return this.presign('PUT', this.stagingKey(t), ttlSeconds, headers, clientHeaders);
  }

  async presignDownload(t: ArtifactTarget, ttlSeconds: number): Promise<PresignedRequest> {
    return this.presign('GET', this.finalKey(t), ttlSeconds, {}, []);
  }

  private async presign(
    method: 'PUT' | 'GET',
    key: string,
    ttlSeconds: number,
    headers: Record<string, string>,
    clientHeaders: PresignedRequest['headers'],
  ): Promise<PresignedRequest> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 604800) throw new Error('presigned URL lifetime must be 1 s to 7 days');
    const { protocol, hostname, port, path } = this.publicBase;
    const request: HttpRequestToSign = { method, protocol, hostname, port, path: `${path}/${encodeKey(key)}`, query: {}, headers: { ...headers } };
    const signingDate = new Date(Math.floor(this.now().getTime() / 1000) * 1000);
    const signed = await this.presigner.presign(request, {
      expiresIn: ttlSeconds,
      signingDate,
      signableHeaders: new Set(Object.keys(headers)),
    });
    return { url: formatUrl(signed), method, headers: clientHeaders, expiresAt: new Date(signingDate.getTime() + ttlSeconds * 1000) };
  }

  async finalize(t: ArtifactTarget, sha256: string): Promise<FinalizeOutcome> {
    const staging = this.stagingKey(t);
    for (let attempt = 1; attempt <= FINALIZE_ATTEMPTS; attempt++) {
      const head = await this.head(staging);
      if (head === null) return this.verifyFinal(t, sha256);
      if (head.size > S3_MAX_SINGLE_OBJECT_BYTES) {
        await this.delete(staging);
        return { ok: false, reason: `artifact "${t.path}" has ${head.size} bytes; S3 storage accepts at most ${S3_MAX_SINGLE_OBJECT_BYTES} bytes per artifact` };
      }
      const got = head.size === t.sizeBytes ? await this.digest(staging, head.etag) : { size: head.size, sha256: '' };
      if (got === 'gone') return this.verifyFinal(t, sha256);
      if (got === 'changed') continue;
      const problem = mismatch(t, sha256, got);
      if (problem !== null) {
        await this.delete(staging);
        return { ok: false, reason: problem };
      }
      // Only the bytes just hashed: a replayed upload URL that replaced them makes the copy fail.
      const copied = await this.copy(staging, this.finalKey(t), head.etag);
      if (copied === 'gone') return this.verifyFinal(t, sha256);
      if (copied === 'changed') continue;
      await this.delete(staging);
      return { ok: true };
    }
    await this.delete(staging);
    return { ok: false, reason: `artifact "${t.path}" kept changing while it was verified` };
  }

  /** The staging object is gone: a previous finalize moved it (or it was never uploaded). */
  private async verifyFinal(t: ArtifactTarget, sha256: string): Promise<FinalizeOutcome> {
    const key = this.finalKey(t);
    const got = await this.digest(key, null);
    if (got === 'gone' || got === 'changed') return { ok: false, reason: `artifact "${t.path}" was not uploaded` };
    const problem = mismatch(t, sha256, got);
    if (problem === null) return { ok: true };
    await this.delete(key);
    return { ok: false, reason: problem };
  }

  async discard(targets: readonly ArtifactTarget[]): Promise<void> {
    const keys = targets.flatMap((t) => [this.stagingKey(t), this.finalKey(t)]);
    for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
      await Promise.all(keys.slice(i, i + DELETE_CONCURRENCY).map((k) => this.delete(k)));
    }
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      throw new S3StorageError('HeadBucket', this.bucket, err);
    }
  }

  /** Creates the bucket when it does not exist (S3_CREATE_BUCKET, for MinIO in development). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (status(err) !== 404) throw new S3StorageError('HeadBucket', this.bucket, err);
    }
    const location = this.locationConstraint
      ? { CreateBucketConfiguration: { LocationConstraint: this.locationConstraint as BucketLocationConstraint } }
      : {};
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket, ...location }));
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw new S3StorageError('CreateBucket', this.bucket, err);
    }
  }

  close(): void {
    this.client.destroy();
  }

  private async head(key: string): Promise<{ size: number; etag: string } | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: out.ContentLength ?? 0, etag: out.ETag ?? '' };
    } catch (err) {
      if (status(err) === 404) return null;
      throw new S3StorageError('HeadObject', key, err);
    }
  }

  /** sha256 and size of the stored bytes (of the version with `etag` when given). */
  private async digest(key: string, etag: string | null): Promise<{ size: number; sha256: string } | 'gone' | 'changed'> {
    let body: AsyncIterable<Uint8Array> & { destroy?: () => void };
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(etag ? { IfMatch: etag } : {}) }));
      body = out.Body as unknown as typeof body;
    } catch (err) {
      if (missingObject(err)) return 'gone';
      if (status(err) === 412) return 'changed';
      throw new S3StorageError('GetObject', key, err);
    }
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of body) {
        size += chunk.length;
        hash.update(chunk);
      }
    } catch (err) {
      body.destroy?.();
      throw new S3StorageError('GetObject', key, err);
    }
    return { size, sha256: hash.digest('hex') };
  }

  private async copy(from: string, to: string, etag: string): Promise<'ok' | 'gone' | 'changed'> {
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: to,
          CopySource: `${this.bucket}/${encodeKey(from)}`,
          CopySourceIfMatch: etag,
          MetadataDirective: 'COPY',
          ...this.sse,
        }),
      );
      return 'ok';
    } catch (err) {
      if (missingObject(err)) return 'gone';
      if (status(err) === 412) return 'changed';
      throw new S3StorageError('CopyObject', from, err);
    }
  }

  private async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (!missingObject(err)) throw new S3StorageError('DeleteObject', key, err);
    }
  }
}

function mismatch(t: ArtifactTarget, sha256: string, got: { size: number; sha256: string }): string | null {
  if (got.size !== t.sizeBytes) return `artifact "${t.path}" has ${got.size} bytes, ${t.sizeBytes} were declared`;
  if (got.sha256 !== sha256) return `artifact "${t.path}" has sha256 ${got.sha256}, ${sha256} was declared`;
  return null;
}

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** A 404 about the object, not the bucket: a missing bucket is a storage fault, never "not uploaded". */
function missingObject(err: unknown): boolean {
  return status(err) === 404 && (err as { name?: string })?.name !== 'NoSuchBucket';
}

/** RFC 3986 encoding, as S3 canonicalizes paths: every segment, including !'()*. */
function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function encodeKey(key: string): string {
  return key.split('/').map(encodeRfc3986).join('/');
}

function normalizePrefix(prefix: string | null | undefined): string {
  const p = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (p === '') return '';
  for (const segment of p.split('/')) {
    if (segment === '' || segment === '.' || segment === '..' || !/^[A-Za-z0-9._-]+$/.test(segment)) {
      throw new Error(`S3 prefix "${p}" must be segments of letters, digits and ._- separated by "/"`);
    }
  }
  return `${p}/`;
}

function formatUrl(r: HttpRequestToSign): string {
  const query = Object.keys(r.query ?? {})
    .sort()
    .flatMap((name) => {
      const value = r.query![name];
      const values = Array.isArray(value) ? value : [value];
      return values.map((v) => (v === null || v === undefined ? encodeRfc3986(name) : `${encodeRfc3986(name)}=${encodeRfc3986(v)}`));
    })
    .join('&');
  return `${r.protocol}//${r.hostname}${r.port ? `:${r.port}` : ''}${r.path}${query ? `?${query}` : ''}`;
}
