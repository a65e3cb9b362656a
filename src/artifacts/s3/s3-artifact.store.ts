import { randomUUID } from 'node:crypto';
import { type BucketLocationConstraint, CreateBucketCommand, HeadBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { StagedGroup } from '../artifact.store.js';
import { readS3Checkpoint, s3CheckpointNames, writeS3Checkpoint } from './s3-checkpoints.js';
import { listS3Staged, removeS3Staged } from './s3-staging.js';
import { InvalidArgumentError } from '../../domain/errors.js';
import type { ArtifactStore, ArtifactTarget, FinalizeOptions, FinalizeOutcome, PresignedRequest } from '../artifact.store.js';
import { S3_MAX_SINGLE_OBJECT_BYTES, finalizeUpload } from './s3-finalize.js';
import { type ObjectLockSettings, S3Objects, type SseParams } from './s3-objects.js';
import { S3UrlSigner } from './s3-presign.js';
import { S3Multipart } from '../multipart/s3-multipart.js';
import { listS3Markers, removeS3Markers } from '../multipart/s3-multipart-staging.js';
import { S3StorageError, normalizePrefix, sha256HexToBase64, status } from './s3-support.js';

export { S3_MAX_SINGLE_OBJECT_BYTES } from './s3-finalize.js';
export { S3StorageError } from './s3-support.js';

export type S3ServerSideEncryption = 'none' | 'AES256' | 'aws:kms';

export interface S3Timeouts {
  /** Connecting to storage (TCP and TLS). */
  connectMs: number;
  /** A socket with no traffic in either direction (idle, not total: a 5 GiB read-back is long). */
  idleMs: number;
  /** The whole readiness check (HeadBucket), retries included. */
  pingMs: number;
}

export const DEFAULT_S3_TIMEOUTS: S3Timeouts = { connectMs: 5_000, idleMs: 60_000, pingMs: 5_000 };

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
  timeouts?: Partial<S3Timeouts>;
  /** Sign `If-None-Match: *` into upload URLs, so a URL cannot overwrite a staged upload (default true). */
  conditionalUploads?: boolean;
  /** Skip the read-back when the store reports a full-object SHA-256 equal to the declared one (default false). */
  trustStoreChecksums?: boolean;
  /** S3 Object Lock retention on final objects (the bucket must have Object Lock enabled); absent: none. */
  objectLock?: ObjectLockSettings | null;
  /** Objects past `singleMaxBytes` (default 5 GiB) are copied in parts of `partBytes` (default 512 MiB); tests lower both. */
  multipartCopy?: { singleMaxBytes: number; partBytes: number };
  /** Further S3Client settings (a `requestHandler` given here replaces the one built from `timeouts`). */
  clientConfig?: Omit<S3ClientConfig, 'region' | 'endpoint' | 'forcePathStyle' | 'credentials'>;
  now?: () => Date;
}

const DELETE_CONCURRENCY = 8;
const STAGING = '_staging';
const VERIFYING = '_verifying';
const MULTIPART = '_multipart';

