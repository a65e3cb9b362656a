import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, promote, publish, startRegistry } from '../../support/api-harness.js';

const REPORT = `mutation($input: ReportDeploymentStatusInput!) { reportDeploymentStatus(input: $input) { instance state message reportedAt } }`;
const SERVING_AT = `query($m: String!, $at: DateTime!, $e: String) { servingAt(modelName: $m, at: $at, environment: $e) { id action version { id } } }`;
const ms = (iso: string, delta = 0) => new Date(Date.parse(iso) + delta).toISOString();

describe('observed state: what the workers report they serve', () => {
  let h: Harness;
  let worker: ReturnType<Harness['as']>;
  let first: { id: string };
  let second: { id: string };
  beforeAll(async () => {
    h = await startRegistry();
    const [v1, v2] = [await publish(h, 'obs'), await publish(h, 'obs')];
    first = (await promote(h, v1)).data.promoteModelVersion;
    second = (await promote(h, v2)).data.promoteModelVersion;
    worker = h.as((await h.token('WORKER' as 'VIEWER', { name: 'pod-fleet' })).secret);
  });
  afterAll(async () => {
    await h.close();
  });

  it('keeps the latest report of each of many instances, counts those SERVING, and lists a bounded number, newest first', async () => {
    const states = ['SERVING', 'SERVING', 'SERVING', 'SERVING', 'SERVING', 'FAILED', 'FAILED', 'DRAINED'];
    await Promise.all(states.map((state, i) => worker.ok(REPORT, { input: { deploymentId: second.id, instance: `pod-${i}`, state, message: state === 'FAILED' ? 'OOM' : null } })));
    // pod-0 changes its mind; pod-1 repeats itself (a heartbeat).
    await worker.ok(REPORT, { input: { deploymentId: second.id, instance: 'pod-0', state: 'DRAINED' } });
    await worker.ok(REPORT, { input: { deploymentId: second.id, instance: 'pod-1', state: 'SERVING' } });
    const d = (await h.ok(`query($m: String!) { deploymentHistory(modelName: $m, first: 1) { edges { node { id servingInstances observed(first: 100) { instance state message } few: observed(first: 3) { instance } } } } }`, { m: 'obs' }))
      .deploymentHistory.edges[0].node;
    expect(d.id).toBe(second.id);
    expect(d.servingInstances).toBe(4);
    expect(d.observed).toHaveLength(8);
    expect(d.observed[0]).toMatchObject({ instance: 'pod-1', state: 'SERVING' });
    expect(d.observed.find((o: { instance: string }) => o.instance === 'pod-0').state).toBe('DRAINED');
    expect(d.observed.filter((o: { message: string | null }) => o.message === 'OOM')).toHaveLength(2);
    expect(d.few).toHaveLength(3);
    const events = (await h.ok(`{ auditEvents(action: "DEPLOYMENT_STATUS_REPORTED", first: 100) { totalCount } }`)).auditEvents.totalCount;
    expect(events).toBe(9); // 8 first reports + pod-0's change; pod-1's repeat is not an event
  });

  it('a report about a deployment that is no longer live is recorded, not an error', async () => {
    const r = await worker.ok(REPORT, { input: { deploymentId: first.id, instance: 'old-pod', state: 'DRAINED', message: 'drained after v2' } });
    expect(r.reportDeploymentStatus).toMatchObject({ instance: 'old-pod', state: 'DRAINED' });
    const old = (await h.ok(`{ deploymentHistory(modelName: "obs", first: 5) { edges { node { id active observed { instance state } } } } }`)).deploymentHistory.edges
      .map((e: { node: unknown }) => e.node).find((n: { id: string }) => n.id === first.id);
    expect(old).toMatchObject({ active: false, observed: [{ instance: 'old-pod', state: 'DRAINED' }] });
  });

  it('refuses bad input, unknown deployments, and callers that are neither workers nor deployers; a worker may do nothing else', async () => {
    expect(await worker.code(REPORT, { input: { deploymentId: second.id, instance: '../etc', state: 'SERVING' } })).toBe('BAD_USER_INPUT');
    expect(await worker.code(REPORT, { input: { deploymentId: 'nope', instance: 'p', state: 'SERVING' } })).toBe('NOT_FOUND');
    const viewer = h.as((await h.token('VIEWER')).secret);
    expect(await viewer.code(REPORT, { input: { deploymentId: second.id, instance: 'p', state: 'SERVING' } })).toBe('FORBIDDEN');
    const deployer = h.as((await h.token('DEPLOYER')).secret);
    expect((await deployer.ok(REPORT, { input: { deploymentId: second.id, instance: 'by-hand', state: 'SERVING' } })).reportDeploymentStatus.state).toBe('SERVING');
    const v3 = await publish(h, 'obs');
    expect(await worker.code(`mutation($input: PromoteInput!) { promoteModelVersion(input: $input) { id } }`, { input: { versionId: v3 } })).toBe('FORBIDDEN');
    expect((await worker.ok(`{ viewer { role } }`)).viewer.role).toBe('WORKER');
  });
});

describe('servingAt: which deployment was live at an instant', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRegistry();
  });
  afterAll(async () => {
    await h.close();
  });

  it('null before the first deployment; each deployment from exactly its instant; rollbacks count; per environment', async () => {
    const [v1, v2] = [await publish(h, 'tt'), await publish(h, 'tt')];
    const at = async (iso: string, env?: string) => (await h.ok(SERVING_AT, { m: 'tt', at: iso, e: env ?? null })).servingAt;
    const d1 = (await promote(h, v1)).data.promoteModelVersion;
    const t1 = (await h.ok(`{ deploymentHistory(modelName: "tt", first: 1) { edges { node { deployedAt } } } }`)).deploymentHistory.edges[0].node.deployedAt;
    await new Promise((r) => setTimeout(r, 5));
    const d2 = (await promote(h, v2)).data.promoteModelVersion;
    await new Promise((r) => setTimeout(r, 5));
    const back = (await h.ok(`mutation { rollbackModel(input: { modelName: "tt" }) { id } }`)).rollbackModel;
    const times = (await h.ok(`{ deploymentHistory(modelName: "tt", first: 5) { edges { node { id deployedAt } } } }`)).deploymentHistory.edges
      .map((e: { node: { id: string; deployedAt: string } }) => e.node);
    const when = (id: string) => times.find((t: { id: string }) => t.id === id).deployedAt as string;
    expect(await at(ms(t1, -1))).toBeNull();
    expect((await at(t1)).id).toBe(d1.id);
    expect((await at(ms(when(d2.id), -1))).id).toBe(d1.id);
    expect(await at(when(d2.id))).toMatchObject({ id: d2.id, version: { id: v2 } });
    expect(await at(when(back.id))).toMatchObject({ id: back.id, action: 'ROLLBACK', version: { id: v1 } });
    expect((await at('2999-01-01T00:00:00Z')).id).toBe(back.id);
    expect(await at(when(back.id), 'staging')).toBeNull();
    expect(await h.code(`{ servingAt(modelName: "nobody", at: "2026-01-01T00:00:00Z") { id } }`)).toBe('NOT_FOUND');
    expect(await h.code(SERVING_AT, { m: 'tt', at: 'yesterday' })).toBe('BAD_USER_INPUT');
  });
});
