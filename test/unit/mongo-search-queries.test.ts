import { find } from 'mingo';
import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { ModelVersion, VersionStatus } from '../../src/domain/model.js';
import { EMPTY_FILTER, type SearchPosition, type VersionFilter, type VersionOrder, type VersionSearch } from '../../src/domain/version-search.js';
import { type MetricDoc, type VersionDoc, docToVersion, metricDocId, versionToDoc } from '../../src/stores/mongo/mongo-documents.js';
import type { CountSpec, FindSpec } from '../../src/stores/mongo/mongo-queries.js';
import { searchMetricCountQuery, searchMetricQuery, searchMetricVersionsQuery, searchVersionsQuery } from '../../src/stores/mongo/mongo-search-queries.js';
import { decodeSearchCursor, searchPage } from '../../src/stores/search-cursor.js';
import { newVersion } from '../support/fixtures.js';
import { referenceSearch, seeded } from '../support/search-reference.js';

/**
 * The MEANING of the Mongo search reads (mongo-search-queries.ts), evaluated with mingo on
 * seeded random documents and compared with the brute-force reference, paging included: the
 * pages are walked as MongoVersionSearch walks them (one query per page; for an order by metric,
 * batches of the metric index, then the batch's versions by _id). Their index fit is checked with
 * every other query in mongo-queries.test.ts.
 */
const run = (docs: Document[], spec: FindSpec): Document[] => {
  let c = find(docs, spec.filter);
  if (spec.sort) c = c.sort(spec.sort);
  if (spec.limit !== undefined) c = c.limit(spec.limit);
  return c.all() as Document[];
};
const count = (docs: Document[], spec: CountSpec) => find(docs, spec.filter).all().length;

function makeData(seed: number): { versions: ModelVersion[]; vdocs: Document[]; mdocs: Document[] } {
  const rnd = seeded(seed);
  const base = Date.UTC(2026, 5, 1);
  const versions: ModelVersion[] = [];
  const numbers = new Map<string, number>();
  for (let i = 0; i < 100; i++) {
    const modelName = rnd.chance(0.8) ? 'a' : 'b';
    const number = (numbers.get(modelName) ?? 0) + 1;
    numbers.set(modelName, number);
    const v = newVersion(modelName, {
      createdAt: new Date(base + rnd.int(40) * 1000),
      tags: ['gpu', 'cpu', 'nightly'].filter(() => rnd.chance(0.4)),
      labels: Object.fromEntries([['team', ['ml', 'data']], ['env', ['dev', 'prod']]].filter(() => rnd.chance(0.5)).map(([k, vs]) => [k as string, rnd.pick(vs as string[])])),
      datasetVersion: rnd.pick(['ds-1', 'ds-2']),
      createdBy: rnd.pick(['alice', 'bob']),
      status: rnd.pick(['PENDING_UPLOAD', 'READY', 'READY', 'ARCHIVED', 'FAILED'] as VersionStatus[]),
      metrics: [
        ...(rnd.chance(0.8) ? [{ name: 'roc_auc', value: rnd.pick([0.5, 0.6, 0.7, 0.8]) }] : []),
        ...(rnd.chance(0.6) ? [{ name: 'f1', value: Math.round(rnd.next() * 20) / 20 }] : []),
      ],
    });
    versions.push({ ...v, number, legalHold: null, purgedAt: null, source: null, dataset: null, labels: v.labels ?? {} });
  }
  const vdocs = versions.map((v) => {
    const { pending: _p, pendingAt: _a, ...doc } = versionToDoc(v, { id: 'x', op: 'register', phase: 'committed', audit: {} as never }, new Date());
    return doc as Document;
  });
  const mdocs = versions.flatMap((v) => v.metrics.map((m): MetricDoc => ({
    _id: metricDocId(v.id, m.name), versionId: v.id, modelName: v.modelName, name: m.name, value: m.value, number: v.number,
    verified: v.status === 'READY' || v.status === 'ARCHIVED', statusRev: 0,
  })));
  return { versions, vdocs, mdocs: mdocs as unknown as Document[] };
}

