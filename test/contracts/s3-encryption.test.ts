import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactTarget, PresignedRequest } from '../../src/artifacts/artifact.store.js';
import { S3ArtifactStore } from '../../src/artifacts/s3/s3-artifact.store.js';
import { loadConfig } from '../../src/config.js';
import { CapturingHandler } from '../support/capturing-handler.js';
import { type S3rverHandle, s3rverClientConfig, startS3rver } from '../support/s3rver.js';

/**
 * Issue 15, encryption at rest on S3: server-side encryption is on by default (S3_SSE=AES256) and
 * every write the registry makes or signs asks for it. s3rver (a local S3 emulator, not AWS or
 * MinIO) accepts SSE headers without encrypting anything, so what is checked here is what the
 * store SENDS: the headers signed into presigned PUTs, and those on CopyObject and PutObject.
 */
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const headersOf = (r: PresignedRequest): Record<string, string> => Object.fromEntries(r.headers.map((h) => [h.name, h.value]));

describe('S3 server-side encryption headers sent (on s3rver)', () => {
  let s3: S3rverHandle;
  const stores: S3ArtifactStore[] = [];
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    for (const s of stores) s.close();
    await s3?.close();
  });

  /** The store as the server opens it from these settings, every request it sends recorded. */
  async function fromConfig(env: Record<string, string>): Promise<{ store: S3ArtifactStore; capture: CapturingHandler }> {
    const c = loadConfig({ S3_BUCKET: s3.bucket, ...env }).s3!;
    const capture = new CapturingHandler();
    const store = await S3ArtifactStore.open({
      bucket: s3.bucket, region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials,
      sse: c.sse, kmsKeyId: c.kmsKeyId, clientConfig: { ...s3rverClientConfig, requestHandler: capture.handler },
    });
    stores.push(store);
    return { store, capture };
  }

  /** Uploads through the presigned URL, finalizes (two CopyObjects) and writes a checkpoint (a PutObject). */
  async function exercise(store: S3ArtifactStore): Promise<PresignedRequest> {
    const bytes = randomBytes(2000);
    const t: ArtifactTarget = { modelName: 'iris', versionId: `v${randomBytes(4).toString('hex')}`, path: 'm.bin', sizeBytes: bytes.length, contentType: 'application/octet-stream', sha256: sha(bytes) };
    const up = await store.presignUpload(t, 60);
    expect((await fetch(up.url, { method: 'PUT', body: bytes, headers: headersOf(up) })).status).toBe(200);
    expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
    await store.writeAuditCheckpoint(`${String(Date.now() * 1000 + Math.floor(Math.random() * 1000)).padStart(16, '0')}.json`, Buffer.from('{}'));
    return up;
  }

  const writes = (capture: CapturingHandler) => ({
    copies: capture.sent.filter((r) => r.method === 'PUT' && r.headers['x-amz-copy-source']),
    puts: capture.sent.filter((r) => r.method === 'PUT' && !r.headers['x-amz-copy-source']),
  });

  it('by default (S3_SSE unset): AES256 signed into the upload URL and sent on every CopyObject and PutObject', async () => {
    expect(loadConfig({ S3_BUCKET: 'models' }).s3?.sse).toBe('AES256');
    const { store, capture } = await fromConfig({});
    const up = await exercise(store);
    expect(up.headers).toContainEqual({ name: 'x-amz-server-side-encryption', value: 'AES256' });
    expect(new URL(up.url).searchParams.get('X-Amz-SignedHeaders')?.split(';')).toContain('x-amz-server-side-encryption');
    expect(new URL(up.url).searchParams.has('x-amz-server-side-encryption')).toBe(false); // a header, not a query parameter
    const { copies, puts } = writes(capture);
    expect(copies).toHaveLength(2); // staging → private copy → final
    expect(puts).toHaveLength(1); // the audit checkpoint
    for (const r of [...copies, ...puts]) {
      expect(r.headers['x-amz-server-side-encryption'], r.path).toBe('AES256');
      expect(r.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBeUndefined();
    }
  });

  it('with S3_SSE=aws:kms: the key id signed into the upload URL and sent on every CopyObject and PutObject', async () => {
    const { store, capture } = await fromConfig({ S3_SSE: 'aws:kms', S3_SSE_KMS_KEY_ID: 'alias/registry' });
    const up = await exercise(store);
    expect(up.headers).toEqual(expect.arrayContaining([
      { name: 'x-amz-server-side-encryption', value: 'aws:kms' },
      { name: 'x-amz-server-side-encryption-aws-kms-key-id', value: 'alias/registry' },
    ]));
    expect(new URL(up.url).searchParams.get('X-Amz-SignedHeaders')?.split(';')).toEqual(
      expect.arrayContaining(['x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id']),
    );
    const { copies, puts } = writes(capture);
    expect(copies.length + puts.length).toBe(3);
    for (const r of [...copies, ...puts]) {
      expect(r.headers['x-amz-server-side-encryption'], r.path).toBe('aws:kms');
      expect(r.headers['x-amz-server-side-encryption-aws-kms-key-id'], r.path).toBe('alias/registry');
    }
  });

  it('with S3_SSE=none (acknowledged): no SSE header anywhere', async () => {
    const { store, capture } = await fromConfig({ S3_SSE: 'none', S3_SSE_NONE_ACKNOWLEDGED: 'true' });
    const up = await exercise(store);
    expect(up.headers.map((h) => h.name)).not.toContain('x-amz-server-side-encryption');
    for (const r of capture.sent) expect(r.headers['x-amz-server-side-encryption']).toBeUndefined();
  });
});

