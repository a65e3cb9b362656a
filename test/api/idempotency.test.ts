import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, REGISTER, promote, publish, put, sha256, startRegistry, stats } from '../support/api-harness.js';
import { twoServerProcesses } from '../support/server-process.js';

/** Idempotency keys over real HTTP (issue 11): safe retries of registerModelVersion, promoteModelVersion and rollbackModel. */
const weights = Buffer.from('idempotent weights');
const input = (modelName: string, extra: Record<string, unknown> = {}) => ({
  modelName, modelType: 'rf', datasetVersion: 'ds-1', metrics: [{ name: 'roc_auc', value: 0.9 }],
  artifacts: [{ path: 'model.bin', sizeBytes: weights.length, sha256: sha256(weights) }], ...extra,
});
const ROLLBACK = `mutation($input: RollbackInput!) { rollbackModel(input: $input) { id action status version { id } } }`;

describe('idempotency keys over HTTP, one server', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRegistry();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers a retried registration with the same version and fresh upload URLs while it is PENDING_UPLOAD, then with no uploads', async () => {
    const first = (await h.ok(REGISTER, { input: input('idem-reg', { idempotencyKey: 'ci-run-42:push' }) })).registerModelVersion;
    const again = (await h.ok(REGISTER, { input: input('idem-reg', { idempotencyKey: 'ci-run-42:push' }) })).registerModelVersion;
    expect(again.version).toEqual(first.version);
    expect(again.uploads).toHaveLength(1);
    expect((await put(again.uploads[0].upload, weights)).status).toBe(200);
    const done = await h.ok(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`, { id: first.version.id });
    expect(done.completeModelVersionUpload.status).toBe('READY');
    const after = (await h.ok(REGISTER, { input: input('idem-reg', { idempotencyKey: 'ci-run-42:push' }) })).registerModelVersion;
    expect(after).toEqual({ version: { ...first.version, status: 'READY' }, uploads: [] });
    expect((await h.ok(`{ model(name: "idem-reg") { versionCount } }`)).model.versionCount).toBe(1);
    const events = await h.ok(`{ auditEvents(modelName: "idem-reg", first: 10) { edges { node { action details } } } }`);
    const registered = events.auditEvents.edges.map((e: { node: { action: string; details: Record<string, unknown> } }) => e.node).filter((n: { action: string }) => n.action === 'MODEL_VERSION_REGISTERED');
    expect(registered).toHaveLength(1);
    expect(registered[0].details.idempotencyKey).toBe('ci-run-42:push');
  });

  it('refuses the same key with another input as CONFLICT naming the key, and writes nothing', async () => {
    await h.ok(REGISTER, { input: input('idem-conflict', { idempotencyKey: 'k1' }) });
    const before = await stats(h);
    const r = await h.gql(REGISTER, { input: input('idem-conflict', { idempotencyKey: 'k1', datasetVersion: 'ds-2' }) });
    expect(r.errors?.[0]?.extensions.code).toBe('CONFLICT');
    expect(r.errors?.[0]?.message).toContain('"k1"');
    expect(await stats(h)).toEqual(before);
  });

  it('keeps keys per model', async () => {
    const a = (await h.ok(REGISTER, { input: input('idem-a', { idempotencyKey: 'same-key' }) })).registerModelVersion.version;
    const b = (await h.ok(REGISTER, { input: input('idem-b', { idempotencyKey: 'same-key' }) })).registerModelVersion.version;
    expect(a.modelName).toBe('idem-a');
    expect(b.modelName).toBe('idem-b');
    expect(a.id).not.toBe(b.id);
  });

  it('refuses a malformed key as BAD_USER_INPUT naming the field, writing nothing', async () => {
    const before = await stats(h);
    for (const bad of ['', 'has space', 'x'.repeat(201), 'slash/no']) {
      const r = await h.gql(REGISTER, { input: input('idem-bad', { idempotencyKey: bad }) });
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.idempotencyKey' });
    }
    expect((await promote(h, 'v20260101000000_00000000', { idempotencyKey: 'a b' })).errors?.[0]?.extensions).toMatchObject({ field: 'input.idempotencyKey' });
    expect((await h.gql(ROLLBACK, { input: { modelName: 'idem-bad', idempotencyKey: '' } })).errors?.[0]?.extensions).toMatchObject({ field: 'input.idempotencyKey' });
    expect(await stats(h)).toEqual(before);
  });

  it('answers a retried promotion with the same deployment, even after another promotion moved the pointer', async () => {
    const v1 = await publish(h, 'idem-dep');
    const v2 = await publish(h, 'idem-dep');
    const first = await promote(h, v1, { idempotencyKey: 'promote-v1' });
    expect(first.errors).toBeUndefined();
    const retry = await promote(h, v1, { idempotencyKey: 'promote-v1' });
    expect(retry.data.promoteModelVersion.id).toBe(first.data.promoteModelVersion.id);
    await promote(h, v2);
    const late = await promote(h, v1, { idempotencyKey: 'promote-v1' });
    expect(late.data.promoteModelVersion).toMatchObject({ id: first.data.promoteModelVersion.id, active: false });
    expect((await h.ok(`{ productionModel(modelName: "idem-dep") { id } }`)).productionModel.id).toBe(v2);
    const other = await promote(h, v2, { idempotencyKey: 'promote-v1' });
    expect(other.errors?.[0]?.extensions.code).toBe('CONFLICT');
    expect(other.errors?.[0]?.message).toContain('"promote-v1"');

    const back = await h.gql(ROLLBACK, { input: { modelName: 'idem-dep', idempotencyKey: 'rb-1' } });
    expect(back.data.rollbackModel).toMatchObject({ action: 'ROLLBACK', version: { id: v1 } });
    const backAgain = await h.gql(ROLLBACK, { input: { modelName: 'idem-dep', idempotencyKey: 'rb-1' } });
    expect(backAgain.data.rollbackModel.id).toBe(back.data.rollbackModel.id);
    expect((await h.ok(`{ productionModel(modelName: "idem-dep") { id } }`)).productionModel.id).toBe(v1);
  });

  it('answers a retried refused promotion with the same refusal, recording it once', async () => {
    const base = await publish(h, 'idem-refused', { metrics: [{ name: 'roc_auc', value: 0.9 }] });
    await promote(h, base);
    const worse = await publish(h, 'idem-refused', { metrics: [{ name: 'roc_auc', value: 0.5 }] });
    const policy = { requireImprovement: { metric: 'roc_auc' }, idempotencyKey: 'refuse-me' };
    const first = await promote(h, worse, policy);
    expect(first.errors?.[0]?.extensions.code).toBe('FAILED_PRECONDITION');
    const before = await stats(h);
    const retry = await promote(h, worse, policy);
    expect(retry.errors?.[0]).toMatchObject({ message: first.errors![0]!.message, extensions: { code: 'FAILED_PRECONDITION' } });
    expect(await stats(h)).toEqual(before);
    const failed = await h.ok(`{ deploymentHistory(modelName: "idem-refused") { edges { node { status } } } }`);
    expect(failed.deploymentHistory.edges.filter((e: { node: { status: string } }) => e.node.status === 'FAILED')).toHaveLength(1);
  });

  it('does not remember a refusal that a retry can overcome: a version still waiting for its files', async () => {
    const bytes = Buffer.from('pending, then ready');
    const data = await h.ok(REGISTER, { input: { ...input('idem-pending'), artifacts: [{ path: 'm.bin', sizeBytes: bytes.length, sha256: sha256(bytes) }] } });
    const { version, uploads } = data.registerModelVersion as { version: { id: string }; uploads: { upload: Parameters<typeof put>[0] }[] };
    const key = { idempotencyKey: 'deploy-when-ready' };
    expect((await promote(h, version.id, key)).errors?.[0]?.extensions.code).toBe('FAILED_PRECONDITION');
    expect((await put(uploads[0]!.upload, bytes)).status).toBe(200);
    await h.ok(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`, { id: version.id });
    // Before: the same key answered the stored refusal for 24 h, although the version is READY now.
    const retry = await promote(h, version.id, key);
    expect(retry.errors).toBeUndefined();
    expect(retry.data.promoteModelVersion).toMatchObject({ status: 'SUCCEEDED', version: { id: version.id } });
  });
});

