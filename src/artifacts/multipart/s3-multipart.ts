import { randomUUID } from 'node:crypto';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, ListPartsCommand,
  PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import type { ArtifactTarget, FinalizeOutcome, PresignedRequest } from '../artifact.store.js';
import type { S3UrlSigner } from '../s3/s3-presign.js';
import type { SseParams } from '../s3/s3-objects.js';
import { S3StorageError, errorName, missingObject, status } from '../s3/s3-support.js';
import type { ArtifactKey, MultipartArtifacts, MultipartHandle, PartToJoin, StoredPart } from './multipart.port.js';
import { PART_SHA256, partSha256Base64 } from './part-checksums.js';

export interface S3MultipartDeps {
  client: S3Client;
  bucket: string;
  sse: SseParams;
  signer: S3UrlSigner;
  /** `<prefix>_multipart/`: where the markers live (a namespace no URL names). */
  markerPrefix: string;
  stagingKey: (t: ArtifactKey) => string;
  /** Deletes one object (the marker). */
  remove: (key: string) => Promise<void>;
}

/**
 * Multipart uploads on S3: CreateMultipartUpload on the artifact's staging key, one presigned
 * UploadPart URL per part (bound to the part's length), CompleteMultipartUpload into the staging
 * object, which `finalize` then verifies and moves as it does a single PUT. The upload id, part
 * size and part hashes (when the client declared them) are kept in a marker object
 * `<prefix>_multipart/<model>/<version>/<path>.json`, so that fresh part URLs and the completion
 * find the same upload; the marker is removed when the upload is joined or aborted.
 *
 * With part hashes the upload is created with `ChecksumAlgorithm: SHA256` (composite), each part
 * URL is signed with its `x-amz-checksum-sha256` (storage refuses other bytes; MinIO refuses a part
 * without it), the completion names every part's `ChecksumSHA256` (storage refuses a mismatch),
 * and a composite checksum storage reports for the joined object must be the one computed from the
 * recorded hashes. s3rver ignores all of it; the sha256 read-back at finalize stays either way. Abandoned uploads: the cleanup aborts them through their markers (and a
 * bucket lifecycle rule, docs/operations.md, catches any that lost theirs).
 */
export class S3Multipart implements MultipartArtifacts {
  constructor(private readonly d: S3MultipartDeps) {}

  markerKey(t: Pick<ArtifactTarget, 'modelName' | 'versionId' | 'path'>): string {
    return `${this.d.markerPrefix}${t.modelName}/${t.versionId}/${t.path}.json`;
  }

  async begin(t: ArtifactTarget, partSizeBytes: number, partSha256?: readonly string[] | null): Promise<MultipartHandle> {
    const found = await this.find(t);
    if (found) return found;
    const key = this.d.stagingKey(t);
    const hashes = partSha256?.length ? [...partSha256] : null;
    let uploadId: string | undefined;
    try {
      const out = await this.d.client.send(new CreateMultipartUploadCommand({
        Bucket: this.d.bucket, Key: key, ContentType: t.contentType, ...this.d.sse, ...(hashes ? { ChecksumAlgorithm: 'SHA256' as const } : {}),
      }));
      uploadId = out.UploadId;
    } catch (err) {
      throw new S3StorageError('CreateMultipartUpload', key, err);
    }
    if (!uploadId) throw new S3StorageError('CreateMultipartUpload', key, null, 'the response carries no UploadId');
    const handle: MultipartHandle = { uploadId, partSizeBytes, ...(hashes ? { partSha256: hashes } : {}) };
    const marker = this.markerKey(t);
    try {
      await this.d.client.send(new PutObjectCommand({
        Bucket: this.d.bucket, Key: marker, ContentType: 'application/json', ...this.d.sse,
        Body: JSON.stringify({ ...handle, path: t.path, createdAt: new Date().toISOString(), nonce: randomUUID() }),
      }));
    } catch (err) {
      await this.abortUpload(key, uploadId).catch(() => {});
      throw new S3StorageError('PutObject', marker, err);
    }
    return handle;
  }

  async find(t: ArtifactKey): Promise<MultipartHandle | null> {
    const marker = this.markerKey(t);
    let text: string;
    try {
      const out = await this.d.client.send(new GetObjectCommand({ Bucket: this.d.bucket, Key: marker }));
      text = (await out.Body?.transformToString()) ?? '';
    } catch (err) {
      if (missingObject(err)) return null;
      throw new S3StorageError('GetObject', marker, err);
    }
    const parsed = JSON.parse(text) as Partial<Record<keyof MultipartHandle, unknown>>;
    if (typeof parsed.uploadId !== 'string' || !Number.isSafeInteger(parsed.partSizeBytes)) throw new S3StorageError('GetObject', marker, null, 'not a multipart marker');
    const hashes = parsed.partSha256;
    if (hashes !== undefined && !(Array.isArray(hashes) && hashes.length > 0 && hashes.every((h) => typeof h === 'string' && PART_SHA256.test(h)))) {
      throw new S3StorageError('GetObject', marker, null, 'the multipart marker holds malformed part hashes');
    }
    return { uploadId: parsed.uploadId, partSizeBytes: parsed.partSizeBytes as number, ...(hashes ? { partSha256: hashes as string[] } : {}) };
  }

