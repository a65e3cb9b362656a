import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactTarget } from '../../src/artifacts/artifact.store.js';
import { S3ArtifactStore, type S3ArtifactStoreOptions } from '../../src/artifacts/s3/s3-artifact.store.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { CapturingHandler, type SentRequest } from '../support/capturing-handler.js';
import { type S3rverHandle, s3rverClientConfig, startS3rver } from '../support/s3rver.js';

/**
 * S3 Object Lock on final objects (issue 15, retention). s3rver ignores Object Lock, so this checks
 * the headers the store SENDS with each CopyObject (a CapturingHandler passes every request,
 * unchanged, to s3rver), not what storage does with them.
 */
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const DAY = 86_400_000;

describe('S3 Object Lock on final objects (headers sent; s3rver does not enforce them)', () => {
  let s3: S3rverHandle;
  const stores: S3ArtifactStore[] = [];
  beforeAll(async () => {
    s3 = await startS3rver('locked');
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await s3?.close();
  });

  async function finalizeOne(extra: Partial<S3ArtifactStoreOptions>): Promise<{ copies: SentRequest[]; store: S3ArtifactStore; t: ArtifactTarget }> {
    const capture = new CapturingHandler();
    const store = await S3ArtifactStore.open({
      bucket: s3.bucket, region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials,
      clientConfig: { ...s3rverClientConfig, requestHandler: capture.handler }, ...extra,
    });
    stores.push(store);
    const bytes = randomBytes(4096);
    const t: ArtifactTarget = { modelName: 'iris', versionId: `v${randomBytes(4).toString('hex')}`, path: 'model.bin', sizeBytes: bytes.length, contentType: 'application/octet-stream', sha256: sha(bytes) };
    const up = await store.presignUpload(t, 60);
    const res = await fetch(up.url, { method: 'PUT', body: bytes, headers: Object.fromEntries(up.headers.map((h) => [h.name, h.value])) });
    expect(res.status).toBe(200);
    expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
    const copies = capture.sent.filter((r) => r.method === 'PUT' && r.headers['x-amz-copy-source'] !== undefined);
    return { copies, store, t };
  }

  it('locks the final copy in the configured mode until now + the retention days; the private verifying copy is never locked', async () => {
    const before = Date.now();
    const { copies, t } = await finalizeOne({ objectLock: { mode: 'COMPLIANCE', retainDays: 2557 } });
    const after = Date.now();
    expect(copies).toHaveLength(2); // staging → verifying, verifying → final
    const [toVerifying, toFinal] = copies as [SentRequest, SentRequest];
    expect(toVerifying.path).toContain('/_verifying/');
    expect(toVerifying.headers['x-amz-object-lock-mode']).toBeUndefined();
    expect(toVerifying.headers['x-amz-object-lock-retain-until-date']).toBeUndefined();
    expect(toFinal.path).toMatch(new RegExp(`/iris/${t.versionId}/model\\.bin$`));
    expect(toFinal.headers['x-amz-object-lock-mode']).toBe('COMPLIANCE');
    // Sent as an ISO 8601 date-time: seven years from the copy (the header has whole seconds at least).
    const until = new Date(toFinal.headers['x-amz-object-lock-retain-until-date']!).getTime();
    expect(until).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 2557 * DAY);
    expect(until).toBeLessThanOrEqual(after + 2557 * DAY);
  });

  it('sends GOVERNANCE when configured, and no Object Lock header at all when it is off', async () => {
    const governed = await finalizeOne({ objectLock: { mode: 'GOVERNANCE', retainDays: 1 } });
    expect(governed.copies.at(-1)!.headers['x-amz-object-lock-mode']).toBe('GOVERNANCE');
    const plain = await finalizeOne({});
    for (const c of plain.copies) {
      expect(Object.keys(c.headers).filter((h) => h.startsWith('x-amz-object-lock'))).toEqual([]);
    }
  });

  it('configuration: S3_OBJECT_LOCK_MODE needs S3_BUCKET and a retention of at least one day; REGISTRY_RETENTION_DAYS is validated', () => {
    const base = { S3_BUCKET: 'models', S3_ENDPOINT: 'http://127.0.0.1:9000' };
    expect(loadConfig({ ...base, S3_OBJECT_LOCK_MODE: 'COMPLIANCE' }).s3?.objectLock).toEqual({ mode: 'COMPLIANCE', retainDays: 2557 });
    expect(loadConfig({ ...base, S3_OBJECT_LOCK_MODE: 'GOVERNANCE', REGISTRY_RETENTION_DAYS: '30' }).s3?.objectLock).toEqual({ mode: 'GOVERNANCE', retainDays: 30 });
    expect(loadConfig(base).s3?.objectLock).toBeNull();
    expect(loadConfig({}).retentionDays).toBe(2557);
    expect(loadConfig({ REGISTRY_RETENTION_DAYS: '0' }).retentionDays).toBe(0);
    expect(() => loadConfig({ S3_OBJECT_LOCK_MODE: 'COMPLIANCE' })).toThrow(/S3_OBJECT_LOCK_MODE: is set but S3_BUCKET is not/);
    expect(() => loadConfig({ ...base, S3_OBJECT_LOCK_MODE: 'COMPLIANCE', REGISTRY_RETENTION_DAYS: '0' })).toThrow(/S3_OBJECT_LOCK_MODE: needs REGISTRY_RETENTION_DAYS of at least 1/);
    expect(() => loadConfig({ ...base, S3_OBJECT_LOCK_MODE: 'compliance' })).toThrow(ConfigError);
    for (const bad of ['-1', '1.5', 'seven', '36501']) expect(() => loadConfig({ REGISTRY_RETENTION_DAYS: bad })).toThrow(/REGISTRY_RETENTION_DAYS/);
  });
});
