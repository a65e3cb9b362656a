import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactBackends } from '../support/artifact-backends.js';
import { ENV_ADMIN_ACTOR, type Harness, REGISTER, promote, publish, put, sha256, startRegistry, stats } from '../support/api-harness.js';

/** The artifact stores behind the API: see test/support/artifact-backends.ts. */
const backends = artifactBackends('lifecycle', { S3_PREFIX: 'registry' });

/** The whole lifecycle over real HTTP: register, upload, complete, promote, download, compare, roll back, audit. */
describe.each(backends)('model lifecycle over HTTP, %s', (_name, backend) => {
  let h: Harness;
  let closeBackend: () => Promise<void>;
  beforeAll(async () => {
    const b = await backend();
    closeBackend = b.close;
    h = await startRegistry(b.env);
  });
  afterAll(async () => {
    await h?.close();
    await closeBackend?.();
  });

  it('registers a version with all its metadata, uploads through presigned URLs and becomes READY', async () => {
    const weights = Buffer.from('pretend these are pickled weights');
    const config = Buffer.from('{"threshold":0.5}');
    const hyper = { n_estimators: 200, max_depth: null, 'class.weight': { $balanced: true }, layers: [64, 32] };
    const data = await h.ok(REGISTER.replace('version { id number status modelName }', 'version { id number status modelName hyperparameters metrics { name value } featureNames tags description datasetVersion modelType training { trainedAt durationSeconds trainingSamples validationSamples } createdBy createdAt artifacts { path sizeBytes sha256 contentType downloadUrl { url } } }'), {
      input: {
        modelName: 'churn',
        modelType: 'xgboost',
        datasetVersion: 'customers-2026-11',
        metrics: [{ name: 'roc_auc', value: 0.91 }, { name: 'accuracy', value: 0.88 }, { name: 'pr_auc', value: 0.7 }, { name: 'f1', value: 0.8 }],
        hyperparameters: hyper,
        featureNames: ['tenure', 'plan', 'spend'],
        training: { trainedAt: '2026-11-28T10:00:00.123Z', durationSeconds: 312.5, trainingSamples: 80000, validationSamples: 20000 },
        description: 'weekly retrain',
        tags: ['weekly', 'gpu'],
        artifacts: [
          { path: 'model.bin', sizeBytes: weights.length, sha256: sha256(weights) },
          { path: 'conf/config.json', sizeBytes: config.length, sha256: sha256(config), contentType: 'application/json' },
        ],
      },
    });
    const { version, uploads } = data.registerModelVersion;
    expect(version).toMatchObject({
      number: 1,
      status: 'PENDING_UPLOAD',
      modelName: 'churn',
      hyperparameters: hyper,
      featureNames: ['tenure', 'plan', 'spend'],
      tags: ['weekly', 'gpu'],
      description: 'weekly retrain',
      createdBy: ENV_ADMIN_ACTOR,
      training: { trainedAt: '2026-11-28T10:00:00.123Z', durationSeconds: 312.5, trainingSamples: 80000, validationSamples: 20000 },
    });
    expect(version.id).toMatch(/^v\d{14}_[0-9a-f]{8}$/);
    expect(version.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(version.metrics.map((m: { name: string }) => m.name)).toEqual(['roc_auc', 'accuracy', 'pr_auc', 'f1']);
    expect(version.artifacts.every((a: { downloadUrl: unknown }) => a.downloadUrl === null)).toBe(true);
    expect(uploads.map((u: { path: string }) => u.path)).toEqual(['model.bin', 'conf/config.json']);
    expect(uploads[1].upload.headers).toContainEqual({ name: 'Content-Type', value: 'application/json' });
    expect(uploads[0].upload.method).toBe('PUT');

    expect((await put(uploads[0].upload, weights)).status).toBe(200);
    expect((await put(uploads[1].upload, config)).status).toBe(200);
    const done = await h.ok(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status failureReason artifacts { path downloadUrl(expiresInSeconds: 60) { url method expiresAt } } } }`, { id: version.id });
    expect(done.completeModelVersionUpload).toMatchObject({ status: 'READY', failureReason: null });
    const dl = done.completeModelVersionUpload.artifacts[0].downloadUrl;
    expect(dl.method).toBe('GET');
    expect(new Date(dl.expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(61_000);
    const got = await fetch(dl.url);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(weights);
    // completing again is harmless
    expect((await h.ok(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`, { id: version.id })).completeModelVersionUpload.status).toBe('READY');
  });

  it('answers HEAD on the download route with a redirect to a URL signed for HEAD, which storage answers with the size', async () => {
    const bytes = Buffer.from('weights, asked for their size');
    const id = await publish(h, 'sized', { files: { 'model.pkl': bytes } });
    const route = `${h.url}/v1/models/sized/versions/${id}/artifacts/model.pkl`;
    const redirect = await fetch(route, { method: 'HEAD', redirect: 'manual', headers: h.auth() });
    expect(redirect.status).toBe(302);
    const head = await fetch(redirect.headers.get('location')!, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
    const got = await fetch((await fetch(route, { redirect: 'manual', headers: h.auth() })).headers.get('location')!);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(bytes);
  });

  it('issues fresh upload URLs for a pending version, and only for one', async () => {
    const bytes = Buffer.from('late upload');
    const data = await h.ok(REGISTER, { input: { modelName: 'late', modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm.bin', sizeBytes: bytes.length, sha256: sha256(bytes) }] } });
    const id = data.registerModelVersion.version.id;
    const fresh = await h.ok(`mutation($id: ID!) { createUploadUrls(versionId: $id) { path upload { url method headers { name value } expiresAt } } }`, { id });
    expect(fresh.createUploadUrls.map((u: { path: string }) => u.path)).toEqual(['m.bin']);
    expect((await put(fresh.createUploadUrls[0].upload, bytes)).status).toBe(200);
    expect((await h.ok(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`, { id })).completeModelVersionUpload.status).toBe('READY');
    expect(await h.code(`mutation($id: ID!) { createUploadUrls(versionId: $id) { path } }`, { id })).toBe('FAILED_PRECONDITION');
    const events = await h.ok(`{ auditEvents(modelName: "late") { edges { node { action details } } } }`);
    expect(events.auditEvents.edges.map((e: { node: { action: string } }) => e.node.action)).toEqual(['MODEL_VERSION_READY', 'UPLOAD_URLS_ISSUED', 'MODEL_VERSION_REGISTERED']);
    expect(JSON.stringify(events)).not.toMatch(/sig=|X-Amz-Signature/);
  });

  it('marks a version FAILED when the uploaded bytes do not match, and refuses to serve them', async () => {
    const declared = Buffer.from('the real weights');
    const data = await h.ok(REGISTER, { input: { modelName: 'broken', modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm.bin', sizeBytes: declared.length, sha256: sha256(declared) }] } });
    const { version, uploads } = data.registerModelVersion;
    expect((await put(uploads[0].upload, Buffer.from('the fake weights'))).status).toBe(200);
    const done = await h.ok(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status failureReason artifacts { downloadUrl { url } } } }`, { id: version.id });
    expect(done.completeModelVersionUpload.status).toBe('FAILED');
    expect(done.completeModelVersionUpload.failureReason).toContain('sha256');
    expect(done.completeModelVersionUpload.artifacts[0].downloadUrl).toBeNull();
    expect(await h.code(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`, { id: version.id })).toBe('FAILED_PRECONDITION');
    const missing = await h.ok(REGISTER, { input: { modelName: 'broken', modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm.bin', sizeBytes: 3, sha256: sha256('abc') }] } });
    const notUploaded = await h.ok(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status failureReason } }`, { id: missing.registerModelVersion.version.id });
    expect(notUploaded.completeModelVersionUpload).toEqual({ status: 'FAILED', failureReason: 'artifact "m.bin" was not uploaded' });
  });

  it('promotes, demotes the previous version, enforces the improvement policy and records refusals', async () => {
    const v1 = await publish(h, 'fraud', { metrics: [{ name: 'roc_auc', value: 0.8 }] });
    const v2 = await publish(h, 'fraud', { metrics: [{ name: 'roc_auc', value: 0.75 }] });
    const v3 = await publish(h, 'fraud', { metrics: [{ name: 'roc_auc', value: 0.85 }, { name: 'f1', value: 0.6 }] });
    const first = await promote(h, v1, { reason: 'first release' });
    expect(first.data.promoteModelVersion).toMatchObject({ action: 'PROMOTE', status: 'SUCCEEDED', environment: 'production', version: { id: v1 }, previousVersion: null, active: true });

    const before = await stats(h);
    const refused = await promote(h, v2, { requireImprovement: { metric: 'roc_auc' } });
    expect(refused.errors?.[0]?.extensions.code).toBe('FAILED_PRECONDITION');
    expect(refused.errors?.[0]?.message).toContain('Improvement policy not met');
    const after = await stats(h);
    expect(after.deployments).toBe(before.deployments + 1);
    expect(after.auditEvents).toBe(before.auditEvents + 1);
    expect((await h.ok(`{ productionModel(modelName: "fraud") { id } }`)).productionModel.id).toBe(v1);

    const tolerated = await promote(h, v3, { requireImprovement: { metric: 'roc_auc', minRatio: 1.05 } });
    expect(tolerated.data.promoteModelVersion).toMatchObject({ version: { id: v3 }, previousVersion: { id: v1 }, active: true });
    const versions = await h.ok(`query($ids: [ID!]) { compareVersions(modelName: "fraud", versionIds: $ids) { version { id environments } } }`, { ids: [v1, v3] });
    expect(versions.compareVersions.map((c: { version: { id: string; environments: string[] } }) => [c.version.id, c.version.environments])).toEqual([[v3, ['production']], [v1, []]]);

    const history = await h.ok(`{ deploymentHistory(modelName: "fraud") { totalCount edges { node { action status version { id } previousVersion { id } active failureReason deployedBy deployedAt reason } } } }`);
    const rows = history.deploymentHistory.edges.map((e: { node: unknown }) => e.node);
    expect(history.deploymentHistory.totalCount).toBe(3);
    expect(rows[0]).toMatchObject({ status: 'SUCCEEDED', version: { id: v3 }, previousVersion: { id: v1 }, active: true, deployedBy: ENV_ADMIN_ACTOR });
    expect(rows[1]).toMatchObject({ status: 'FAILED', version: { id: v2 }, active: false });
    expect(rows[1].failureReason).toContain('below the required');
    expect(rows[2]).toMatchObject({ status: 'SUCCEEDED', version: { id: v1 }, active: false, reason: 'first release' });

    const events = await h.ok(`{ auditEvents(modelName: "fraud", action: "PROMOTION_REFUSED") { edges { node { versionId actor details } } } }`);
    expect(events.auditEvents.edges).toHaveLength(1);
    expect(events.auditEvents.edges[0].node).toMatchObject({ versionId: v2, actor: ENV_ADMIN_ACTOR, details: { code: 'FAILED_PRECONDITION', environment: 'production' } });
  });

  it('compare-and-set: CONFLICT when expectedCurrentVersionId is stale; idempotent re-promotion', async () => {
    const a = await publish(h, 'cas');
    const b = await publish(h, 'cas');
    expect((await promote(h, a, { expectNothingDeployed: true })).data?.promoteModelVersion.status).toBe('SUCCEEDED');
    const stale = await promote(h, b, { expectNothingDeployed: true });
    expect(stale.errors?.[0]?.extensions.code).toBe('CONFLICT');
    expect(stale.errors?.[0]?.message).toBe(`production of "cas" runs ${a}, but nothing was expected there (expectNothingDeployed)`);
    const again = await promote(h, a);
    expect(again.data.promoteModelVersion).toMatchObject({ version: { id: a }, active: true });
    // An explicit null is "no check", as absent is (typed clients send null for an unset option): issue 17.
    expect((await promote(h, a, { expectedCurrentVersionId: null })).data.promoteModelVersion).toMatchObject({ version: { id: a } });
    expect((await promote(h, b, { expectedCurrentVersionId: a, expectNothingDeployed: true })).errors?.[0]?.extensions)
      .toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.expectNothingDeployed' });
    expect((await promote(h, b, { expectedCurrentVersionId: a })).data.promoteModelVersion.previousVersion.id).toBe(a);
    expect((await h.ok(`{ deploymentHistory(modelName: "cas") { edges { node { status } } } }`)).deploymentHistory.edges.map((e: { node: { status: string } }) => e.node.status))
      .toEqual(['SUCCEEDED', 'FAILED', 'SUCCEEDED']);
  });

  it('rolls back step by step through history, to an explicit version, and refuses when there is nothing left', async () => {
    const [v1, v2, v3] = [await publish(h, 'rb'), await publish(h, 'rb'), await publish(h, 'rb')];
    for (const v of [v1, v2, v3]) await promote(h, v);
    const rollback = (input: Record<string, unknown> = {}) =>
      h.gql(`mutation($input: RollbackInput!) { rollbackModel(input: $input) { action status version { id } previousVersion { id } active } }`, { input: { modelName: 'rb', ...input } });
    expect((await rollback({ reason: 'latency regression' })).data.rollbackModel).toMatchObject({ action: 'ROLLBACK', version: { id: v2 }, previousVersion: { id: v3 }, active: true });
    expect((await rollback()).data.rollbackModel).toMatchObject({ version: { id: v1 }, previousVersion: { id: v2 } });
    const none = await rollback();
    expect(none.errors?.[0]?.extensions.code).toBe('FAILED_PRECONDITION');
    expect((await rollback({ toVersionId: v3 })).data.rollbackModel).toMatchObject({ version: { id: v3 }, previousVersion: { id: v1 } });
    const never = await publish(h, 'rb');
    expect((await rollback({ toVersionId: never })).errors?.[0]?.extensions.code).toBe('FAILED_PRECONDITION');
    expect((await rollback({ environment: 'staging' })).errors?.[0]?.extensions.code).toBe('FAILED_PRECONDITION');
    expect((await rollback({ toVersionId: 'v20990101000000_00000000' })).errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    expect((await h.ok(`{ productionModel(modelName: "rb") { id } }`)).productionModel.id).toBe(v3);
  });

  it('keeps named environments apart and answers deployed(environment)', async () => {
    const a = await publish(h, 'envs');
    const b = await publish(h, 'envs');
    await promote(h, a, { environment: 'staging' });
    await promote(h, b, { environment: 'canary-eu' });
    const m = await h.ok(`{ model(name: "envs") { production { id } staging: deployed(environment: "staging") { id } canary: deployed(environment: "canary-eu") { id } } }`);
    expect(m.model).toEqual({ production: null, staging: { id: a }, canary: { id: b } });
    expect((await h.ok(`{ productionModel(modelName: "envs", environment: "staging") { id environments } }`)).productionModel).toEqual({ id: a, environments: ['staging'] });
  });

  it('compares versions by any metric with the delta to production, lacking ones last', async () => {
    const a = await publish(h, 'cmp', { metrics: [{ name: 'roc_auc', value: 0.7 }, { name: 'f1', value: 0.5 }] });
    const b = await publish(h, 'cmp', { metrics: [{ name: 'roc_auc', value: 0.9 }] });
    const c = await publish(h, 'cmp', { metrics: [{ name: 'f1', value: 0.6 }] });
    await publish(h, 'cmp', { metrics: [{ name: 'roc_auc', value: 0.99 }], complete: false });
    await promote(h, a);
    const byAuc = await h.ok(`{ compareVersions(modelName: "cmp") { rank value deltaVsProduction version { id } } }`);
    expect(byAuc.compareVersions.map((r: { rank: number; version: { id: string }; value: number | null }) => [r.rank, r.version.id, r.value])).toEqual([[1, b, 0.9], [2, a, 0.7], [3, c, null]]);
    expect(byAuc.compareVersions[0].deltaVsProduction).toBeCloseTo(0.2, 10);
    expect(byAuc.compareVersions[1].deltaVsProduction).toBe(0);
    expect(byAuc.compareVersions[2].deltaVsProduction).toBeNull();
    const byF1 = await h.ok(`{ compareVersions(modelName: "cmp", metric: "f1", direction: ASC, first: 2) { version { id } value } }`);
    expect(byF1.compareVersions.map((r: { version: { id: string } }) => r.version.id)).toEqual([a, c]);
  });

  it('archives undeployed versions only; archived ones stay downloadable and comparable', async () => {
    const a = await publish(h, 'arch');
    const b = await publish(h, 'arch');
    await promote(h, a);
    expect(await h.code(`mutation($id: ID!) { archiveModelVersion(versionId: $id) { status } }`, { id: a })).toBe('FAILED_PRECONDITION');
    const archived = await h.ok(`mutation($id: ID!) { archiveModelVersion(versionId: $id, reason: "superseded") { status artifacts { downloadUrl { url } } } }`, { id: b });
    expect(archived.archiveModelVersion.status).toBe('ARCHIVED');
    expect((await fetch(archived.archiveModelVersion.artifacts[0].downloadUrl.url)).status).toBe(200);
    expect((await h.ok(`{ compareVersions(modelName: "arch") { version { id status } } }`)).compareVersions.map((r: { version: { status: string } }) => r.version.status).sort()).toEqual(['ARCHIVED', 'READY']);
    expect((await promote(h, b)).errors?.[0]?.extensions.code).toBe('FAILED_PRECONDITION');
    const pending = await publish(h, 'arch', { complete: false });
    expect(await h.code(`mutation($id: ID!) { archiveModelVersion(versionId: $id) { status } }`, { id: pending })).toBe('FAILED_PRECONDITION');
  });

  it('updates version and model metadata with audit events', async () => {
    const v = await publish(h, 'meta');
    const u = await h.ok(`mutation($id: ID!) { updateModelVersion(versionId: $id, description: "better", tags: ["a", "b", "a"]) { description tags } }`, { id: v });
    expect(u.updateModelVersion).toEqual({ description: 'better', tags: ['a', 'b'] });
    const cleared = await h.ok(`mutation($id: ID!) { updateModelVersion(versionId: $id, description: null) { description tags } }`, { id: v });
    expect(cleared.updateModelVersion).toEqual({ description: null, tags: ['a', 'b'] });
    expect((await h.ok(`mutation { updateModel(name: "meta", description: "the meta model") { name description versionCount } }`)).updateModel)
      .toEqual({ name: 'meta', description: 'the meta model', versionCount: 1 });
    const events = await h.ok(`{ auditEvents(modelName: "meta", first: 3) { edges { node { action } } } }`);
    expect(events.auditEvents.edges.map((e: { node: { action: string } }) => e.node.action)).toEqual(['MODEL_UPDATED', 'MODEL_VERSION_UPDATED', 'MODEL_VERSION_UPDATED']);
  });

  it('lists models and versions with paging, and reads a model with its latest and production versions', async () => {
    const ids = [await publish(h, 'paging'), await publish(h, 'paging'), await publish(h, 'paging')];
    await promote(h, ids[0]!);
    const p1 = await h.ok(`{ modelVersions(modelName: "paging", first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { node { number } } } }`);
    expect(p1.modelVersions.edges.map((e: { node: { number: number } }) => e.node.number)).toEqual([3, 2]);
    const p2 = await h.ok(`query($after: String) { modelVersions(modelName: "paging", first: 2, after: $after) { pageInfo { hasNextPage } edges { node { number } } } }`, { after: p1.modelVersions.pageInfo.endCursor });
    expect(p2.modelVersions).toEqual({ pageInfo: { hasNextPage: false }, edges: [{ node: { number: 1 } }] });
    const m = await h.ok(`{ model(name: "paging") { name versionCount latestVersion { number } production { number } versions(status: READY, first: 1) { totalCount } } models(search: "pag") { edges { node { name } } } }`);
    expect(m.model).toEqual({ name: 'paging', versionCount: 3, latestVersion: { number: 3 }, production: { number: 1 }, versions: { totalCount: 3 } });
    expect(m.models.edges).toEqual([{ node: { name: 'paging' } }]);
    expect((await h.ok(`{ model(name: "no-such-model") { name } }`)).model).toBeNull();
  });

  it('verifies the audit chain over everything above, and counts it in registryStats', async () => {
    const v = await h.ok(`{ verifyAuditLog { valid eventsChecked firstInvalidSequence headHash message } registryStats { auditEvents } auditEvents(first: 1) { edges { node { sequence hash } } } }`);
    expect(v.verifyAuditLog.valid).toBe(true);
    expect(v.verifyAuditLog.firstInvalidSequence).toBeNull();
    expect(v.verifyAuditLog.eventsChecked).toBe(v.registryStats.auditEvents);
    expect(v.verifyAuditLog.headHash).toBe(v.auditEvents.edges[0].node.hash);
    expect(v.auditEvents.edges[0].node.sequence).toBe(v.registryStats.auditEvents);
  });
});
