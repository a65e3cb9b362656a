import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../src/artifacts/artifact.store.js';
import type { RegistryStore } from '../../src/stores/registry.store.js';
import { type FaultSwitch, withFaults } from '../support/faults.js';
import { type Harness, REGISTER, promote, publish, put, sha256, startRegistry, stats } from '../support/api-harness.js';

/**
 * A failure half-way (storage down, the store failing between steps) loses nothing and leaves
 * nothing the registry cannot finish: the same call, repeated, completes the work.
 */
describe('failures half-way', () => {
  let h: Harness;
  let storage: FaultSwitch;
  let store: FaultSwitch;
  beforeAll(async () => {
    h = await startRegistry({}, {
      wrapArtifacts: (a: ArtifactStore) => {
        const w = withFaults(a);
        storage = w.faults;
        return w.proxy;
      },
      wrapStore: (s: RegistryStore) => {
        const w = withFaults(s);
        store = w.faults;
        return w.proxy;
      },
    });
  });
  afterAll(async () => {
    await h.close();
  });
  const status = async (id: string) => (await h.ok(`query($id: ID!) { modelVersion(id: $id) { status failureReason } }`, { id })).modelVersion;
  const complete = (id: string) => h.gql(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`, { id });

  it('registration with storage down writes nothing', async () => {
    const before = await stats(h);
    storage.fail('presignUpload');
    const r = await h.gql(REGISTER, { input: { modelName: 'down', modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm', sizeBytes: 1, sha256: sha256('x') }] } });
    expect(r.errors?.[0]?.extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(await stats(h)).toEqual(before);
    expect((await h.ok(`{ model(name: "down") { name } }`)).model).toBeNull();
  });

  it('completion with storage down leaves the version pending; repeating it finishes', async () => {
    const id = await publish(h, 'flaky', { complete: false });
    storage.fail('finalize');
    expect((await complete(id)).errors?.[0]?.extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(await status(id)).toEqual({ status: 'PENDING_UPLOAD', failureReason: null });
    expect((await complete(id)).data.completeModelVersionUpload.status).toBe('READY');
  });

  it('completion whose status write fails after the files moved is finished by repeating it', async () => {
    const bytes = { 'a.bin': Buffer.from('first file'), 'b.bin': Buffer.from('second file') };
    const id = await publish(h, 'moved', { files: bytes, complete: false });
    store.fail('transitionVersion');
    expect((await complete(id)).errors?.[0]?.extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect((await status(id)).status).toBe('PENDING_UPLOAD');
    expect((await complete(id)).data.completeModelVersionUpload.status).toBe('READY');
    const dl = await h.ok(`query($id: ID!) { modelVersion(id: $id) { artifacts { path downloadUrl { url } } } }`, { id });
    for (const a of dl.modelVersion.artifacts) {
      expect(Buffer.from(await (await fetch(a.downloadUrl.url)).arrayBuffer())).toEqual(bytes[a.path as keyof typeof bytes]);
    }
  });

  it('a failed promotion write changes nothing; the same promotion then succeeds', async () => {
    const a = await publish(h, 'promo');
    const b = await publish(h, 'promo');
    await promote(h, a);
    const before = await stats(h);
    store.fail('moveDeploymentPointer');
    expect((await promote(h, b)).errors?.[0]?.extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(await stats(h)).toEqual(before);
    expect((await h.ok(`{ productionModel(modelName: "promo") { id } }`)).productionModel.id).toBe(a);
    expect((await promote(h, b)).data.promoteModelVersion.previousVersion.id).toBe(a);
    expect((await h.ok(`{ verifyAuditLog { valid } }`)).verifyAuditLog.valid).toBe(true);
  });

  it('an upload to an expired URL is refused, and fresh URLs let the client finish', async () => {
    const bytes = Buffer.from('slow client');
    const r = await h.ok(REGISTER, { input: { modelName: 'slow', modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm', sizeBytes: bytes.length, sha256: sha256(bytes) }] } });
    const forged = { ...r.registerModelVersion.uploads[0].upload, url: r.registerModelVersion.uploads[0].upload.url.replace(/expires=\d+/, 'expires=1') };
    expect((await put(forged, bytes)).status).toBe(403);
    const fresh = await h.ok(`mutation($id: ID!) { createUploadUrls(versionId: $id) { upload { url method headers { name value } expiresAt } } }`, { id: r.registerModelVersion.version.id });
    expect((await put(fresh.createUploadUrls[0].upload, bytes)).status).toBe(200);
    expect((await complete(r.registerModelVersion.version.id)).data.completeModelVersionUpload.status).toBe('READY');
  });
});