  presignPart(t: ArtifactTarget, upload: MultipartHandle, partNumber: number, sizeBytes: number, ttlSeconds: number): Promise<PresignedRequest> {
    const sha = upload.partSha256?.[partNumber - 1];
    // Signed as a header (never hoisted into the query): storage checks the part's bytes against it.
    const checksum: Record<string, string> = sha ? { 'x-amz-checksum-sha256': partSha256Base64(sha) } : {};
    return this.d.signer.sign({
      method: 'PUT',
      key: this.d.stagingKey(t),
      ttlSeconds,
      headers: { 'content-length': String(sizeBytes), ...checksum },
      query: { partNumber: String(partNumber), uploadId: upload.uploadId },
      clientHeaders: Object.entries(checksum).map(([name, value]) => ({ name, value })),
    });
  }

  async listParts(t: ArtifactTarget, upload: MultipartHandle): Promise<StoredPart[] | null> {
    const key = this.d.stagingKey(t);
    const parts: StoredPart[] = [];
    let marker: string | undefined;
    do {
      let page;
      try {
        page = await this.d.client.send(new ListPartsCommand({ Bucket: this.d.bucket, Key: key, UploadId: upload.uploadId, PartNumberMarker: marker }));
      } catch (err) {
        // s3rver has no ListParts (it answers 405 or NotImplemented): the client's ETags are then needed.
        if (status(err) === 405 || status(err) === 501 || errorName(err) === 'NotImplemented' || errorName(err) === 'MethodNotAllowed') return null;
        if (errorName(err) === 'NoSuchUpload') return [];
        throw new S3StorageError('ListParts', key, err);
      }
      for (const p of page.Parts ?? []) {
        if (p.PartNumber && p.ETag) parts.push({ partNumber: p.PartNumber, etag: p.ETag, sizeBytes: p.Size ?? null });
      }
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async join(t: ArtifactTarget, upload: MultipartHandle, parts: readonly PartToJoin[]): Promise<FinalizeOutcome> {
    const key = this.d.stagingKey(t);
    const hashes = upload.partSha256 ?? null;
    const checksumOf = (n: number) => (hashes?.[n - 1] ? { ChecksumSHA256: partSha256Base64(hashes[n - 1]!) } : {});
    try {
      await this.d.client.send(new CompleteMultipartUploadCommand({
        Bucket: this.d.bucket, Key: key, UploadId: upload.uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: quoted(p.etag), ...checksumOf(p.partNumber) })) },
      }));
      // Storage that checks checksums has held each part to its signed hash and the completion to the
      // ChecksumSHA256 of each; a composite it reports that differs from the recorded parts' one is
      // not refused here: the upload is complete (no parts left to send again), and finalize's
      // read-back of every byte against the registered sha256 decides, as it does for every upload.
    } catch (err) {
      const name = errorName(err);
      if (name === 'InvalidPart' || name === 'InvalidPartOrder' || name === 'EntityTooSmall' || name === 'BadDigest' || name === 'InvalidDigest') {
        return { ok: false, reason: `artifact "${t.path}": storage refused its parts (${name}); upload the missing or changed parts again, then complete` };
      }
      // Joined already (a completion cut off after the join): the staging object is there; finalize checks it.
      if (name !== 'NoSuchUpload') throw new S3StorageError('CompleteMultipartUpload', key, err);
    }
    await this.d.remove(this.markerKey(t));
    return { ok: true };
  }

  async abort(t: ArtifactKey): Promise<void> {
    const found = await this.find(t);
    if (found) await this.abortUpload(this.d.stagingKey(t), found.uploadId);
    await this.d.remove(this.markerKey(t));
  }

  /** Aborts one upload: its parts are deleted. Storage without AbortMultipartUpload (s3rver) keeps them until its own cleanup. */
  async abortUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.d.client.send(new AbortMultipartUploadCommand({ Bucket: this.d.bucket, Key: key, UploadId: uploadId }));
    } catch (err) {
      const name = errorName(err);
      if (name === 'NoSuchUpload' || status(err) === 405 || status(err) === 501 || name === 'NotImplemented' || name === 'MethodNotAllowed') return;
      throw new S3StorageError('AbortMultipartUpload', key, err);
    }
  }
}

/** S3 compares ETags with their quotes; clients often strip them. */
function quoted(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}