describe('S3 encryption settings (issue 15)', () => {
  it('refuses S3_SSE=none without S3_SSE_NONE_ACKNOWLEDGED=true, saying how to proceed', () => {
    expect(() => loadConfig({ S3_BUCKET: 'models', S3_SSE: 'none' })).toThrow(/S3_SSE: none stores artifacts without server-side encryption.*S3_SSE_NONE_ACKNOWLEDGED=true/);
    expect(() => loadConfig({ S3_BUCKET: 'models', S3_SSE: 'none', S3_SSE_NONE_ACKNOWLEDGED: 'false' })).toThrow(/S3_SSE: none/);
    expect(loadConfig({ S3_BUCKET: 'models', S3_SSE: 'none', S3_SSE_NONE_ACKNOWLEDGED: 'true' }).s3?.sse).toBe('none');
  });

  it('refuses the acknowledgement with another mode, the embedded store\'s settings with S3, and S3_SSE without a bucket', () => {
    expect(() => loadConfig({ S3_BUCKET: 'models', S3_SSE_NONE_ACKNOWLEDGED: 'true' })).toThrow(/S3_SSE_NONE_ACKNOWLEDGED: is only used with S3_SSE=none/);
    expect(() => loadConfig({ S3_BUCKET: 'models', REGISTRY_ENCRYPTION: 'off' })).toThrow(/REGISTRY_ENCRYPTION: is for the embedded artifact store/);
    expect(() => loadConfig({ S3_BUCKET: 'models', REGISTRY_ENCRYPTION_KEY_FILE: '/k' })).toThrow(/REGISTRY_ENCRYPTION_KEY_FILE: is for the embedded artifact store/);
    expect(() => loadConfig({ S3_SSE: 'none' })).toThrow(/S3_SSE: is set but S3_BUCKET is not/);
    expect(() => loadConfig({ S3_SSE: 'aws:kms', S3_BUCKET: 'models' })).toThrow(/S3_SSE_KMS_KEY_ID: is required/);
  });

  it('embedded mode: encryption on by default with the key beside the data; off only for the benchmark, without a key file', () => {
    expect(loadConfig({}).encryption).toEqual({ enabled: true, keyFile: null });
    expect(loadConfig({ REGISTRY_ENCRYPTION_KEY_FILE: '/secrets/k' }).encryption).toEqual({ enabled: true, keyFile: '/secrets/k' });
    expect(loadConfig({ REGISTRY_ENCRYPTION: 'off' }).encryption.enabled).toBe(false);
    expect(() => loadConfig({ REGISTRY_ENCRYPTION: 'off', REGISTRY_ENCRYPTION_KEY_FILE: '/k' })).toThrow(/REGISTRY_ENCRYPTION_KEY_FILE: is set but REGISTRY_ENCRYPTION is off/);
    expect(() => loadConfig({ REGISTRY_ENCRYPTION: 'no' })).toThrow(/REGISTRY_ENCRYPTION: must be on or off/);
  });
});
