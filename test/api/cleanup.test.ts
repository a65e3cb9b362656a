import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StagedGroup } from '../../src/artifacts/artifact.store.js';
import { type Harness, REGISTER, type Upload, publish, put, sha256, startRegistry } from '../support/api-harness.js';
import { artifactBackends } from '../support/artifact-backends.js';

/**
 * Issue 15 (abandoned uploads): versions left PENDING_UPLOAD past their upload URLs' expiry plus
 * the grace time become FAILED ("upload expired", audited) and their staged bytes go; staged
 * bytes no version will complete go too. Upload URLs live 3 s here and the grace is 0, so a
 * version is abandoned 3 s after its last URLs were issued (long enough that a loaded machine's
 * slow request does not expire the fresh ones the test keeps). On both artifact stores.
 */
const PLAN = `{ cleanupPlan { cutoff expiredUploads { version { id status } uploadUrlsExpiredAt } orphanedStaging { modelName versionId objects bytes reason } } }`;
const RUN = `mutation { runCleanup { failedVersionIds removedStagingBytes expiredUploads { version { id } } orphanedStaging { versionId reason } } }`;
const VERSION = `query($id: ID!) { modelVersion(id: $id) { status failureReason } }`;
const TTL_SECONDS = 3;

async function register(h: Harness, model: string, bytes: Buffer): Promise<{ id: string; uploads: Upload[] }> {
  const data = await h.ok(REGISTER, {
    input: { modelName: model, modelType: 't', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'model.bin', sizeBytes: bytes.length, sha256: sha256(bytes) }] },
  });
  return { id: data.registerModelVersion.version.id, uploads: data.registerModelVersion.uploads };
}

async function staged(h: Harness): Promise<StagedGroup[]> {
  const groups: StagedGroup[] = [];
  for await (const g of h.app.artifacts.listStaged()) groups.push(g);
  return groups;
}