/** One page as MongoVersionSearch computes it. */
function page(data: ReturnType<typeof makeData>, s: VersionSearch, first: number, after: string | null) {
  const position: SearchPosition | null = decodeSearchCursor(s.order, after);
  if (s.order.by !== 'METRIC') {
    const q = searchVersionsQuery(s, position, first + 1);
    return searchPage(run(data.vdocs, q.page).map((d) => docToVersion(d as VersionDoc)), first, count(data.vdocs, q.count), s.order);
  }
  const out: ModelVersion[] = [];
  let from = position?.by === 'METRIC' ? { value: position.value, number: position.number } : null;
  const batchSize = Math.max(first + 1, 3); // small batches, so that walks take several rounds
  while (out.length < first + 1) {
    const batch = run(data.mdocs, searchMetricQuery(s, from, batchSize)) as unknown as MetricDoc[];
    if (batch.length === 0) break;
    const passing = new Map(run(data.vdocs, searchMetricVersionsQuery(s, batch.map((m) => m.versionId))).map((d) => [d._id as string, d]));
    for (const m of batch) {
      const d = passing.get(m.versionId);
      if (d) out.push(docToVersion(d as VersionDoc));
      if (out.length >= first + 1) break;
    }
    if (batch.length < batchSize) break;
    from = { value: batch[batch.length - 1]!.value, number: batch[batch.length - 1]!.number };
  }
  return searchPage(out, first, count(data.vdocs, searchMetricCountQuery(s)), s.order);
}

describe('mongo search reads: meaning (mingo) against the brute-force reference', () => {
  it('gives every random filter and order the reference result, page by page, with the reference count', () => {
    const data = makeData(424242);
    const rnd = seeded(7);
    let nonEmpty = 0;
    for (let q = 0; q < 200; q++) {
      const filter: Partial<VersionFilter> = {};
      if (rnd.chance(0.3)) filter.statuses = (['PENDING_UPLOAD', 'READY', 'FAILED', 'ARCHIVED'] as VersionStatus[]).filter(() => rnd.chance(0.5)).concat('READY').filter((x, i, xs) => xs.indexOf(x) === i).sort();
      if (rnd.chance(0.3)) filter.tags = [...new Set([rnd.pick(['gpu', 'cpu', 'nightly']), ...(rnd.chance(0.3) ? ['gpu'] : [])])];
      if (rnd.chance(0.3)) filter.labels = rnd.chance(0.5) ? { team: rnd.pick(['ml', 'data']) } : { team: 'ml', env: rnd.pick(['dev', 'prod']) };
      if (rnd.chance(0.2)) filter.datasetVersion = rnd.pick(['ds-1', 'ds-2']);
      if (rnd.chance(0.2)) filter.createdBy = rnd.pick(['alice', 'bob']);
      if (rnd.chance(0.25)) filter.createdAfter = new Date(Date.UTC(2026, 5, 1) + rnd.int(40) * 1000);
      if (rnd.chance(0.25)) filter.createdBefore = new Date(Date.UTC(2026, 5, 1) + rnd.int(40) * 1000);
      if (rnd.chance(0.3)) filter.metric = { name: rnd.pick(['roc_auc', 'f1']), gte: rnd.chance(0.5) ? rnd.pick([0.3, 0.6]) : null, lte: rnd.chance(0.5) ? rnd.pick([0.7, 0.9]) : null };
      const by = rnd.pick(['NUMBER', 'CREATED_AT', 'METRIC'] as const);
      const order: VersionOrder = { by, metric: by === 'METRIC' ? rnd.pick(['roc_auc', 'f1']) : null, direction: rnd.pick(['ASC', 'DESC'] as const) };
      const s: VersionSearch = { modelName: rnd.chance(0.8) ? 'a' : 'b', filter: { ...EMPTY_FILTER, ...filter }, order };
      const expected = referenceSearch(data.versions, s).map((v) => v.id);
      if (expected.length > 0) nonEmpty++;
      const size = 2 + rnd.int(7);
      const ids: string[] = [];
      let after: string | null = null;
      for (let p = 0; p < 500; p++) {
        const got = page(data, s, size, after);
        expect(got.totalCount, JSON.stringify(s)).toBe(expected.length);
        ids.push(...got.items.map((i) => i.node.id));
        if (!got.hasNextPage) break;
        after = got.items[got.items.length - 1]!.cursor;
      }
      expect({ q, ids }, JSON.stringify(s)).toEqual({ q, ids: expected });
    }
    expect(nonEmpty).toBeGreaterThan(100);
  }, 120_000);
});
