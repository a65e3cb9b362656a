import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, promote, publish, startRegistry } from '../../support/api-harness.js';

const UNDEPLOY = `mutation($input: UndeployInput!) { undeployModel(input: $input) { id action status active version { id } previousVersion { id } } }`;
const live = async (h: Harness) => (await h.ok(`{ productionModel(modelName: "gone") { id } }`)).productionModel?.id ?? null;

/** undeployModel over real HTTP: an empty environment, then a rollback back, then archiving. */
describe('undeployModel', () => {
  let h: Harness;
  let v1: string;
  let v2: string;
  beforeAll(async () => {
    h = await startRegistry();
    v1 = await publish(h, 'gone');
    v2 = await publish(h, 'gone');
    await promote(h, v1);
    await promote(h, v2);
  });
  afterAll(async () => {
    await h.close();
  });

  it('is refused to a token limited to another environment (FORBIDDEN, ACCESS_DENIED), and on a stale compare-and-set (CONFLICT)', async () => {
    const staging = (await h.ok(`mutation { createApiToken(name: "stg", role: DEPLOYER, environments: ["staging"]) { secret } }`)).createApiToken.secret;
    expect(await h.as(staging).code(UNDEPLOY, { input: { modelName: 'gone' } })).toBe('FORBIDDEN');
    const denied = (await h.ok(`{ auditEvents(action: "ACCESS_DENIED") { edges { node { details } } } }`)).auditEvents.edges;
    expect(denied.map((e: { node: { details: { operation: string } } }) => e.node.details.operation)).toContain('undeploy');
    expect(await h.code(UNDEPLOY, { input: { modelName: 'gone', expectedCurrentVersionId: v1 } })).toBe('CONFLICT');
    expect(await live(h)).toBe(v2);
  });

  it('empties the environment: UNDEPLOY with no version; productionModel null; the download route 404; servingAt null after it', async () => {
    const d = (await h.ok(UNDEPLOY, { input: { modelName: 'gone', expectedCurrentVersionId: v2, reason: 'incident 42', idempotencyKey: 'undeploy-42' } })).undeployModel;
    expect(d).toMatchObject({ action: 'UNDEPLOY', status: 'SUCCEEDED', active: true, version: null, previousVersion: { id: v2 } });
    expect((await h.ok(UNDEPLOY, { input: { modelName: 'gone', expectedCurrentVersionId: v2, reason: 'incident 42', idempotencyKey: 'undeploy-42' } })).undeployModel.id).toBe(d.id);
    expect(await live(h)).toBeNull();
    const res = await fetch(`${h.url}/v1/models/gone/versions/production/artifacts/model.pkl`, { headers: h.auth(), redirect: 'manual' });
    expect(res.status).toBe(404);
    expect((await h.ok(`query($id: ID!) { modelVersion(id: $id) { environments } }`, { id: v2 })).modelVersion.environments).toEqual([]);
    expect((await h.ok(`query($at: DateTime!) { servingAt(modelName: "gone", at: $at) { id } }`, { at: new Date(Date.now() + 1000).toISOString() })).servingAt).toBeNull();
    expect(await h.code(UNDEPLOY, { input: { modelName: 'gone' } })).toBe('FAILED_PRECONDITION');
    expect((await h.ok(`{ verifyAuditLog { valid } }`)).verifyAuditLog.valid).toBe(true);
  });

  it('a rollback after the undeploy puts back the version live before it', async () => {
    const back = (await h.ok(`mutation { rollbackModel(input: { modelName: "gone" }) { action version { id } } }`)).rollbackModel;
    expect(back).toEqual({ action: 'ROLLBACK', version: { id: v2 } });
    expect(await live(h)).toBe(v2);
  });

  it('once undeployed, the version taken down may be archived; promoting onto the empty environment works', async () => {
    await h.ok(UNDEPLOY, { input: { modelName: 'gone' } });
    expect((await h.ok(`mutation($id: ID!) { archiveModelVersion(versionId: $id) { status } }`, { id: v2 })).archiveModelVersion.status).toBe('ARCHIVED');
    expect((await promote(h, v1, { expectNothingDeployed: true })).data.promoteModelVersion.version.id).toBe(v1);
    expect(await live(h)).toBe(v1);
    const history = (await h.ok(`{ deploymentHistory(modelName: "gone", first: 20) { edges { node { action version { id } } } } }`)).deploymentHistory.edges
      .map((e: { node: { action: string } }) => e.node.action);
    expect(history).toEqual(['PROMOTE', 'UNDEPLOY', 'ROLLBACK', 'UNDEPLOY', 'PROMOTE', 'PROMOTE']);
    expect((await h.ok(`{ verifyAuditLog { valid } }`)).verifyAuditLog.valid).toBe(true);
  });
});