describe.each(artifactBackends('cleanup'))('cleanup of abandoned uploads, %s', (_name, backend) => {
  let h: Harness;
  let closeBackend: () => Promise<void>;
  beforeAll(async () => {
    const b = await backend();
    closeBackend = b.close;
    h = await startRegistry({ ...b.env, REGISTRY_UPLOAD_URL_TTL_SECONDS: String(TTL_SECONDS), REGISTRY_UPLOAD_GRACE_SECONDS: '0', REGISTRY_CLEANUP_INTERVAL_SECONDS: '0' });
  });
  afterAll(async () => {
    await h?.close();
    await closeBackend?.();
  });

  it('plans, then fails expired PENDING_UPLOAD versions with an audit event and removes their staged bytes; leaves READY and freshly re-issued ones alone', async () => {
    const bytes = randomBytes(2048);
    const never = await register(h, 'abandoned', bytes);
    const uploaded = await register(h, 'abandoned', bytes);
    expect((await put(uploaded.uploads[0]!.upload, bytes)).status).toBe(200);
    const ready = await publish(h, 'abandoned');
    const reissued = await register(h, 'abandoned', bytes);
    await sleep(TTL_SECONDS * 1000 + 100);
    await h.ok(`mutation($id: ID!) { createUploadUrls(versionId: $id) { path } }`, { id: reissued.id });

    const plan = (await h.ok(PLAN)).cleanupPlan;
    expect(plan.expiredUploads.map((e: { version: { id: string } }) => e.version.id)).toEqual([never.id, uploaded.id]);
    expect(plan.expiredUploads[0].version.status).toBe('PENDING_UPLOAD'); // a plan changes nothing
    expect((await h.ok(VERSION, { id: never.id })).modelVersion.status).toBe('PENDING_UPLOAD');

    // Fresh URLs again just before the run (a slow plan must not let them expire).
    await h.ok(`mutation($id: ID!) { createUploadUrls(versionId: $id) { path } }`, { id: reissued.id });
    const run = (await h.ok(RUN)).runCleanup;
    expect(run.failedVersionIds).toEqual([never.id, uploaded.id]);
    for (const id of [never.id, uploaded.id]) {
      expect((await h.ok(VERSION, { id })).modelVersion).toEqual({ status: 'FAILED', failureReason: 'upload expired' });
    }
    expect((await h.ok(VERSION, { id: ready })).modelVersion.status).toBe('READY');
    expect((await h.ok(VERSION, { id: reissued.id })).modelVersion.status).toBe('PENDING_UPLOAD');
    expect((await staged(h)).filter((g) => g.versionId === uploaded.id)).toEqual([]);
    const events = (await h.ok(`{ auditEvents(modelName: "abandoned", action: "MODEL_VERSION_FAILED") { edges { node { actor versionId details } } } }`)).auditEvents.edges;
    expect(events.map((e: any) => e.node.versionId).sort()).toEqual([never.id, uploaded.id].sort());
    expect(events.every((e: any) => e.node.actor === 'system:cleanup' && e.node.details.failureReason === 'upload expired')).toBe(true);
    expect((await h.ok(`{ verifyAuditLog { valid } }`)).verifyAuditLog.valid).toBe(true);
    // Completing a failed version now is refused; a second run has nothing left to do for them
    // (it may fail the re-issued one, should its fresh URLs have expired by now).
    expect(await h.code(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`, { id: uploaded.id })).toBe('FAILED_PRECONDITION');
    expect((await h.ok(RUN)).runCleanup.failedVersionIds.filter((id: string) => id !== reissued.id)).toEqual([]);
  });

  it('removes staged bytes that no version will complete, once older than the cutoff', async () => {
    const bytes = randomBytes(512);
    const ghost = { modelName: 'ghost', versionId: 'v20260101000000_0badc0de', path: 'w.bin', sizeBytes: bytes.length, contentType: 'application/octet-stream', sha256: sha256(bytes) };
    let expected: Record<string, unknown>;
    if (h.app.artifacts.engine === 's3') {
      // A crash between signing the URL and the store write: bytes staged for a version that does not exist.
      const signed = await h.app.artifacts.presignUpload(ghost, 60);
      expect((await put({ url: signed.url, method: signed.method, headers: signed.headers, expiresAt: '' }, bytes)).status).toBe(200);
      expected = { modelName: 'ghost', versionId: ghost.versionId, objects: 1, bytes: 512, reason: 'no such version' };
    } else {
      // The filesystem store takes uploads for existing PENDING_UPLOAD versions only; what a kill -9 mid-body leaves is a partial file in tmp/.
      mkdirSync(join(h.dataDir, 'artifacts', 'tmp'), { recursive: true });
      writeFileSync(join(h.dataDir, 'artifacts', 'tmp', randomUUID()), bytes);
      expected = { modelName: null, versionId: null, objects: 1, bytes: 512, reason: 'an upload cut off before its end' };
    }
    const mine = async () => (await h.ok(PLAN)).cleanupPlan.orphanedStaging.filter((o: { bytes: number }) => o.bytes === 512);
    expect(await mine()).toEqual([]); // written after the cutoff (one URL lifetime ago): left alone for now
    await sleep(TTL_SECONDS * 1000 + 600);
    expect(await mine()).toEqual([expected]);
    const run = (await h.ok(RUN)).runCleanup;
    expect(run.removedStagingBytes).toBe(512);
    expect((await staged(h)).filter((g) => g.bytes === 512)).toEqual([]);
  });

  it('is for unscoped admins only, and answers CONFLICT while another process holds the cleanup lease', async () => {
    const publisher = await h.token('PUBLISHER');
    const scopedAdmin = await h.token('ADMIN', { modelScope: 'abandoned' });
    expect(await h.as(publisher.secret).code(PLAN)).toBe('FORBIDDEN');
    expect(await h.as(publisher.secret).code(RUN)).toBe('FORBIDDEN');
    expect(await h.as(scopedAdmin.secret).code(PLAN)).toBe('FORBIDDEN');
    expect(await h.as(scopedAdmin.secret).code(RUN)).toBe('FORBIDDEN');
    expect(await h.app.store.acquireLease('cleanup:abandoned-uploads', 'another-process', 60_000)).toBe(true);
    try {
      expect(await h.code(RUN)).toBe('CONFLICT');
    } finally {
      await h.app.store.releaseLease('cleanup:abandoned-uploads', 'another-process');
    }
    expect((await h.gql(RUN)).errors).toBeUndefined();
  });
});

describe('cleanup in the background', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRegistry({ REGISTRY_UPLOAD_URL_TTL_SECONDS: '1', REGISTRY_UPLOAD_GRACE_SECONDS: '0', REGISTRY_CLEANUP_INTERVAL_SECONDS: '1' });
  });
  afterAll(async () => h?.close());

  it('fails an abandoned version on its own, and frees the lease after each run', async () => {
    const v = await register(h, 'left', randomBytes(64));
    const deadline = Date.now() + 20_000;
    let status = 'PENDING_UPLOAD';
    while (status === 'PENDING_UPLOAD' && Date.now() < deadline) {
      await sleep(200);
      status = (await h.ok(VERSION, { id: v.id })).modelVersion.status;
    }
    expect(status).toBe('FAILED');
    // Released after each run (the run that failed it may still be finishing: auditing, removing bytes).
    await expect.poll(() => h.app.store.getLease('cleanup:abandoned-uploads')).toBeNull();
  });
});
