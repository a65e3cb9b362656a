import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, promote, publish, startRegistry, stats } from '../support/api-harness.js';

type Rank = { rank: number; value: number | null; version: { id: string } };
type Page<T> = { edges: { cursor: string; node: T }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null; hasPreviousPage: boolean; startCursor: string | null }; totalCount: number };

/** Issue 17: a per-model primary metric, cursor paging of rankings and tokens, PageInfo in both directions. */
describe('primaryMetric, compareVersionsConnection, apiTokensConnection, PageInfo', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRegistry();
  });
  afterAll(async () => {
    await h.close();
  });

  it('defaults to roc_auc, is set with updateModel, and becomes the default of compareVersions (audited; a change to nothing writes nothing)', async () => {
    const a = await publish(h, 'churn', { metrics: [{ name: 'roc_auc', value: 0.7 }, { name: 'f1', value: 0.8 }] });
    const b = await publish(h, 'churn', { metrics: [{ name: 'roc_auc', value: 0.9 }, { name: 'f1', value: 0.6 }] });
    expect((await h.ok(`{ model(name: "churn") { primaryMetric } }`)).model.primaryMetric).toBe('roc_auc');
    const byDefault = async () => (await h.ok(`{ compareVersions(modelName: "churn") { rank value version { id } } }`)).compareVersions.map((r: Rank) => [r.version.id, r.value]);
    expect(await byDefault()).toEqual([[b, 0.9], [a, 0.7]]);

    const set = await h.ok(`mutation { updateModel(name: "churn", primaryMetric: "f1") { primaryMetric description } }`);
    expect(set.updateModel).toEqual({ primaryMetric: 'f1', description: null });
    expect(await byDefault()).toEqual([[a, 0.8], [b, 0.6]]);
    const event = (await h.ok(`{ auditEvents(modelName: "churn", action: "MODEL_UPDATED") { edges { node { action details } } } }`)).auditEvents.edges;
    expect(event).toEqual([{ node: { action: 'MODEL_UPDATED', details: { primaryMetric: 'f1' } } }]);

    const before = await stats(h);
    // null and absent leave it; the same value again writes nothing.
    expect((await h.ok(`mutation { updateModel(name: "churn", primaryMetric: null, description: "d") { primaryMetric } }`)).updateModel.primaryMetric).toBe('f1');
    expect((await h.ok(`mutation { updateModel(name: "churn", primaryMetric: "f1") { primaryMetric } }`)).updateModel.primaryMetric).toBe('f1');
    expect((await stats(h)).auditEvents).toBe(before.auditEvents + 1);
  });

  it('refuses a malformed primary metric with BAD_USER_INPUT naming the field, writing nothing', async () => {
    await publish(h, 'strict');
    const before = await stats(h);
    const r = await h.gql(`mutation { updateModel(name: "strict", primaryMetric: "$where") { primaryMetric } }`);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'primaryMetric' });
    expect(await stats(h)).toEqual(before);
  });

  it("is the improvement policy's metric when the policy names none", async () => {
    const a = await publish(h, 'policy', { metrics: [{ name: 'roc_auc', value: 0.9 }, { name: 'recall', value: 0.5 }] });
    const b = await publish(h, 'policy', { metrics: [{ name: 'roc_auc', value: 0.95 }, { name: 'recall', value: 0.4 }] });
    expect((await promote(h, a)).errors).toBeUndefined();
    await h.ok(`mutation { updateModel(name: "policy", primaryMetric: "recall") { name } }`);
    const refused = await promote(h, b, { requireImprovement: { minRatio: 1.0 } });
    expect(refused.errors?.[0]?.extensions.code).toBe('FAILED_PRECONDITION');
    expect(refused.errors?.[0]?.message).toContain('recall 0.4');
    // Named explicitly, the policy's own metric wins.
    expect((await promote(h, b, { requireImprovement: { metric: 'roc_auc' } })).errors).toBeUndefined();
  });

  it('says so when no compared version has the metric, naming the ones they have, instead of a column of nulls', async () => {
    await publish(h, 'nometric', { metrics: [{ name: 'roc_auc', value: 0.9 }, { name: 'f1', value: 0.6 }] });
    const r = await h.gql(`{ compareVersions(modelName: "nometric", metric: "accuracy") { rank } }`);
    expect(r.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    expect(r.errors?.[0]?.message).toBe('No version compared has the metric "accuracy"; they have: roc_auc, f1');
    await h.ok(`mutation { updateModel(name: "nometric", primaryMetric: "loss") { name } }`);
    expect(await h.code(`{ compareVersionsConnection(modelName: "nometric") { totalCount } }`)).toBe('NOT_FOUND');
    // A model with no verified version has an empty ranking, not an error.
    await publish(h, 'unverified', { complete: false });
    expect((await h.ok(`{ compareVersions(modelName: "unverified", metric: "accuracy") { rank } }`)).compareVersions).toEqual([]);
  });

  it('pages a ranking with cursors: ranks continue, every version once, lacking ones last', async () => {
    const ids: string[] = [];
    for (const v of [0.5, 0.9, 0.7, null, 0.8]) ids.push(await publish(h, 'ranked', { metrics: v === null ? [{ name: 'f1', value: 1 }] : [{ name: 'roc_auc', value: v }] }));
    const q = `query($after: String) { compareVersionsConnection(modelName: "ranked", first: 2, after: $after) {
      edges { cursor node { rank value version { id } } } pageInfo { hasNextPage endCursor hasPreviousPage startCursor } totalCount } }`;
    const seen: [number, string][] = [];
    let after: string | null = null;
    const infos: Page<Rank>['pageInfo'][] = [];
    for (let i = 0; i < 5; i++) {
      const page: Page<Rank> = (await h.ok(q, { after })).compareVersionsConnection;
      expect(page.totalCount).toBe(5);
      seen.push(...page.edges.map((e): [number, string] => [e.node.rank, e.node.version.id]));
      infos.push(page.pageInfo);
      expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual([[1, ids[1]!], [2, ids[4]!], [3, ids[2]!], [4, ids[0]!], [5, ids[3]!]]);
    expect(infos.map((p) => [p.hasPreviousPage, p.hasNextPage])).toEqual([[false, true], [true, true], [true, false]]);
    // The first page of the connection is what the list query answers.
    const list = (await h.ok(`{ compareVersions(modelName: "ranked", first: 2) { rank version { id } } }`)).compareVersions;
    expect(list.map((r: Rank) => r.version.id)).toEqual([ids[1], ids[4]]);
    // A cursor of another ranking (metric or direction), or a forged one, is bad input.
    const firstPage = (await h.ok(q, { after: null })).compareVersionsConnection.pageInfo.endCursor;
    expect(await h.code(`query($a: String) { compareVersionsConnection(modelName: "ranked", direction: ASC, after: $a) { totalCount } }`, { a: firstPage })).toBe('BAD_USER_INPUT');
    expect(await h.code(`{ compareVersionsConnection(modelName: "ranked", after: "bm90IGEgY3Vyc29y") { totalCount } }`)).toBe('BAD_USER_INPUT');
  });

  it('continues a ranking after its cursor when versions are verified between pages: none repeated, none skipped', async () => {
    const first3 = [];
    for (const v of [0.9, 0.8, 0.7]) first3.push(await publish(h, 'moving', { metrics: [{ name: 'roc_auc', value: v }] }));
    const q = `query($after: String) { compareVersionsConnection(modelName: "moving", first: 2, after: $after) { edges { node { rank version { id } } } pageInfo { endCursor hasNextPage } totalCount } }`;
    const one = (await h.ok(q, { after: null })).compareVersionsConnection;
    expect(one.edges.map((e: { node: Rank }) => e.node.version.id)).toEqual(first3.slice(0, 2));
    const better = await publish(h, 'moving', { metrics: [{ name: 'roc_auc', value: 0.95 }] }); // ranks before the cursor: not on later pages
    const worse = await publish(h, 'moving', { metrics: [{ name: 'roc_auc', value: 0.6 }] }); // ranks after: on a later page
    const two = (await h.ok(q, { after: one.pageInfo.endCursor })).compareVersionsConnection;
    expect(two.edges.map((e: { node: Rank }) => [e.node.rank, e.node.version.id])).toEqual([[3, first3[2]], [4, worse]]);
    expect(two.totalCount).toBe(5);
    expect(two.pageInfo.hasNextPage).toBe(false);
    expect((await h.ok(q, { after: null })).compareVersionsConnection.edges[0].node.version.id).toBe(better);
  });

    it('pages API tokens newest first with cursors, never repeating one when tokens are created between pages', async () => {
    for (let i = 0; i < 4; i++) await h.token('VIEWER', { name: `pager-${i}` });
    const all = (await h.ok(`{ apiTokens { id } }`)).apiTokens.map((t: { id: string }) => t.id);
    const q = `query($after: String) { apiTokensConnection(first: 3, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor hasPreviousPage startCursor } totalCount } }`;
    const first = (await h.ok(q, { after: null })).apiTokensConnection;
    expect(first.totalCount).toBe(all.length);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    await h.token('VIEWER', { name: 'created-between-pages' });
    const ids = first.edges.map((e: { node: { id: string } }) => e.node.id);
    let after = first.pageInfo.endCursor;
    for (;;) {
      const page = (await h.ok(q, { after })).apiTokensConnection;
      expect(page.pageInfo.hasPreviousPage).toBe(true);
      ids.push(...page.edges.map((e: { node: { id: string } }) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(ids).toEqual(all);
    // Admins only, as apiTokens.
    const viewer = await h.token('VIEWER');
    expect(await h.as(viewer.secret).code(`{ apiTokensConnection { totalCount } }`)).toBe('FORBIDDEN');
  });

  it('fills hasPreviousPage and startCursor on the other lists', async () => {
    const q = `query($after: String) { models(first: 2, after: $after) { edges { cursor } pageInfo { hasNextPage endCursor hasPreviousPage startCursor } } }`;
    const one = (await h.ok(q, { after: null })).models;
    expect(one.pageInfo).toMatchObject({ hasPreviousPage: false, startCursor: one.edges[0].cursor, endCursor: one.edges[1].cursor });
    const two = (await h.ok(q, { after: one.pageInfo.endCursor })).models;
    expect(two.pageInfo).toMatchObject({ hasPreviousPage: true, startCursor: two.edges[0].cursor });
    const empty = (await h.ok(`{ auditEvents(actor: "nobody-at-all") { pageInfo { hasNextPage endCursor hasPreviousPage startCursor } } }`)).auditEvents;
    expect(empty.pageInfo).toEqual({ hasNextPage: false, endCursor: null, hasPreviousPage: false, startCursor: null });
  });

  it('answers the enums with the same strings as before (AuditEvent.action, PresignedUrl.method)', async () => {
    const v = await publish(h, 'enums');
    const e = (await h.ok(`{ auditEvents(modelName: "enums", first: 1) { edges { node { action } } } }`)).auditEvents.edges[0].node;
    expect(e.action).toBe('MODEL_VERSION_READY');
    const url = (await h.ok(`query($id: ID!) { modelVersion(id: $id) { artifacts { downloadUrl { method } } } }`, { id: v })).modelVersion.artifacts[0].downloadUrl;
    expect(url.method).toBe('GET');
  });
});
