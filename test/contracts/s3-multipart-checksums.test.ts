import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactTarget } from '../../src/artifacts/artifact.store.js';
import { S3ArtifactStore } from '../../src/artifacts/s3/s3-artifact.store.js';
import { CapturingHandler } from '../support/capturing-handler.js';
import { type S3rverHandle, s3rverClientConfig, startS3rver } from '../support/s3rver.js';

/**
 * Per-part SHA-256 of multipart uploads on S3, as the store SENDS it (s3rver ignores checksums, so
 * storage's refusal cannot be shown here; AWS and MinIO refuse a part or a completion that does not
 * match): the upload begun for SHA-256 part checksums, each part URL signed with its
 * x-amz-checksum-sha256 as a header, and CompleteMultipartUpload naming each part's ChecksumSHA256.
 */
const PART = 64 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest();

describe('S3 multipart uploads with part checksums, on s3rver (what the store sends)', () => {
  let s3: S3rverHandle;
  let store: S3ArtifactStore;
  const capture = new CapturingHandler();
  beforeAll(async () => {
    s3 = await startS3rver();
    store = await S3ArtifactStore.open({
      bucket: s3.bucket, region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials,
      clientConfig: { ...s3rverClientConfig, requestHandler: capture.handler },
    });
  });
  afterAll(async () => {
    await store?.close();
    await s3?.close();
  });
  const target = (bytes: Buffer): ArtifactTarget => ({
    modelName: 'iris', versionId: `v${randomBytes(4).toString('hex')}`, path: 'w.bin', sizeBytes: bytes.length,
    contentType: 'application/octet-stream', sha256: sha(bytes).toString('hex'), multipart: true,
  });
  const creates = (t: ArtifactTarget) => capture.sent.filter((r) => r.method === 'POST' && 'uploads' in r.query && r.path.includes(t.versionId));

  it('begins the upload with ChecksumAlgorithm SHA256, signs each part URL with its checksum header, and completes naming every part\'s ChecksumSHA256', async () => {
    const bytes = randomBytes(2 * PART + 10);
    const parts = [0, 1, 2].map((i) => bytes.subarray(i * PART, (i + 1) * PART));
    const t = target(bytes);
    const mp = store.multipart;
    const handle = await mp.begin(t, PART, parts.map((p) => sha(p).toString('hex')));
    expect(creates(t).map((r) => r.headers['x-amz-checksum-algorithm'])).toEqual(['SHA256']);
    const etags: string[] = [];
    for (const [i, body] of parts.entries()) {
      const url = await mp.presignPart(t, handle, i + 1, body.length, 60);
      const q = new URL(url.url).searchParams;
      expect(q.get('X-Amz-SignedHeaders')!.split(';')).toContain('x-amz-checksum-sha256');
      expect([...q.keys()].map((k) => k.toLowerCase())).not.toContain('x-amz-checksum-sha256'); // a header, never hoisted
      expect(url.headers).toEqual([{ name: 'x-amz-checksum-sha256', value: sha(body).toString('base64') }]);
      const res = await fetch(url.url, { method: 'PUT', body, headers: Object.fromEntries(url.headers.map((h) => [h.name, h.value])) });
      expect(res.status).toBe(200);
      etags.push(res.headers.get('etag')!);
    }
    expect(await mp.join(t, handle, etags.map((etag, i) => ({ partNumber: i + 1, etag })))).toEqual({ ok: true });
    const complete = capture.sent.filter((r) => r.method === 'POST' && 'uploadId' in r.query && r.path.includes(t.versionId));
    expect(complete).toHaveLength(1);
    const named = [...complete[0]!.body!.matchAll(/<ChecksumSHA256>([^<]+)<\/ChecksumSHA256>/g)].map((m) => m[1]);
    expect(named).toEqual(parts.map((p) => sha(p).toString('base64')));
    // The composite is never a full-object SHA-256: finalize still reads the bytes back, and they are right.
    expect(await store.finalize(t, sha(bytes).toString('hex'))).toEqual({ ok: true });
  });

  it('without part hashes: no checksum algorithm, no checksum header, no ChecksumSHA256 at completion (as before)', async () => {
    const bytes = randomBytes(PART + 5);
    const t = target(bytes);
    const mp = store.multipart;
    const handle = await mp.begin(t, PART);
    expect(creates(t).map((r) => r.headers['x-amz-checksum-algorithm'])).toEqual([undefined]);
    const etags: string[] = [];
    for (const n of [1, 2]) {
      const body = bytes.subarray((n - 1) * PART, n * PART);
      const url = await mp.presignPart(t, handle, n, body.length, 60);
      expect(new URL(url.url).searchParams.get('X-Amz-SignedHeaders')!.split(';')).not.toContain('x-amz-checksum-sha256');
      etags.push((await fetch(url.url, { method: 'PUT', body })).headers.get('etag')!);
    }
    expect(await mp.join(t, handle, etags.map((etag, i) => ({ partNumber: i + 1, etag })))).toEqual({ ok: true });
    const complete = capture.sent.filter((r) => r.method === 'POST' && 'uploadId' in r.query && r.path.includes(t.versionId));
    expect(complete[0]!.body).not.toContain('ChecksumSHA256');
  });
});