/** The same key sent at the same time to two server processes on one store: the store, not memory, keeps it unique. */
describe(`idempotency keys across two server processes on one ${process.env.MONGODB_URI ? 'MongoDB database' : 'SQLite file'}`, () => {
  const two = twoServerProcesses('idem');
  const gql = (i: number, query: string, variables?: unknown) => two.gql(i, query, variables);

  it('gives every concurrent retry of one keyed registration the same single version', async () => {
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => gql(i, REGISTER, { input: input('idem-two', { idempotencyKey: 'retry-storm' }) })));
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    const ids = new Set(results.map((r) => r.data.registerModelVersion.version.id));
    expect(ids.size).toBe(1);
    expect(results.every((r) => r.data.registerModelVersion.uploads.length === 1)).toBe(true);
    const model = await gql(0, `{ model(name: "idem-two") { versionCount } }`);
    expect(model.data.model.versionCount).toBe(1);
  }, 60_000);

  it('gives every concurrent retry of one keyed promotion the same deployment, and keeps the audit chain whole', async () => {
    const reg = await gql(0, REGISTER, { input: input('idem-two-dep') });
    const { version, uploads } = reg.data.registerModelVersion;
    expect((await put(uploads[0].upload, weights)).status).toBe(200);
    expect((await gql(1, `mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`, { id: version.id })).data.completeModelVersionUpload.status).toBe('READY');
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      gql(i, `mutation($input: PromoteInput!) { promoteModelVersion(input: $input) { id status } }`, { input: { versionId: version.id, environment: 'staging', idempotencyKey: 'deploy-1' } })));
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(new Set(results.map((r) => r.data.promoteModelVersion.id)).size).toBe(1);
    const history = await gql(1, `{ deploymentHistory(modelName: "idem-two-dep") { totalCount } verifyAuditLog { valid } }`);
    expect(history.data).toEqual({ deploymentHistory: { totalCount: 1 }, verifyAuditLog: { valid: true } });
  }, 60_000);
});
