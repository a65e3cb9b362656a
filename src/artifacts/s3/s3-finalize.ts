import type { ArtifactTarget, FinalizeOptions, FinalizeOutcome } from '../artifact.store.js';
import { type Absent, type CopiedObject, type ObjectHead, S3Objects } from './s3-objects.js';
import { S3StorageError, sha256HexToBase64 } from './s3-support.js';

/** The largest object one PUT or one CopyObject can carry. */
export const S3_MAX_SINGLE_OBJECT_BYTES = 5 * 1024 ** 3;
/** The largest object S3 stores (a multipart upload). */
export const S3_MAX_OBJECT_BYTES = 5 * 1024 ** 4;
const FINALIZE_ATTEMPTS = 3;

export interface FinalizeKeys {
  staging: string;
  final: string;
  /** A key of this call's own, which no URL names: the copy that is hashed and then moved. */
  verifying: string;
}

export interface FinalizeSettings {
  /**
   * Accept the store's own full-object SHA-256 of the copy (when it reports one equal to the
   * declared one) instead of reading the bytes back. Only for stores known to compute it.
   */
  trustStoreChecksums: boolean;
}

/**
 * Verifies an uploaded artifact and makes it final. The staging object is only ever looked at
 * (HEAD) and copied: the bytes that are hashed are those of a copy at a private key that no upload
 * URL names, and it is that copy which is moved to the final key. A replayed upload URL landing at
 * any moment can change the staging object, never the bytes that become final.
 */
export async function finalizeUpload(
  objects: S3Objects,
  t: ArtifactTarget,
  sha256: string,
  keys: FinalizeKeys,
  settings: FinalizeSettings,
  opts: FinalizeOptions = {},
): Promise<FinalizeOutcome> {
  for (let attempt = 1; attempt <= FINALIZE_ATTEMPTS; attempt++) {
    const head = await objects.head(keys.staging);
    if (typeof head === 'string') return verifyFinal(objects, t, sha256, keys.final, head, opts);
    const refused = refuseStaged(t, sha256, head);
    if (refused !== null) {
      await objects.delete(keys.staging, head.versionId);
      return { ok: false, reason: refused };
    }
    const copy = await objects.copy(keys.staging, keys.verifying, { ifMatch: head.etag, contentType: t.contentType, size: head.size });
    if (copy === 'missing') return verifyFinal(objects, t, sha256, keys.final, 'missing', opts);
    if (copy === 'changed') continue;
    try {
      const problem = await checkCopy(objects, t, sha256, keys.verifying, copy, settings, opts);
      opts.signal?.throwIfAborted();
      if (problem === 'changed') throw new S3StorageError('GetObject', keys.verifying, null, 'the private copy changed while it was verified');
      if (problem !== null) {
        await objects.delete(keys.staging, head.versionId);
        return { ok: false, reason: problem };
      }
      const moved = await objects.copy(keys.verifying, keys.final, { ifMatch: copy.etag, contentType: t.contentType, final: true, size: head.size });
      if (typeof moved === 'string') throw new S3StorageError('CopyObject', keys.verifying, null, `the private copy is ${moved}`);
      await objects.delete(keys.staging, head.versionId);
      return { ok: true };
    } finally {
      await objects.delete(keys.verifying, copy.versionId);
    }
  }
  await objects.remove(keys.staging);
  return { ok: false, reason: `artifact "${t.path}" kept changing while it was verified` };
}

/** What HEAD alone shows to be wrong with the staged upload, or null. */
function refuseStaged(t: ArtifactTarget, sha256: string, head: ObjectHead): string | null {
  if (head.size > S3_MAX_OBJECT_BYTES) return `artifact "${t.path}" has ${head.size} bytes; S3 storage accepts at most ${S3_MAX_OBJECT_BYTES} bytes per artifact`;
  if (head.contentEncoding !== null) {
    return `artifact "${t.path}" was uploaded with Content-Encoding "${head.contentEncoding}"; upload the bytes themselves, without a Content-Encoding header`;
  }
  if (head.size !== t.sizeBytes) return `artifact "${t.path}" has ${head.size} bytes, ${t.sizeBytes} were declared`;
  if (head.sha256Base64 !== null && head.sha256Base64 !== sha256HexToBase64(sha256)) return shaMismatch(t, sha256, head.sha256Base64);
  return null;
}

/**
 * Checks the private copy: by its bytes read back, or, when store checksums are trusted, by the
 * full-object SHA-256 storage reports for it (HEAD), if it reports one equal to the declared one.
 */
async function checkCopy(
  objects: S3Objects,
  t: ArtifactTarget,
  sha256: string,
  key: string,
  copy: CopiedObject,
  settings: FinalizeSettings,
  opts: FinalizeOptions,
): Promise<string | null | 'changed'> {
  const declared64 = sha256HexToBase64(sha256);
  if (copy.sha256Base64 !== null && copy.sha256Base64 !== declared64) return shaMismatch(t, sha256, copy.sha256Base64);
  if (settings.trustStoreChecksums) {
    const head = await objects.head(key);
    if (typeof head === 'object' && head.sha256Base64 === declared64 && head.size === t.sizeBytes) return null;
  }
  const got = await objects.digest(key, copy.etag || null, opts);
  if (got === 'changed') return 'changed';
  if (typeof got === 'string') throw new S3StorageError('GetObject', key, null, `the private copy is ${got}`);
  return mismatch(t, sha256, got);
}

/** The staging object is gone: a previous finalize moved it (or it was never uploaded). */
async function verifyFinal(objects: S3Objects, t: ArtifactTarget, sha256: string, key: string, staging: Absent, opts: FinalizeOptions): Promise<FinalizeOutcome> {
  const got = await objects.digest(key, null, opts);
  if (got === 'missing' || got === 'changed') return { ok: false, reason: notUploaded(t, staging) };
  if (got === 'denied') return { ok: false, reason: notUploaded(t, 'denied') };
  const problem = mismatch(t, sha256, got);
  if (problem === null) return { ok: true };
  await objects.remove(key);
  return { ok: false, reason: problem };
}

function notUploaded(t: ArtifactTarget, why: Absent): string {
  if (why === 'missing') return `artifact "${t.path}" was not uploaded`;
  return (
    `artifact "${t.path}" was not uploaded, or the registry may not read it: storage answered 403 AccessDenied ` +
    '(S3 answers 403 for a missing object when the registry lacks s3:ListBucket on the bucket; check s3:ListBucket and s3:GetObject)'
  );
}

function mismatch(t: ArtifactTarget, sha256: string, got: { size: number; sha256: string }): string | null {
  if (got.size !== t.sizeBytes) return `artifact "${t.path}" has ${got.size} bytes, ${t.sizeBytes} were declared`;
  if (got.sha256 !== sha256) return `artifact "${t.path}" has sha256 ${got.sha256}, ${sha256} was declared`;
  return null;
}

function shaMismatch(t: ArtifactTarget, sha256: string, stored64: string): string {
  return `artifact "${t.path}" has sha256 ${Buffer.from(stored64, 'base64').toString('hex')}, ${sha256} was declared`;
}
