import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/domain/errors.js';
import type { ModelVersion, NewModelVersion, SortDirection, VersionStatus } from '../../src/domain/model.js';
import { EMPTY_FILTER, type VersionFilter, type VersionOrder, type VersionSearch } from '../../src/domain/version-search.js';
import type { RegistryStore } from '../../src/stores/registry.store.js';
import { draft, eventAt, newVersion } from '../support/fixtures.js';
import { referenceSearch, seeded } from '../support/search-reference.js';

type OpenStore = () => Promise<{ store: RegistryStore; close: () => Promise<void> }>;

const BY_NUMBER: VersionOrder = { by: 'NUMBER', metric: null, direction: 'DESC' };
const search = (modelName: string, filter: Partial<VersionFilter> = {}, order: VersionOrder = BY_NUMBER): VersionSearch => ({
  modelName, filter: { ...EMPTY_FILTER, ...filter }, order,
});

/** searchVersions and setVersionLabels (stores/version-search.store.ts): run on every RegistryStore implementation. */
export function describeVersionSearchStore(name: string, open: OpenStore): void {
  describe(`VersionSearchStore contract: ${name}`, () => {
    let store: RegistryStore;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ store, close } = await open());
    });
    afterEach(async () => {
      await close();
    });

    const register = (model: string, overrides: Partial<NewModelVersion> = {}) =>
      store.registerVersion(newVersion(model, overrides), (v) => draft('MODEL_VERSION_REGISTERED', { modelName: v.modelName, versionId: v.id }));
    const move = async (v: ModelVersion, from: VersionStatus[], to: VersionStatus) => {
      const r = await store.transitionVersion(v.id, { from, to, failureReason: to === 'FAILED' ? 'x' : null, requireUndeployed: false }, draft('MODEL_VERSION_READY'));
      if (r.kind !== 'ok') throw new Error(`transition failed: ${r.kind}`);
      return r.version;
    };
    /** Every page of a search, `first` at a time. */
    const allPages = async (s: VersionSearch, first: number) => {
      const out: { ids: string[]; totals: number[]; pages: number } = { ids: [], totals: [], pages: 0 };
      let after: string | null = null;
      for (;;) {
        const page = await store.searchVersions(s, { first, after });
        out.pages++;
        out.totals.push(page.totalCount);
        out.ids.push(...page.items.map((i) => i.node.id));
        if (!page.hasNextPage) return out;
        after = page.items[page.items.length - 1]!.cursor;
        if (out.pages > 500) throw new Error('paging does not end');
      }
    };

    it('stores lineage and labels as registered; a version registered without them reads null, null, {}', async () => {
      const source = { gitCommit: 'a'.repeat(40), repository: 'https://git.example.com/ml/churn.git', pipelineRunUrl: 'https://ci.example.com/runs/7', runId: 'run-7' };
      const dataset = { uri: 's3://data/churn/2026-01', digest: 'b'.repeat(64) };
      const v = await register('lin', { source, dataset, labels: { team: 'ml', 'cost.center': '42' } });
      const plain = await register('lin');
      for (const got of [v, await store.getVersion(v.id)]) expect(got).toMatchObject({ source, dataset, labels: { team: 'ml', 'cost.center': '42' } });
      for (const got of [plain, await store.getVersion(plain.id)]) expect(got).toMatchObject({ source: null, dataset: null, labels: {} });
    });

    it('setVersionLabels replaces the labels with its audit event in one write; label searches follow; null for a missing version', async () => {
      const v = await register('lab', { labels: { team: 'ml' } });
      const before = (await store.auditEventsAfter(0, 1000)).length;
      const updated = await store.setVersionLabels(v.id, { team: 'data', tier: 'gold' }, draft('MODEL_VERSION_LABELS_SET', { modelName: 'lab', versionId: v.id }));
      expect(updated).toMatchObject({ id: v.id, labels: { team: 'data', tier: 'gold' } });
      expect((await store.getVersion(v.id))!.labels).toEqual({ team: 'data', tier: 'gold' });
      expect((await eventAt(store, before + 1))!.action).toBe('MODEL_VERSION_LABELS_SET');
      expect((await store.searchVersions(search('lab', { labels: { team: 'ml' } }), { first: 10, after: null })).totalCount).toBe(0);
      expect((await store.searchVersions(search('lab', { labels: { team: 'data', tier: 'gold' } }), { first: 10, after: null })).items.map((i) => i.node.id)).toEqual([v.id]);
      expect(await store.setVersionLabels('v20260101000000_00000000', {}, draft('MODEL_VERSION_LABELS_SET'))).toBeNull();
      expect((await store.auditEventsAfter(0, 1000)).length).toBe(before + 1);
    });

    it('sees tag changes (updateVersionMetadata) and status changes in its filters', async () => {
      const v = await register('chg', { tags: ['old'] });
      await store.updateVersionMetadata(v.id, { tags: ['new', 'gpu'] }, draft('MODEL_VERSION_UPDATED'));
      expect((await store.searchVersions(search('chg', { tags: ['old'] }), { first: 5, after: null })).totalCount).toBe(0);
      expect((await store.searchVersions(search('chg', { tags: ['gpu', 'new'] }), { first: 5, after: null })).totalCount).toBe(1);
      await move(v, ['PENDING_UPLOAD'], 'READY');
      expect((await store.searchVersions(search('chg', { statuses: ['PENDING_UPLOAD'] }), { first: 5, after: null })).totalCount).toBe(0);
      expect((await store.searchVersions(search('chg', { statuses: ['READY'] }), { first: 5, after: null })).totalCount).toBe(1);
    });

    it('orders by metric leaving out versions lacking it, ties by number in the same direction, and refuses a cursor of another order', async () => {
      const a = await register('ord', { metrics: [{ name: 'f1', value: 0.5 }] });
      await register('ord', { metrics: [] });
      const c = await register('ord', { metrics: [{ name: 'f1', value: 0.7 }] });
      const d = await register('ord', { metrics: [{ name: 'f1', value: 0.5 }] });
      const byMetric = (direction: SortDirection): VersionOrder => ({ by: 'METRIC', metric: 'f1', direction });
      expect((await allPages(search('ord', {}, byMetric('DESC')), 1)).ids).toEqual([c.id, d.id, a.id]);
      expect((await allPages(search('ord', {}, byMetric('ASC')), 2)).ids).toEqual([a.id, d.id, c.id]);
      const first = await store.searchVersions(search('ord', {}, byMetric('DESC')), { first: 1, after: null });
      expect(first.totalCount).toBe(3);
      await expect(store.searchVersions(search('ord'), { first: 1, after: first.items[0]!.cursor })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(store.searchVersions(search('ord', {}, byMetric('ASC')), { first: 1, after: first.items[0]!.cursor })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(store.searchVersions(search('ord'), { first: 1, after: 'garbage' })).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('answers every filter and order like a brute-force reference on random data, whole results and pages (seeded)', async () => {
      const rnd = seeded(20261203);
      const base = Date.UTC(2026, 5, 1);
      const tags = ['gpu', 'cpu', 'nightly', 'canary'];
      const labelPool: [string, string[]][] = [['team', ['ml', 'data']], ['env', ['dev', 'prod']], ['owner.id', ['7', '8', '9']]];
      const all = new Map<string, ModelVersion>();
      for (let i = 0; i < 90; i++) {
        const metrics = [
          ...(rnd.chance(0.8) ? [{ name: 'roc_auc', value: rnd.pick([0.5, 0.6, 0.7, 0.8, 0.9]) }] : []),
          ...(rnd.chance(0.6) ? [{ name: 'f1', value: Math.round(rnd.next() * 100) / 100 }] : []),
        ];
        const labels = Object.fromEntries(labelPool.filter(() => rnd.chance(0.5)).map(([k, vs]) => [k, rnd.pick(vs)]));
        let v = await register(rnd.chance(0.8) ? 'rnd-a' : 'rnd-b', {
          // Ties and registration times out of number order on purpose.
          createdAt: new Date(base + rnd.int(30) * 1000),
          tags: tags.filter(() => rnd.chance(0.35)),
          labels,
          datasetVersion: rnd.pick(['ds-1', 'ds-2', 'ds-3']),
          createdBy: rnd.pick(['alice', 'bob', 'carol']),
          metrics,
        });
        const roll = rnd.next();
        if (roll < 0.6) v = await move(v, ['PENDING_UPLOAD'], 'READY');
        if (roll < 0.2) v = await move(v, ['READY'], 'ARCHIVED');
        if (roll > 0.9) v = await move(v, ['PENDING_UPLOAD'], 'FAILED');
        if (rnd.chance(0.1)) v = (await store.updateVersionMetadata(v.id, { tags: tags.filter(() => rnd.chance(0.5)) }, draft('MODEL_VERSION_UPDATED')))!;
        if (rnd.chance(0.1)) v = (await store.setVersionLabels(v.id, { team: rnd.pick(['ml', 'data']) }, draft('MODEL_VERSION_LABELS_SET')))!;
        all.set(v.id, v);
      }
      const versions = [...all.values()];
      let nonEmpty = 0;
      for (let q = 0; q < 160; q++) {
        const filter: Partial<VersionFilter> = {};
        if (rnd.chance(0.3)) filter.statuses = (['PENDING_UPLOAD', 'READY', 'FAILED', 'ARCHIVED'] as VersionStatus[]).filter(() => rnd.chance(0.5)).concat('READY').filter((s, i, xs) => xs.indexOf(s) === i).sort();
        if (rnd.chance(0.3)) filter.tags = [...new Set([rnd.pick(tags), ...(rnd.chance(0.3) ? [rnd.pick(tags)] : [])])];
        if (rnd.chance(0.3)) filter.labels = Object.fromEntries(labelPool.filter(() => rnd.chance(0.5)).map(([k, vs]) => [k, rnd.pick(vs)]));
        if (rnd.chance(0.2)) filter.datasetVersion = rnd.pick(['ds-1', 'ds-2', 'ds-3', 'ds-none']);
        if (rnd.chance(0.2)) filter.createdBy = rnd.pick(['alice', 'bob', 'carol']);
        if (rnd.chance(0.25)) filter.createdAfter = new Date(base + rnd.int(30) * 1000);
        if (rnd.chance(0.25)) filter.createdBefore = new Date(base + rnd.int(30) * 1000);
        if (rnd.chance(0.3)) {
          const lo = rnd.chance(0.6) ? rnd.pick([0.5, 0.6, 0.7, 0.35]) : null;
          filter.metric = { name: rnd.pick(['roc_auc', 'f1']), gte: lo, lte: rnd.chance(0.5) ? rnd.pick([0.7, 0.8, 0.9, 0.55]) : null };
        }
        const by = rnd.pick(['NUMBER', 'CREATED_AT', 'METRIC'] as const);
        const order: VersionOrder = { by, metric: by === 'METRIC' ? rnd.pick(['roc_auc', 'f1']) : null, direction: rnd.pick(['ASC', 'DESC'] as const) };
        const s = search(rnd.chance(0.8) ? 'rnd-a' : 'rnd-b', filter, order);
        const expected = referenceSearch(versions, s).map((v) => v.id);
        if (expected.length > 0) nonEmpty++;
        const size = 1 + rnd.int(8);
        const got = await allPages(s, size);
        expect({ q, ids: got.ids }, JSON.stringify(s)).toEqual({ q, ids: expected });
        expect(got.totals.every((t) => t === expected.length), JSON.stringify(s)).toBe(true);
        expect(got.pages).toBe(Math.max(1, Math.ceil(expected.length / size)));
      }
      // The random queries are not vacuous: most of them match something.
      expect(nonEmpty).toBeGreaterThan(80);
    });
  });
}
