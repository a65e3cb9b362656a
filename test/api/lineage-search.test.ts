import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelVersion, VersionStatus } from '../../src/domain/model.js';
import { EMPTY_FILTER, type VersionFilter, type VersionOrder } from '../../src/domain/version-search.js';
import { type Harness, promote, publish, startRegistry, stats } from '../support/api-harness.js';
import { referenceSearch, seeded } from '../support/search-reference.js';

/** Issue 12, lineage and search for dashboards, over real HTTP on the whole stack. */
const SOURCE = { gitCommit: '0123456789abcdef0123456789abcdef01234567', repository: 'https://git.example.com/ml/churn.git', pipelineRunUrl: 'https://ci.example.com/runs/42', runId: 'run-42' };
const DATASET = { uri: 's3://datasets/churn/2026-01.parquet', digest: 'ab'.repeat(32) };
const VERSION_FIELDS = 'id number status createdAt createdBy datasetVersion tags labels metrics { name value } source { gitCommit repository pipelineRunUrl runId } dataset { uri digest }';
const artifact = { path: 'model.pkl', sizeBytes: 3, sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' };

describe('lineage, labels, modelVersions(filter, orderBy), compareVersions(metrics, baseline)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRegistry();
  });
  afterAll(async () => {
    await h.close();
  });

  const register = (input: Record<string, unknown>) =>
    h.gql(`mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version { ${VERSION_FIELDS} } } }`, {
      input: { modelName: 'lineage', modelType: 'xgb', datasetVersion: 'ds-1', metrics: [], artifacts: [artifact], ...input },
    });

  it('registers source, dataset and labels, returns them on ModelVersion and records them in the registration event', async () => {
    const r = await register({ source: SOURCE, dataset: DATASET, labels: { team: 'ml', 'cost.center': '42' } });
    expect(r.errors).toBeUndefined();
    const v = (r.data as any).registerModelVersion.version;
    expect(v).toMatchObject({ source: SOURCE, dataset: DATASET, labels: { 'cost.center': '42', team: 'ml' } });
    const read = await h.ok(`query($id: ID!) { modelVersion(id: $id) { ${VERSION_FIELDS} } }`, { id: v.id });
    expect(read.modelVersion).toEqual(v);
    const events = (await h.ok(`{ auditEvents(modelName: "lineage", action: "MODEL_VERSION_REGISTERED") { edges { node { versionId details } } } }`)).auditEvents.edges;
    expect(events[0].node).toMatchObject({ versionId: v.id, details: { source: SOURCE, dataset: DATASET, labels: { team: 'ml', 'cost.center': '42' } } });
    // Without lineage: null, null, {}.
    const plain = (await register({})).data as any;
    expect(plain.registerModelVersion.version).toMatchObject({ source: null, dataset: null, labels: {} });
  });

  it.each([
    ['input.source.gitCommit', { source: { gitCommit: 'abc123' } }],
    ['input.source.gitCommit', { source: { gitCommit: SOURCE.gitCommit.toUpperCase() } }],
    ['input.source.repository', { source: { repository: 'ftp://git.example.com/x' } }],
    ['input.source.repository', { source: { repository: 'https://user:secret@git.example.com/x.git' } }],
    ['input.source.pipelineRunUrl', { source: { pipelineRunUrl: 'javascript:alert(1)' } }],
    ['input.source.pipelineRunUrl', { source: { pipelineRunUrl: 'https://ci.example.com/runs/1 2' } }],
    ['input.source.runId', { source: { runId: 'a\u0000b' } }],
    ['input.source', { source: {} }],
    ['input.dataset.uri', { dataset: { uri: 'datasets/churn.parquet' } }],
    ['input.dataset.uri', { dataset: { uri: `s3://b/${'x'.repeat(2050)}` } }],
    ['input.dataset.digest', { dataset: { uri: 's3://b/k', digest: 'a'.repeat(63) } }],
    ['input.labels', { labels: ['team'] }],
    ['input.labels.team', { labels: { team: 7 } }],
    ['input.labels', { labels: { 'a=b': 'x' } }],
    ['input.labels.team', { labels: { team: 'x'.repeat(257) } }],
    ['input.labels', { labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) }],
  ])('refuses bad lineage (%s) with BAD_USER_INPUT naming the field, writing nothing', async (field, input) => {
    const before = await stats(h);
    const r = await register(input);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(await stats(h)).toEqual(before);
  });

  it('setVersionLabels replaces labels (publisher), audited; the same labels write nothing; bad labels, a viewer and a missing version are refused', async () => {
    const id = await publish(h, 'labelled', { extra: { labels: { team: 'ml' } } });
    const set = `mutation($id: ID!, $labels: JSON!) { setVersionLabels(versionId: $id, labels: $labels) { id labels } }`;
    expect((await h.ok(set, { id, labels: { team: 'data', tier: 'gold' } })).setVersionLabels).toEqual({ id, labels: { team: 'data', tier: 'gold' } });
    const events = (await h.ok(`{ auditEvents(modelName: "labelled", action: "MODEL_VERSION_LABELS_SET") { edges { node { versionId actor details } } } }`)).auditEvents.edges;
    expect(events).toEqual([{ node: { versionId: id, actor: expect.any(String), details: { labels: { team: 'data', tier: 'gold' }, previous: { team: 'ml' } } } }]);
    const before = await stats(h);
    await h.ok(set, { id, labels: { tier: 'gold', team: 'data' } });
    expect(await stats(h)).toEqual(before);
    const bad = await h.gql(set, { id, labels: { team: ['x'] } });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'labels.team' });
    const viewer = await h.token('VIEWER');
    expect(await h.as(viewer.secret).code(`mutation { setVersionLabels(versionId: "${id}", labels: {}) { id } }`)).toBe('FORBIDDEN');
    expect(await h.code(`mutation { setVersionLabels(versionId: "v20260101000000_00000000", labels: {}) { id } }`)).toBe('NOT_FOUND');
    const after = await stats(h);
    expect(after.versions).toBe(before.versions);
    // Cleared with {}; the label search follows.
    await h.ok(set, { id, labels: {} });
    expect((await h.ok(`{ modelVersions(modelName: "labelled", filter: { labels: { team: "data" } }) { totalCount } }`)).modelVersions.totalCount).toBe(0);
  });

  it('answers modelVersions(filter, orderBy) like a brute-force reference on random versions, every page (seeded)', async () => {
    const rnd = seeded(1203);
    const alice = await h.token('PUBLISHER', { name: 'alice' });
    const bob = await h.token('PUBLISHER', { name: 'bob' });
    for (let i = 0; i < 24; i++) {
      const extra = {
        datasetVersion: rnd.pick(['ds-1', 'ds-2']),
        tags: ['gpu', 'nightly'].filter(() => rnd.chance(0.5)),
        labels: Object.fromEntries([['team', rnd.pick(['ml', 'data'])], ...(rnd.chance(0.5) ? [['env', rnd.pick(['dev', 'prod'])]] : [])]),
      };
      const metrics = [...(rnd.chance(0.8) ? [{ name: 'roc_auc', value: rnd.pick([0.6, 0.7, 0.8]) }] : []), { name: 'f1', value: rnd.int(10) / 10 }];
      const as = { ...h, ...h.as(rnd.chance(0.5) ? alice.secret : bob.secret) } as Harness;
      const complete = rnd.chance(0.7);
      const id = await publish(as, 'dash', { metrics, extra, complete });
      if (complete && rnd.chance(0.3)) await h.ok(`mutation($id: ID!) { archiveModelVersion(versionId: $id) { id } }`, { id });
    }
    const listed = (await h.ok(`{ modelVersions(modelName: "dash", first: 100) { edges { node { ${VERSION_FIELDS} } } } }`)).modelVersions.edges;
    const all: ModelVersion[] = listed.map((e: { node: any }) => ({ ...e.node, modelName: 'dash', createdAt: new Date(e.node.createdAt) }));
    const times = all.map((v) => +v.createdAt).sort((a, b) => a - b);
    const query = `query($filter: VersionFilterInput, $orderBy: VersionOrderInput, $first: Int, $after: String) {
      modelVersions(modelName: "dash", filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
        edges { cursor node { id } } pageInfo { hasNextPage endCursor } totalCount } }`;
    expect(new Set(all.map((v) => v.status))).toEqual(new Set(['PENDING_UPLOAD', 'READY', 'ARCHIVED']));
    let nonEmpty = 0;
    for (let q = 0; q < 40; q++) {
      const filter: Partial<VersionFilter> = {};
      if (rnd.chance(0.3)) filter.statuses = rnd.pick([['PENDING_UPLOAD'], ['ARCHIVED', 'READY'], ['READY']] as VersionStatus[][]);
      if (rnd.chance(0.3)) filter.tags = [rnd.pick(['gpu', 'nightly'])];
      if (rnd.chance(0.3)) filter.labels = { team: rnd.pick(['ml', 'data']) };
      if (rnd.chance(0.2)) filter.datasetVersion = rnd.pick(['ds-1', 'ds-2']);
      if (rnd.chance(0.3)) filter.createdBy = rnd.pick(['alice', 'bob']);
      if (rnd.chance(0.2)) filter.createdAfter = new Date(rnd.pick(times));
      if (rnd.chance(0.2)) filter.createdBefore = new Date(rnd.pick(times));
      if (rnd.chance(0.3)) filter.metric = { name: 'f1', gte: rnd.pick([0.2, 0.5, null]), lte: rnd.pick([0.8, null]) };
      const by = rnd.pick(['NUMBER', 'CREATED_AT', 'METRIC'] as const);
      const order: VersionOrder = { by, metric: by === 'METRIC' ? rnd.pick(['roc_auc', 'f1']) : null, direction: rnd.pick(['ASC', 'DESC'] as const) };
      const expected = referenceSearch(all, { modelName: 'dash', filter: { ...EMPTY_FILTER, ...filter }, order }).map((v) => v.id);
      if (expected.length > 0) nonEmpty++;
      const gqlFilter = { ...filter, createdAfter: filter.createdAfter?.toISOString(), createdBefore: filter.createdBefore?.toISOString() };
      const ids: string[] = [];
      let after: string | null = null;
      for (let p = 0; p < 30; p++) {
        const page: any = (await h.ok(query, { filter: gqlFilter, orderBy: { by: order.by, metric: order.metric, direction: order.direction }, first: 4, after })).modelVersions;
        expect(page.totalCount).toBe(expected.length);
        ids.push(...page.edges.map((e: { node: { id: string } }) => e.node.id));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect({ q, ids }, JSON.stringify({ filter, order })).toEqual({ q, ids: expected });
    }
    expect(nonEmpty).toBeGreaterThan(20);
  });

  it('refuses bad search arguments with BAD_USER_INPUT and keeps the plain modelVersions list as it was', async () => {
    await publish(h, 'plain');
    await publish(h, 'plain');
    const plain = (await h.ok(`{ modelVersions(modelName: "plain") { edges { node { number } } totalCount } }`)).modelVersions;
    expect(plain).toEqual({ edges: [{ node: { number: 2 } }, { node: { number: 1 } }], totalCount: 2 });
    expect((await h.ok(`{ modelVersions(modelName: "plain", status: READY, filter: {}) { totalCount } }`)).modelVersions.totalCount).toBe(2);
    for (const args of [
      'status: READY, filter: { statuses: [READY] }',
      'filter: { metric: { name: "$where" } }',
      'filter: { labels: ["x"] }',
      'filter: { statuses: [] }',
      'orderBy: { by: NUMBER, metric: "f1" }',
      'orderBy: { by: METRIC, metric: "bad name" }',
      'orderBy: { by: CREATED_AT }, after: "bm90IGEgY3Vyc29y"',
    ]) {
      expect(await h.code(`{ modelVersions(modelName: "plain", ${args}) { totalCount } }`), args).toBe('BAD_USER_INPUT');
    }
    const first = (await h.ok(`{ modelVersions(modelName: "plain", orderBy: { by: METRIC }, first: 1) { pageInfo { endCursor } } }`)).modelVersions;
    expect(await h.code(`{ modelVersions(modelName: "plain", orderBy: { by: CREATED_AT }, after: "${first.pageInfo.endCursor}") { totalCount } }`)).toBe('BAD_USER_INPUT');
    expect(await h.code(`{ modelVersions(modelName: "missing", filter: {}) { totalCount } }`)).toBe('NOT_FOUND');
  });

  it('keeps a scoped token to its models: another model answers NOT_FOUND for the search, the labels and the comparison', async () => {
    const id = await publish(h, 'scoped-away', { extra: { labels: { team: 'ml' } } });
    const scoped = h.as((await h.token('PUBLISHER', { modelScope: 'mine-*' })).secret);
    expect(await scoped.code(`{ modelVersions(modelName: "scoped-away", filter: { labels: { team: "ml" } }) { totalCount } }`)).toBe('NOT_FOUND');
    expect(await scoped.code(`mutation { setVersionLabels(versionId: "${id}", labels: { team: "x" }) { id } }`)).toBe('NOT_FOUND');
    expect(await scoped.code(`{ compareVersions(modelName: "scoped-away", baseline: { versionId: "${id}" }) { rank } }`)).toBe('NOT_FOUND');
    expect((await h.ok(`query($id: ID!) { modelVersion(id: $id) { labels } }`, { id })).modelVersion.labels).toEqual({ team: 'ml' });
  });

  it('compareVersions(metrics, baseline): value and delta per metric and a hyperparameter diff; unchanged without them', async () => {
    const prod = await publish(h, 'cmp', { metrics: [{ name: 'roc_auc', value: 0.8 }, { name: 'f1', value: 0.5 }], extra: { hyperparameters: { depth: 4, opt: { lr: 0.1 }, drop: true } } });
    const cand = await publish(h, 'cmp', { metrics: [{ name: 'roc_auc', value: 0.9 }], extra: { hyperparameters: { depth: 6, opt: { lr: 0.1 }, seed: 1 } } });
    expect((await promote(h, prod)).errors).toBeUndefined();
    const rows = `rank version { id } value deltaVsProduction baseline { id } metricDeltas { name value baselineValue delta } hyperparameterDiff { path kind value baselineValue }`;
    const old = (await h.ok(`{ compareVersions(modelName: "cmp") { ${rows} } }`)).compareVersions;
    expect(old.map((r: any) => [r.version.id, r.baseline, r.metricDeltas, r.hyperparameterDiff])).toEqual([[cand, null, null, null], [prod, null, null, null]]);
    const byEnv = (await h.ok(`{ compareVersions(modelName: "cmp", metrics: ["roc_auc", "f1"], baseline: { environment: "production" }) { ${rows} } }`)).compareVersions;
    expect(byEnv[0].baseline).toEqual({ id: prod });
    expect(byEnv[0].metricDeltas).toEqual([
      { name: 'roc_auc', value: 0.9, baselineValue: 0.8, delta: expect.closeTo(0.1, 10) },
      { name: 'f1', value: null, baselineValue: 0.5, delta: null },
    ]);
    expect(byEnv[0].hyperparameterDiff).toEqual([
      { path: 'depth', kind: 'CHANGED', value: 6, baselineValue: 4 },
      { path: 'drop', kind: 'REMOVED', value: null, baselineValue: true },
      { path: 'seed', kind: 'ADDED', value: 1, baselineValue: null },
    ]);
    expect(byEnv[1].hyperparameterDiff).toEqual([]);
    const byId = (await h.ok(`{ compareVersionsConnection(modelName: "cmp", baseline: { versionId: "${cand}" }) { totalCount edges { node { version { id } metricDeltas { name delta } } } } }`)).compareVersionsConnection;
    expect(byId.edges.map((e: any) => [e.node.version.id, e.node.metricDeltas])).toEqual([[cand, [{ name: 'roc_auc', delta: 0 }]], [prod, [{ name: 'roc_auc', delta: expect.closeTo(-0.1, 10) }]]]);
    const noDeployment = (await h.ok(`{ compareVersions(modelName: "cmp", baseline: { environment: "staging" }) { baseline { id } metricDeltas { delta } hyperparameterDiff { path } } }`)).compareVersions;
    expect(noDeployment[0]).toEqual({ baseline: null, metricDeltas: [{ delta: null }], hyperparameterDiff: null });
    const other = await publish(h, 'cmp-other');
    expect(await h.code(`{ compareVersions(modelName: "cmp", baseline: { versionId: "${other}" }) { rank } }`)).toBe('NOT_FOUND');
    expect(await h.code(`{ compareVersions(modelName: "cmp", baseline: { environment: "production", versionId: "${cand}" }) { rank } }`)).toBe('BAD_USER_INPUT');
    expect(await h.code(`{ compareVersions(modelName: "cmp", baseline: {}) { rank } }`)).toBe('BAD_USER_INPUT');
    expect(await h.code(`{ compareVersions(modelName: "cmp", metrics: []) { rank } }`)).toBe('BAD_USER_INPUT');
    expect(await h.code(`{ compareVersions(modelName: "cmp", metrics: ["no way"]) { rank } }`)).toBe('BAD_USER_INPUT');
  });
});