/**
 * Artifacts in an S3 bucket (AWS S3, MinIO). Uploads go, through presigned PUTs bound to the
 * declared length, type and sha256, to `<prefix>/_staging/<model>/<versionId>/<path>`; finalize
 * copies the staged object to a key of its own under `<prefix>/_verifying/`, which no URL names,
 * verifies that copy, and copies it to `<prefix>/<model>/<versionId>/<path>` (see s3-finalize.ts).
 * Model names never start with `_`, so the namespaces cannot collide.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly engine = 's3';
  readonly multipart: S3Multipart;

  private constructor(
    private readonly client: S3Client,
    private readonly objects: S3Objects,
    private readonly signer: S3UrlSigner,
    private readonly bucket: string,
    /** For CreateBucket: AWS outside us-east-1 needs it; S3-compatible servers do not. */
    private readonly locationConstraint: string | null,
    private readonly prefix: string,
    private readonly sse: SseParams,
    private readonly settings: { conditionalUploads: boolean; trustStoreChecksums: boolean; pingMs: number },
  ) {
    this.multipart = new S3Multipart({
      client, bucket, sse, signer, markerPrefix: `${prefix}${MULTIPART}/`, stagingKey: (t) => this.stagingKey(t), remove: (key) => this.objects.remove(key),
    });
  }

  static async open(opts: S3ArtifactStoreOptions): Promise<S3ArtifactStore> {
    if (!opts.bucket) throw new Error('S3 bucket is required');
    const sseMode = opts.sse ?? 'none';
    if (sseMode === 'aws:kms' && !opts.kmsKeyId) throw new Error('S3 SSE aws:kms needs a KMS key id');
    if (sseMode !== 'aws:kms' && opts.kmsKeyId) throw new Error('a KMS key id is only used with S3 SSE aws:kms');
    const timeouts = { ...DEFAULT_S3_TIMEOUTS, ...opts.timeouts };
    const client = new S3Client({
      // No checksums computed or validated in JavaScript on every call (a CRC64 over each read-back):
      // the registry hashes what it reads itself, and asks storage for SHA-256 where it matters.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...opts.clientConfig,
      requestHandler: opts.clientConfig?.requestHandler ?? { connectionTimeout: timeouts.connectMs, socketTimeout: timeouts.idleMs },
      region: opts.region,
      forcePathStyle: opts.forcePathStyle ?? false,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
    });
    const signer = await S3UrlSigner.create(
      client,
      { bucket: opts.bucket, region: opts.region, forcePathStyle: opts.forcePathStyle ?? false, endpoint: opts.endpoint ?? null, publicEndpoint: opts.publicEndpoint ?? null },
      opts.now ?? (() => new Date()),
    );
    const sse: SseParams = sseMode === 'none' ? {} : { ServerSideEncryption: sseMode, ...(opts.kmsKeyId ? { SSEKMSKeyId: opts.kmsKeyId } : {}) };
    const objects = new S3Objects(client, opts.bucket, sse, opts.objectLock ?? null, opts.now ?? (() => new Date()));
    if (opts.multipartCopy) objects.copyLimits = { ...opts.multipartCopy };
    return new S3ArtifactStore(
      client,
      objects,
      signer,
      opts.bucket,
      !opts.endpoint && opts.region !== 'us-east-1' ? opts.region : null,
      normalizePrefix(opts.prefix),
      sse,
      { conditionalUploads: opts.conditionalUploads ?? true, trustStoreChecksums: opts.trustStoreChecksums ?? false, pingMs: timeouts.pingMs },
    );
  }

  finalKey(t: Pick<ArtifactTarget, 'modelName' | 'versionId' | 'path'>): string {
    return `${this.prefix}${t.modelName}/${t.versionId}/${t.path}`;
  }

  stagingKey(t: Pick<ArtifactTarget, 'modelName' | 'versionId' | 'path'>): string {
    return `${this.prefix}${STAGING}/${t.modelName}/${t.versionId}/${t.path}`;
  }

  /** A fresh private key per finalize call: concurrent calls never share the bytes they verify. */
  verifyingKey(t: Pick<ArtifactTarget, 'modelName' | 'versionId' | 'path'>): string {
    return `${this.prefix}${VERIFYING}/${randomUUID()}/${t.modelName}/${t.versionId}/${t.path}`;
  }

  async presignUpload(t: ArtifactTarget, ttlSeconds: number): Promise<PresignedRequest> {
    if (t.sizeBytes > S3_MAX_SINGLE_OBJECT_BYTES && !t.multipart) {
      throw new InvalidArgumentError(
        'artifacts',
        `artifact "${t.path}" has ${t.sizeBytes} bytes; S3 storage accepts at most ${S3_MAX_SINGLE_OBJECT_BYTES} bytes (5 GiB) per artifact`,
      );
    }
    const headers: Record<string, string> = { 'content-type': t.contentType, 'content-length': String(t.sizeBytes) };
    // Storage checks the body against it (and Object Lock buckets require a checksum on every PUT).
    if (t.sha256) headers['x-amz-checksum-sha256'] = sha256HexToBase64(t.sha256);
    if (this.settings.conditionalUploads) headers['if-none-match'] = '*';
    if (this.sse.ServerSideEncryption) headers['x-amz-server-side-encryption'] = this.sse.ServerSideEncryption;
    if (this.sse.SSEKMSKeyId) headers['x-amz-server-side-encryption-aws-kms-key-id'] = this.sse.SSEKMSKeyId;
    const clientHeaders = Object.entries(headers)
      .filter(([name]) => name !== 'content-length')
      .map(([name, value]) => ({ name: CLIENT_HEADER_NAMES[name] ?? name, value }));
    return this.signer.sign({ method: 'PUT', key: this.stagingKey(t), ttlSeconds, headers, clientHeaders });
  }

  /** Signed for GET (or HEAD), served as a download of the declared type, never rendered inline. */
  async presignDownload(t: ArtifactTarget, ttlSeconds: number, method: 'GET' | 'HEAD' = 'GET'): Promise<PresignedRequest> {
    const query = { 'response-content-disposition': 'attachment', 'response-content-type': t.contentType };
    return this.signer.sign({ method, key: this.finalKey(t), ttlSeconds, headers: {}, query, clientHeaders: [] });
  }

  finalize(t: ArtifactTarget, sha256: string, opts: FinalizeOptions = {}): Promise<FinalizeOutcome> {
    const keys = { staging: this.stagingKey(t), final: this.finalKey(t), verifying: this.verifyingKey(t) };
    return finalizeUpload(this.objects, t, sha256, keys, { trustStoreChecksums: this.settings.trustStoreChecksums }, opts);
  }

  async discard(targets: readonly ArtifactTarget[]): Promise<void> {
    for (const t of targets) await this.multipart.abort(t);
    const keys = targets.flatMap((t) => [this.stagingKey(t), this.finalKey(t)]);
    for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
      await Promise.all(keys.slice(i, i + DELETE_CONCURRENCY).map((k) => this.objects.remove(k)));
    }
  }

  async *listStaged(): AsyncIterable<StagedGroup> {
    yield* listS3Staged(this.client, this.bucket, this.prefix, STAGING, VERIFYING);
    // Multipart uploads not joined: listed by their markers (removing one aborts the upload).
    yield* listS3Markers(this.client, this.bucket, `${this.prefix}${MULTIPART}/`);
  }

  async removeStaged(group: StagedGroup): Promise<void> {
    const markers = `${this.prefix}${MULTIPART}/`;
    if (group.keys.every((k) => k.startsWith(markers))) return removeS3Markers(this.multipart, group, markers);
    return removeS3Staged((key) => this.objects.remove(key), group, [`${this.prefix}${STAGING}/`, `${this.prefix}${VERIFYING}/`]);
  }

  writeAuditCheckpoint(name: string, body: Buffer): Promise<void> {
    return writeS3Checkpoint(this.client, this.bucket, this.prefix, this.sse, name, body);
  }

  auditCheckpointNames(): Promise<string[]> {
    return s3CheckpointNames(this.client, this.bucket, this.prefix);
  }

  readAuditCheckpoint(name: string): Promise<Buffer | null> {
    return readS3Checkpoint(this.client, this.bucket, this.prefix, name);
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: AbortSignal.timeout(this.settings.pingMs) });
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
}

const CLIENT_HEADER_NAMES: Record<string, string> = { 'content-type': 'Content-Type', 'if-none-match': 'If-None-Match' };
