import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, promote, publish, startRegistry } from '../../support/api-harness.js';

const REQ = `id status requestedBy expectedCurrentVersionId requiredApprovals approvals { actor comment } decidedBy decisionComment version { id } deployment { id version { id } }`;
const REQUEST = `mutation($input: PromoteInput!) { requestPromotion(input: $input) { ${REQ} } }`;
const APPROVE = `mutation($id: ID!, $c: String) { approvePromotion(requestId: $id, comment: $c) { ${REQ} } }`;
const POLICY = `mutation($input: SetEnvironmentPolicyInput!) { setEnvironmentPolicy(input: $input) { modelName environment requiredApprovals requireImprovement { metric minRatio } } }`;
const live = async (h: Harness, model: string, env = 'production') =>
  (await h.ok(`query($m: String!, $e: String) { productionModel(modelName: $m, environment: $e) { id } }`, { m: model, e: env })).productionModel?.id ?? null;
const actions = async (h: Harness, model: string) =>
  ((await h.ok(`query($m: String) { auditEvents(modelName: $m, first: 100) { edges { node { action } } } }`, { m: model })).auditEvents.edges as { node: { action: string } }[])
    .map((e) => e.node.action).reverse();

type Client = ReturnType<Harness['as']>;

/** Environment policies and promotion requests, over real HTTP on SQLite (MongoDB when MONGODB_URI is set). */
describe('environment policies and promotion approvals', () => {
  let h: Harness;
  let alice: Client;
  let bob: Client;
  let carol: Client;
  const v: string[] = [];
  beforeAll(async () => {
    h = await startRegistry({ REGISTRY_ACCESS_DENIED_AUDIT_LIMIT: '10000' });
    for (let i = 0; i < 5; i++) v.push(await publish(h, 'gated', { metrics: [{ name: 'roc_auc', value: 0.8 + i * 0.01 }] }));
    expect((await promote(h, v[0]!)).errors).toBeUndefined();
    const [a, b, c] = await Promise.all(['alice', 'bob', 'carol'].map(async (name) => h.as((await h.token('DEPLOYER', { name })).secret)));
    [alice, bob, carol] = [a!, b!, c!];
    await h.ok(POLICY, { input: { modelName: '*', environment: 'production', requiredApprovals: 1 } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('a model inherits the "*" policy until it has its own; only admins set policies', async () => {
    const read = `query($m: String!) { environmentPolicy(modelName: $m) { modelName requiredApprovals } }`;
    expect((await h.ok(read, { m: 'gated' })).environmentPolicy).toEqual({ modelName: '*', requiredApprovals: 1 });
    expect(await alice.code(POLICY, { input: { modelName: 'gated', requiredApprovals: 0 } })).toBe('FORBIDDEN');
    expect(await h.code(POLICY, { input: { modelName: 'gated', requiredApprovals: 11 } })).toBe('BAD_USER_INPUT');
    expect((await h.ok(read, { m: 'gated' })).environmentPolicy.modelName).toBe('*');
  });

  it('promoteModelVersion where approvals are required: FAILED_PRECONDITION pointing to requestPromotion, nothing deployed', async () => {
    const r = await promote(h, v[1]!);
    expect(r.errors?.[0]?.extensions.code).toBe('FAILED_PRECONDITION');
    expect(r.errors?.[0]?.message).toMatch(/requestPromotion/);
    expect(await live(h, 'gated')).toBe(v[0]);
  });

  it('two-person rule: the requester may not approve, nor may an approver approve twice; the last approval executes', async () => {
    await h.ok(POLICY, { input: { modelName: 'gated', requiredApprovals: 2 } });
    const req = (await alice.ok(REQUEST, { input: { versionId: v[1], reason: 'better' } })).requestPromotion;
    expect(req).toMatchObject({ status: 'PENDING', expectedCurrentVersionId: v[0], requiredApprovals: 2, approvals: [] });
    expect(await alice.code(APPROVE, { id: req.id })).toBe('FORBIDDEN');
    const once = (await bob.ok(APPROVE, { id: req.id, c: 'looks good' })).approvePromotion;
    expect(once).toMatchObject({ status: 'PENDING', approvals: [{ comment: 'looks good' }], deployment: null });
    expect(await bob.code(APPROVE, { id: req.id })).toBe('FORBIDDEN');
    expect(await live(h, 'gated')).toBe(v[0]);
    const done = (await carol.ok(APPROVE, { id: req.id })).approvePromotion;
    expect(done.status).toBe('EXECUTED');
    expect(done.approvals).toHaveLength(2);
    expect(done.deployment.version.id).toBe(v[1]);
    expect(await live(h, 'gated')).toBe(v[1]);
    const log = await actions(h, 'gated');
    expect(log.filter((a) => a === 'ACCESS_DENIED')).toHaveLength(3); // alice's policy attempt, alice's and bob's second approval
    expect(log.filter((a) => a !== 'ACCESS_DENIED').slice(-4)).toEqual(['PROMOTION_APPROVED', 'PROMOTION_APPROVED', 'MODEL_VERSION_PROMOTED', 'PROMOTION_REQUEST_EXECUTED']);
    expect(await carol.code(APPROVE, { id: req.id })).toBe('FAILED_PRECONDITION');
  });

  it('when production moved after the request, the approved request ends CONFLICT and nothing is deployed', async () => {
    const req = (await alice.ok(REQUEST, { input: { versionId: v[2] } })).requestPromotion;
    expect(req.expectedCurrentVersionId).toBe(v[1]);
    expect((await h.ok(`mutation { rollbackModel(input: { modelName: "gated" }) { version { id } } }`)).rollbackModel.version.id).toBe(v[0]);
    await bob.ok(APPROVE, { id: req.id });
    const end = (await carol.ok(APPROVE, { id: req.id })).approvePromotion;
    expect(end).toMatchObject({ status: 'CONFLICT', deployment: null, decidedBy: 'registry' });
    expect(await live(h, 'gated')).toBe(v[0]);
    expect((await actions(h, 'gated')).at(-1)).toBe('PROMOTION_REQUEST_CONFLICT');
  });

  it('two approved requests racing for the same production: exactly one executes, the other is CONFLICT', async () => {
    await h.ok(POLICY, { input: { modelName: 'gated', requiredApprovals: 1 } });
    const r3 = (await alice.ok(REQUEST, { input: { versionId: v[3] } })).requestPromotion;
    const r4 = (await alice.ok(REQUEST, { input: { versionId: v[4] } })).requestPromotion;
    const [a, b] = await Promise.all([bob.ok(APPROVE, { id: r3.id }), carol.ok(APPROVE, { id: r4.id })]);
    const statuses = [a.approvePromotion.status, b.approvePromotion.status].sort();
    expect(statuses).toEqual(['CONFLICT', 'EXECUTED']);
    const winner = a.approvePromotion.status === 'EXECUTED' ? v[3] : v[4];
    expect(await live(h, 'gated')).toBe(winner);
    const deployed = (await h.ok(`{ deploymentHistory(modelName: "gated", environment: "production", first: 100) { edges { node { status version { id } } } } }`))
      .deploymentHistory.edges.filter((e: { node: { status: string; version: { id: string } } }) => e.node.status === 'SUCCEEDED' && [v[3], v[4]].includes(e.node.version.id));
    expect(deployed).toHaveLength(1);
  });

  it('reject and cancel end a request; it can then not be approved; requests are listed by status', async () => {
    const a = (await alice.ok(REQUEST, { input: { versionId: v[2] } })).requestPromotion;
    const b = (await alice.ok(REQUEST, { input: { versionId: v[2] } })).requestPromotion;
    expect((await carol.ok(`mutation($id: ID!) { rejectPromotion(requestId: $id, comment: "no") { status decidedBy decisionComment } }`, { id: a.id })).rejectPromotion)
      .toMatchObject({ status: 'REJECTED', decisionComment: 'no' });
    expect((await alice.ok(`mutation($id: ID!) { cancelPromotion(requestId: $id) { status } }`, { id: b.id })).cancelPromotion.status).toBe('CANCELLED');
    expect(await bob.code(APPROVE, { id: a.id })).toBe('FAILED_PRECONDITION');
    const list = async (status: string | null) => {
      const page = (await h.ok(`query($s: PromotionRequestStatus) { promotionRequests(modelName: "gated", status: $s, first: 100) { totalCount edges { node { id status } } } }`, { s: status })).promotionRequests;
      return page.edges.map((e: { node: { id: string } }) => e.node.id);
    };
    expect(await list('REJECTED')).toEqual([a.id]);
    expect(await list('CANCELLED')).toEqual([b.id]);
    expect((await list(null)).slice(0, 2)).toEqual([b.id, a.id]);
    expect((await list('EXECUTED')).length + (await list('CONFLICT')).length).toBe(4);
    expect(await h.code(`{ promotionRequests(modelName: "gated", after: "bogus") { totalCount } }`)).toBe('BAD_USER_INPUT');
  });

  it("an environment's improvement rule applies to every promotion there, whatever the caller passes", async () => {
    await h.ok(POLICY, { input: { modelName: 'gated', environment: 'staging', requireImprovement: { minRatio: 1.02 } } });
    expect((await promote(h, v[4]!, { environment: 'staging' })).errors).toBeUndefined();
    const worse = await promote(h, v[0]!, { environment: 'staging', requireImprovement: { minRatio: 0.5 } });
    expect(worse.errors?.[0]?.extensions.code).toBe('FAILED_PRECONDITION');
    expect(worse.errors?.[0]?.message).toMatch(/Improvement policy not met/);
    expect(await live(h, 'gated', 'staging')).toBe(v[4]);
  });

  it("a request's execution key is the registry's own: no caller can take it first (a staging-only deployer tried, with the key of a pending production request)", async () => {
    const k = await publish(h, 'gated-key');
    const created = await h.ok(`mutation { createApiToken(name: "staging-only", role: DEPLOYER, environments: ["staging"]) { secret } }`);
    const staging = h.as(created.createApiToken.secret);
    const req = (await alice.ok(REQUEST, { input: { versionId: k, reason: 'first' } })).requestPromotion;
    const taken = await staging.code(`mutation($input: PromoteInput!) { promoteModelVersion(input: $input) { id } }`, {
      input: { versionId: k, environment: 'staging', idempotencyKey: `promotion-request:${req.id}` },
    });
    expect(taken).toBe('BAD_USER_INPUT');
    expect(await live(h, 'gated-key', 'staging')).toBeNull();
    const done = (await bob.ok(APPROVE, { id: req.id })).approvePromotion;
    expect(done.status).toBe('EXECUTED');
    expect(await live(h, 'gated-key')).toBe(k);
  });
});

describe('promotion requests expire', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRegistry({ REGISTRY_PROMOTION_REQUEST_TTL_SECONDS: '1' });
  });
  afterAll(async () => {
    await h.close();
  });

  it('after the configured time: listed EXPIRED, approving is refused, and the expiry is audited once', async () => {
    const v1 = await publish(h, 'slow');
    await h.ok(POLICY, { input: { modelName: 'slow', requiredApprovals: 1 } });
    const req = (await h.ok(REQUEST, { input: { versionId: v1 } })).requestPromotion;
    expect(req.expectedCurrentVersionId).toBeNull();
    const approver = h.as((await h.token('DEPLOYER', { name: 'late' })).secret);
    await new Promise((r) => setTimeout(r, 1300));
    const expired = (await h.ok(`{ promotionRequests(modelName: "slow", status: EXPIRED) { edges { node { id status } } } }`)).promotionRequests.edges;
    expect(expired).toEqual([{ node: { id: req.id, status: 'EXPIRED' } }]);
    expect(await approver.code(APPROVE, { id: req.id })).toBe('FAILED_PRECONDITION');
    expect(await approver.code(APPROVE, { id: req.id })).toBe('FAILED_PRECONDITION');
    expect((await actions(h, 'slow')).filter((a) => a === 'PROMOTION_REQUEST_EXPIRED')).toHaveLength(1);
    expect(await live(h, 'slow')).toBeNull();
  });
});
