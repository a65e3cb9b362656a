import { createHash } from 'node:crypto';
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3StorageError, encodeKey, errorName, missingObject, status } from './s3-support.js';
import type { FinalizeOptions } from '../artifact.store.js';
import { multipartCopy } from '../multipart/s3-multipart-copy.js';

export interface SseParams {
  ServerSideEncryption?: 'AES256' | 'aws:kms';
  SSEKMSKeyId?: string;
}

/** S3 Object Lock retention put on final objects: `mode` until `retainDays` after the copy. */
export interface ObjectLockSettings {
  mode: 'GOVERNANCE' | 'COMPLIANCE';
  retainDays: number;
}

/** What HEAD says about one stored object. */
export interface ObjectHead {
  size: number;
  etag: string;
  /** The object's version in a versioned bucket; null otherwise. */
  versionId: string | null;
  /** The full-object SHA-256 the store computed (base64), when it reports one. */
  sha256Base64: string | null;
  /** A Content-Encoding the uploader sent (S3 keeps it and serves it with the object). */
  contentEncoding: string | null;
}

/** A new object made by CopyObject. */
export interface CopiedObject {
  etag: string;
  versionId: string | null;
  sha256Base64: string | null;
}

/**
 * 'missing': no such object. 'denied': storage answered 403 AccessDenied, which is also what S3
 * answers for a missing object when the caller lacks s3:ListBucket.
 */
export type Absent = 'missing' | 'denied';

/** The object operations the store needs, each translating driver errors at this edge. */
export class S3Objects {
  /** Objects larger than `singleMaxBytes` are copied part by part (UploadPartCopy); tests lower both. */
  copyLimits = { singleMaxBytes: 5 * 1024 ** 3, partBytes: 512 * 1024 ** 2 };

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    private readonly sse: SseParams,
    private readonly objectLock: ObjectLockSettings | null = null,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The Object Lock parameters of a final object's copy: none unless configured. */
  private lockParams(): { ObjectLockMode?: 'GOVERNANCE' | 'COMPLIANCE'; ObjectLockRetainUntilDate?: Date } {
    if (!this.objectLock) return {};
    return { ObjectLockMode: this.objectLock.mode, ObjectLockRetainUntilDate: new Date(this.now().getTime() + this.objectLock.retainDays * 86_400_000) };
  }

