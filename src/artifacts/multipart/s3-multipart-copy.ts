import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, type S3Client, UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { SseParams } from '../s3/s3-objects.js';
import { S3StorageError, encodeKey, missingObject, status } from '../s3/s3-support.js';

/** Part size of a multipart copy: 10 000 parts of 512 MiB cover 5 TiB. */
const COPY_PART_BYTES = 512 * 1024 ** 2;
const COPY_CONCURRENCY = 4;

export interface MultipartCopyRequest {
  bucket: string;
  from: string;
  to: string;
  size: number;
  ifMatch: string;
  contentType: string;
  sse: SseParams;
  /** Object Lock parameters of the new object (final objects only). */
  lock: Record<string, unknown>;
  /** Part size (tests use small ones); default 512 MiB. */
  partBytes?: number;
}

/**
 * Copies an object too large for CopyObject (over 5 GiB) with UploadPartCopy, each part copied
 * only while the source's ETag is `ifMatch`. The copy has a composite checksum at best, so the
 * caller verifies it by reading it back. 'missing' / 'changed' as CopyObject would say.
 */
export async function multipartCopy(client: S3Client, r: MultipartCopyRequest): Promise<{ etag: string; versionId: string | null } | 'missing' | 'changed'> {
  const partBytes = Math.max(Math.ceil(r.size / 10_000), r.partBytes ?? COPY_PART_BYTES);
  let uploadId: string;
  try {
    const out = await client.send(new CreateMultipartUploadCommand({ Bucket: r.bucket, Key: r.to, ContentType: r.contentType, ...r.sse, ...r.lock }));
    if (!out.UploadId) throw new Error('no UploadId');
    uploadId = out.UploadId;
  } catch (err) {
    throw new S3StorageError('CreateMultipartUpload', r.to, err);
  }
  const count = Math.max(1, Math.ceil(r.size / partBytes));
  const etags: string[] = new Array(count);
  let next = 0;
  let outcome: 'missing' | 'changed' | null = null;
  const worker = async () => {
    while (outcome === null && next < count) {
      const i = next++;
      const first = i * partBytes;
      const last = Math.min(r.size, first + partBytes) - 1;
      try {
        const out = await client.send(new UploadPartCopyCommand({
          Bucket: r.bucket, Key: r.to, UploadId: uploadId, PartNumber: i + 1,
          CopySource: `${r.bucket}/${encodeKey(r.from)}`, CopySourceRange: `bytes=${first}-${last}`, CopySourceIfMatch: r.ifMatch,
        }));
        etags[i] = out.CopyPartResult?.ETag ?? '';
      } catch (err) {
        if (missingObject(err)) outcome = 'missing';
        else if (status(err) === 412) outcome = 'changed';
        else throw new S3StorageError('UploadPartCopy', r.from, err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, count) }, worker));
    if (outcome !== null) throw outcome;
    const done = await client.send(new CompleteMultipartUploadCommand({
      Bucket: r.bucket, Key: r.to, UploadId: uploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
    }));
    return { etag: done.ETag ?? '', versionId: done.VersionId && done.VersionId !== 'null' ? done.VersionId : null };
  } catch (err) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: r.bucket, Key: r.to, UploadId: uploadId })).catch(() => {});
    if (err === 'missing' || err === 'changed') return err;
    throw err instanceof S3StorageError ? err : new S3StorageError('CompleteMultipartUpload', r.to, err);
  }
}