  async head(key: string): Promise<ObjectHead | Absent> {
    let out;
    try {
      out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key, ChecksumMode: 'ENABLED' }));
    } catch (err) {
      if (missingObject(err)) return 'missing';
      if (status(err) === 403) return this.forbidden(key, err);
      throw new S3StorageError('HeadObject', key, err);
    }
    // Without an ETag nothing pins the bytes between the checks and the copy: fail closed.
    if (!out.ETag) throw new S3StorageError('HeadObject', key, null, 'the response carries no ETag');

    const encoding = out.ContentEncoding?.trim().toLowerCase();
    return {
      size: out.ContentLength ?? 0,
      etag: out.ETag,
      versionId: versionOf(out.VersionId),
      sha256Base64: fullObjectSha256(out.ChecksumType, out.ChecksumSHA256),
      contentEncoding: encoding && encoding !== 'identity' ? out.ContentEncoding! : null,
    };
  }

  /**
   * A 403 on HEAD has no body to say why. A one-byte GET does: AccessDenied is a missing object
   * without s3:ListBucket (or no s3:GetObject); anything else (a bad signature, an expired token)
   * is a storage fault.
   */
  private async forbidden(key: string, headError: unknown): Promise<Absent> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: 'bytes=0-0' }));
      (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
    } catch (err) {
      if (missingObject(err)) return 'missing';
      if (status(err) === 403 && errorName(err) === 'AccessDenied') return 'denied';
      throw new S3StorageError('HeadObject', key, err);
    }
    throw new S3StorageError('HeadObject', key, headError);
  }

  /** sha256 and size of the stored bytes (of the version with `etag` when given). */
  async digest(key: string, etag: string | null, opts: FinalizeOptions = {}): Promise<{ size: number; sha256: string } | Absent | 'changed'> {
    let body: AsyncIterable<Uint8Array> & { destroy?: () => void };
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(etag ? { IfMatch: etag } : {}) }), {
        abortSignal: opts.signal,
      });
      body = out.Body as unknown as typeof body;
    } catch (err) {
      if (missingObject(err)) return 'missing';
      if (status(err) === 412) return 'changed';
      if (status(err) === 403 && errorName(err) === 'AccessDenied') return 'denied';
      throw new S3StorageError('GetObject', key, err);
    }
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of body) {
        size += chunk.length;
        hash.update(chunk);
        opts.onProgress?.(size);
        opts.signal?.throwIfAborted();
      }
    } catch (err) {
      body.destroy?.();
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw new S3StorageError('GetObject', key, err);
    }
    return { size, sha256: hash.digest('hex') };
  }

  /**
   * Copies `from` (only while its ETag is `ifMatch`) to `to` with fresh metadata: the declared
   * content type and nothing the uploader added (MetadataDirective REPLACE), a SHA-256 the store
   * computes (ChecksumAlgorithm), and the configured encryption. With `final`, also the configured
   * Object Lock retention (only final objects are locked: staging and verifying copies are deleted).
   */
  async copy(from: string, to: string, opts: { ifMatch: string; contentType: string; final?: boolean; size?: number }): Promise<CopiedObject | 'missing' | 'changed'> {
    if (opts.size !== undefined && opts.size > this.copyLimits.singleMaxBytes) {
      const out = await multipartCopy(this.client, {
        bucket: this.bucket, from, to, size: opts.size, ifMatch: opts.ifMatch, contentType: opts.contentType, sse: this.sse,
        lock: opts.final ? this.lockParams() : {}, partBytes: this.copyLimits.partBytes,
      });
      return typeof out === 'string' ? out : { ...out, sha256Base64: null };
    }
    try {
      const out = await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: to,
          CopySource: `${this.bucket}/${encodeKey(from)}`,
          ...(opts.ifMatch ? { CopySourceIfMatch: opts.ifMatch } : {}),
          MetadataDirective: 'REPLACE',
          ContentType: opts.contentType,
          ChecksumAlgorithm: 'SHA256',
          ...this.sse,
          ...(opts.final ? this.lockParams() : {}),
        }),
      );
      return {
        etag: out.CopyObjectResult?.ETag ?? '',
        versionId: versionOf(out.VersionId),
        sha256Base64: fullObjectSha256(out.CopyObjectResult?.ChecksumType, out.CopyObjectResult?.ChecksumSHA256),
      };
    } catch (err) {
      if (missingObject(err)) return 'missing';
      if (status(err) === 412) return 'changed';
      throw new S3StorageError('CopyObject', from, err);
    }
  }

  /**
   * Deletes one object. With a version id (a versioned bucket) that version is deleted for good,
   * rather than hidden behind a delete marker; if retention forbids it, a plain delete hides it.
   */
  async delete(key: string, versionId: string | null = null): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }));
    } catch (err) {
      if (missingObject(err)) return;
      if (versionId && status(err) === 403) return this.delete(key, null);
      throw new S3StorageError('DeleteObject', key, err);
    }
  }

  /** Deletes the current version of an object, whatever it is (discard, a failed final object). */
  async remove(key: string): Promise<void> {
    const head = await this.head(key).catch(() => 'missing' as const);
    await this.delete(key, typeof head === 'object' ? head.versionId : null);
  }
}

function versionOf(v: string | undefined): string | null {
  return v && v !== 'null' ? v : null;
}

/**
 * The object's own SHA-256 (base64) as storage reports it, or null. A multipart object's SHA-256 is
 * composite ("<base64>-<parts>", ChecksumType COMPOSITE, or no type at all on some stores), not the
 * bytes' own: never taken for one.
 */
export function fullObjectSha256(type: string | undefined, sha256: string | undefined): string | null {
  if (sha256 === undefined || (type !== undefined && type !== 'FULL_OBJECT') || /-\d+$/.test(sha256)) return null;
  return sha256;
}
