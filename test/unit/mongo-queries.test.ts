import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { aggregate, find, update, updateOne } from 'mingo';
import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { ModelVersion, VersionStatus } from '../../src/domain/model.js';
import { compareByMetric } from '../../src/domain/ranking.js';
import { COLLECTIONS, type PendingMarker } from '../../src/stores/mongo/mongo-documents.js';
import { MONGO_INDEXES, findIndex } from '../../src/stores/mongo/mongo-indexes.js';
import * as Reads from '../../src/stores/mongo/mongo-queries.js';
import * as Batch from '../../src/stores/mongo/mongo-batch-queries.js';
import * as Updates from '../../src/stores/mongo/mongo-updates.js';
import * as Anchors from '../../src/stores/mongo/mongo-anchors.js';
import * as Leases from '../../src/stores/mongo/mongo-leases.js';
import * as Keys from '../../src/stores/mongo/mongo-key-specs.js';
import * as Hooks from '../../src/stores/mongo/mongo-webhook-specs.js';
import * as Gov from '../../src/stores/mongo/mongo-governance-specs.js';
import * as Search from '../../src/stores/mongo/mongo-search-queries.js';
import { EMPTY_FILTER, type VersionFilter, type VersionOrder } from '../../src/domain/version-search.js';
import { newClaim } from '../../src/domain/idempotency.js';

const Q = { ...Reads, ...Updates, ...Anchors, ...Leases, ...Keys, ...Hooks, ...Gov, ...Search };
type UpdateSpec = Updates.UpdateSpec;
type FindSpec = Reads.FindSpec;
import { type FoundPending, planRecovery } from '../../src/stores/mongo/mongo-recovery.js';
import type { AuditFilter } from '../../src/stores/registry.store.js';

/**
 * What can be checked without a MongoDB server. The filters, sorts and updates the Mongo store
 * sends are evaluated for their MEANING with mingo (an in-memory implementation of MongoDB's query
 * and update language): a check of query meaning, not a test of MongoDB. Then every query is
 * compared with the declared index list, and recovery planning is checked at each crash point.
 */
const run = (docs: Document[], spec: FindSpec): Document[] => {
  let c = find(docs, spec.filter);
  if (spec.sort) c = c.sort(spec.sort);
  if (spec.limit !== undefined) c = c.limit(spec.limit);
  return c.all() as Document[];
};
const matches = (doc: Document, filter: Document) => find([doc], filter).all().length === 1;
/** Applies an update to an EXISTING document (where MongoDB ignores $setOnInsert; mingo does not know it). */
const applied = (doc: Document, spec: UpdateSpec): Document => {
  const copy = structuredClone(doc);
  const { $setOnInsert: _insertOnly, ...modifier } = ops(spec);
  update(copy, modifier);
  return copy;
};
/** The update operators of a spec (every spec but the lease's pipeline). */
const ops = (spec: UpdateSpec): Document => {
  if (Array.isArray(spec.update)) throw new Error('a pipeline update: use mingo updateOne');
  return spec.update;
};
/** Applies an update PIPELINE to an existing document, as the server would (mingo evaluates $$NOW with its own clock). */
const appliedPipeline = (doc: Document, spec: UpdateSpec): Document => {
  const docs = [structuredClone(doc)];
  updateOne(docs, spec.filter, spec.update as unknown as Parameters<typeof updateOne>[2]);
  return docs[0]!;
};
/** A page's total as the store computes it: a count, or the head's sequence less the hidden events. */
const total = (docs: Document[], count: Reads.AuditCount): number => {
  if (!('fromHead' in count)) return find(docs, count.filter).all().length;
  const head = run(docs, Q.auditHeadQuery())[0]?.sequence ?? 0;
  return head - (count.minus ? find(docs, count.minus.filter).all().length : 0);
};
const marker = (id: string, phase: PendingMarker['phase'] = 'intent', op: PendingMarker['op'] = 'move'): PendingMarker => ({
  id, op, phase, audit: { id, occurredAt: new Date(0), actor: 'a', action: 'X', modelName: null, versionId: null, details: '{}' },
});

describe('mongo queries: meaning (evaluated with mingo)', () => {
  describe('pointer compare-and-set', () => {
    const target = { modelName: 'm', environment: 'production' };
    const pointers = [
      { _id: 'm:production', ...target, versionId: 'v1', deploymentId: 'd1', revision: 1 },
      { _id: 'm:production', ...target, versionId: 'v2', deploymentId: 'd2', revision: 2 },
      { _id: 'm:production', ...target, versionId: 'v1', deploymentId: 'd1', revision: 1, pending: marker('other'), pendingAt: new Date() },
      { _id: 'm:staging', modelName: 'm', environment: 'staging', versionId: 'v1', deploymentId: 'd1', revision: 1 },
    ];

    it('reserves only the expected revision of that pointer, and only when no other move is pending', () => {
      const spec = Q.reservePointer('m:production', target, 1, marker('mine'));
      expect(pointers.map((p) => matches(p, spec.filter))).toEqual([true, false, false, false]);
      expect(spec.upsert).toBe(false);
      const reserved = applied(pointers[0]!, spec);
      expect(reserved).toMatchObject({ revision: 1, versionId: 'v1', pending: { id: 'mine', phase: 'intent' } });
      expect(reserved.pendingAt).toBeInstanceOf(Date);
      expect(matches(reserved, spec.filter)).toBe(false); // a second reservation loses
    });

    it('with no pointer yet, reserves the revision-0 placeholder (upsert) and never a deployed pointer', () => {
      const spec = Q.reservePointer('m:production', target, null, marker('mine'));
      expect(spec.upsert).toBe(true);
      const placeholder = { _id: 'm:production', ...target, versionId: null, deploymentId: null, revision: 0 };
      expect(matches(placeholder, spec.filter)).toBe(true);
      expect(pointers.map((p) => matches(p, spec.filter))).toEqual([false, false, false, false]);
      expect(ops(spec).$setOnInsert).toEqual({ ...target, versionId: null, deploymentId: null, audit: null });
    });

    it('commits only its own undecided reservation, exactly once', () => {
      const reserved = applied(pointers[0]!, Q.reservePointer('m:production', target, 1, marker('mine')));
      const commit = Q.commitPointer('m:production', 'mine', { versionId: 'v2', deploymentId: 'd2', revision: 2 });
      expect(matches(reserved, commit.filter)).toBe(true);
      expect(matches(reserved, Q.commitPointer('m:production', 'other', { versionId: 'v2', deploymentId: 'd2', revision: 2 }).filter)).toBe(false);
      const committed = applied(reserved, commit);
      expect(committed).toMatchObject({ versionId: 'v2', deploymentId: 'd2', revision: 2, pending: { id: 'mine', phase: 'committed' } });
      expect(matches(committed, commit.filter)).toBe(false);
      expect(matches(committed, Q.releaseIntent(COLLECTIONS.pointers, 'm:production', 'mine').filter)).toBe(false);
      const cleared = applied(committed, Q.clearMarker(COLLECTIONS.pointers, 'm:production', 'mine'));
      expect(cleared.pending).toBeUndefined();
      expect(cleared.pendingAt).toBeUndefined();
    });

    it('aborts a reservation only past the lease (server clock) and only while undecided', () => {
      const old = { ...pointers[0]!, pending: marker('mine'), pendingAt: new Date(Date.now() - 60_000) };
      const young = { ...old, pendingAt: new Date() };
      const abort = Q.abortStaleIntent(COLLECTIONS.pointers, 'm:production', 'mine', 30_000);
      expect(matches(old, abort.filter)).toBe(true);
      expect(matches(young, abort.filter)).toBe(false);
      expect(matches({ ...old, pending: marker('mine', 'committed') }, abort.filter)).toBe(false);
      expect(matches(young, Q.abortStaleIntent(COLLECTIONS.pointers, 'm:production', 'mine', 0).filter)).toBe(true);
    });
  });

  describe('versions', () => {
    const docs = [
      ...Array.from({ length: 7 }, (_, i) => ({ _id: `v${i + 1}`, modelName: 'm', number: i + 1, status: i % 2 === 0 ? 'READY' : 'PENDING_UPLOAD' })),
      { _id: 'x1', modelName: 'other', number: 9, status: 'READY' },
    ];

    it('pages newest first after a cursor, with and without a status filter', () => {
      const q = Q.listVersionsQuery({ modelName: 'm', status: null }, 5, 2);
      expect(run(docs, q.page).map((d) => d.number)).toEqual([4, 3, 2]); // first + 1 rows: the extra one tells hasNextPage
      expect(find(docs, q.count.filter).all()).toHaveLength(7);
      const ready = Q.listVersionsQuery({ modelName: 'm', status: 'READY' }, null, 10);
      expect(run(docs, ready.page).map((d) => d.number)).toEqual([7, 5, 3, 1]);
      expect(run(docs, Q.latestVersionQuery('m', 'PENDING_UPLOAD')).map((d) => d.number)).toEqual([6]);
      expect(run(docs, Q.maxNumberQuery('m')).map((d) => d.number)).toEqual([7]);
      expect(run(docs, Q.maxNumberQuery('none'))).toEqual([]);
      expect(run(docs, Q.versionByNumberQuery('m', 3)).map((d) => d._id)).toEqual(['v3']);
      expect(run(docs, Q.versionByNumberQuery('other', 3))).toEqual([]);
    });

    it('finds pending versions registered before a time, oldest first, across models', () => {
      const dated = docs.map((d, i) => ({ ...d, createdAt: new Date(1000 * (10 - i)) }));
      const pending = dated.filter((d) => d.status === 'PENDING_UPLOAD');
      expect(pending.length).toBeGreaterThan(2);
      const cutoff = new Date(1000 * 9);
      const expected = pending.filter((d) => d.createdAt < cutoff).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).map((d) => d._id);
      expect(run(dated, Q.stalePendingQuery(cutoff, 10)).map((d) => d._id)).toEqual(expected);
      expect(run(dated, Q.stalePendingQuery(cutoff, 1)).map((d) => d._id)).toEqual(expected.slice(0, 1));
      expect(run(dated, Q.stalePendingQuery(new Date(0), 10))).toEqual([]);
    });

    it('registration reads only the highest number, a covered query (never the version document)', () => {
      const q = Q.maxNumberQuery('m');
      expect(q.projection).toEqual({ _id: 0, number: 1 });
      const index = findIndex(q.collection, q.index)!;
      const projected = Object.entries(q.projection!).filter(([, on]) => on === 1).map(([k]) => k);
      expect(projected.every((k) => k in index.key)).toBe(true);
      expect(Object.keys(q.filter).every((k) => k in index.key)).toBe(true);
      expect(find(docs, q.filter, q.projection).sort(q.sort!).limit(1).all()).toEqual([{ number: 7 }]);
    });

    it('ranks by metric then higher number, verified only, in the domain order; then the versions lacking it', () => {
      const versions: Pick<ModelVersion, 'id' | 'number' | 'metrics' | 'status'>[] = [
        { id: 'a', number: 1, metrics: [{ name: 'f1', value: 0.5 }], status: 'READY' },
        { id: 'b', number: 2, metrics: [{ name: 'f1', value: 0.9 }], status: 'READY' },
        { id: 'c', number: 3, metrics: [{ name: 'acc', value: 0.7 }], status: 'READY' },
        { id: 'd', number: 4, metrics: [{ name: 'f1', value: 0.9 }], status: 'ARCHIVED' },
        { id: 'e', number: 5, metrics: [{ name: 'f1', value: 0.99 }], status: 'PENDING_UPLOAD' },
        { id: 'f', number: 6, metrics: [{ name: 'f1', value: 0.1 }], status: 'READY' },
      ];
      const verified = (s: VersionStatus) => s === 'READY' || s === 'ARCHIVED';
      const metricDocs = versions.flatMap((v) =>
        v.metrics.map((m) => ({ _id: `${v.id}/${m.name}`, versionId: v.id, modelName: 'm', name: m.name, value: m.value, number: v.number, verified: verified(v.status) })),
      );
      metricDocs.push({ _id: 'z/f1', versionId: 'z', modelName: 'other', name: 'f1', value: 5, number: 1, verified: true });
      const versionDocs = versions.map((v) => ({ _id: v.id, modelName: 'm', number: v.number, status: v.status, metrics: v.metrics }));
      for (const direction of ['ASC', 'DESC'] as const) {
        const ranked = run(metricDocs, Q.rankQuery({ modelName: 'm', metric: 'f1', direction, limit: 10 })).map((d) => d.versionId as string);
        const lacking = run(versionDocs, Q.unrankedQuery({ modelName: 'm', metric: 'f1', statuses: ['READY', 'ARCHIVED'], limit: 10 })).map((d) => d._id as string);
        const expected = versions
          .filter((v) => verified(v.status))
          .map((v) => ({ ...v, metrics: v.metrics }) as unknown as ModelVersion)
          .sort(compareByMetric('f1', direction))
          .map((v) => v.id);
        expect([...ranked, ...lacking]).toEqual(expected);
        // Keyset pages, as the store runs them: after each position, the rest in the same order.
        const byId = new Map(versions.map((v) => [v.id, v]));
        for (let i = 0; i < expected.length; i++) {
          const at = byId.get(expected[i]!)!;
          const value = at.metrics.find((m) => m.name === 'f1')?.value ?? null;
          const rankedAfter = value === null ? [] : run(metricDocs, Q.rankQuery({ modelName: 'm', metric: 'f1', direction, limit: 10, after: { value, number: at.number } })).map((d) => d.versionId as string);
          const lackingAfter = run(versionDocs, Q.unrankedQuery({ modelName: 'm', metric: 'f1', statuses: ['READY', 'ARCHIVED'], limit: 10, beforeNumber: value === null ? at.number : null })).map((d) => d._id as string);
          expect([...rankedAfter, ...lackingAfter], `${direction} after ${expected[i]}`).toEqual(expected.slice(i + 1));
        }
      }
      expect(run(metricDocs, Q.rankQuery({ modelName: 'm', metric: 'f1', direction: 'DESC', limit: 2 })).map((d) => d.versionId)).toEqual(['d', 'b']);
    });

    it('keeps `verified` in step with status: a stale (lower statusRev) write matches nothing', () => {
      const doc = { _id: 'v1/f1', versionId: 'v1', verified: true, statusRev: 2 };
      expect(matches(doc, Q.syncMetricsUpdate('v1', false, 1).filter)).toBe(false);
      expect(matches(doc, Q.syncMetricsUpdate('v1', false, 2).filter)).toBe(false);
      expect(applied(doc, Q.syncMetricsUpdate('v1', false, 3))).toMatchObject({ verified: false, statusRev: 3 });
      const inserts = Q.metricUpserts({ id: 'v1', modelName: 'm', number: 1, metrics: [{ name: 'f1', value: 1 }] }, false);
      expect(Object.keys(ops(inserts[0]!))).toEqual(['$setOnInsert']); // a late replay of registration changes nothing
    });

    it('changes status only from the status and revision it read, and only without another pending write', () => {
      const doc = { _id: 'v1', status: 'READY', statusRev: 1 };
      const direct = Q.transitionDirect('v1', { status: 'READY', statusRev: 1 }, { to: 'ARCHIVED', failureReason: null }, marker('t', 'committed', 'transition'));
      expect(matches(doc, direct.filter)).toBe(true);
      expect(matches({ ...doc, statusRev: 2 }, direct.filter)).toBe(false);
      expect(matches({ ...doc, pending: marker('x') }, direct.filter)).toBe(false);
      expect(applied(doc, direct)).toMatchObject({ status: 'ARCHIVED', statusRev: 2, pending: { id: 't', phase: 'committed' } });
      const reserved = applied(doc, Q.transitionIntent('v1', { status: 'READY', statusRev: 1 }, marker('t', 'intent', 'transition')));
      expect(reserved).toMatchObject({ status: 'READY', statusRev: 1, pending: { phase: 'intent' } });
      const commit = Q.transitionCommit('v1', 't', { to: 'ARCHIVED', failureReason: null });
      expect(applied(reserved, commit)).toMatchObject({ status: 'ARCHIVED', statusRev: 2, pending: { phase: 'committed' } });
      expect(matches(applied(reserved, Q.releaseIntent(COLLECTIONS.versions, 'v1', 't')), commit.filter)).toBe(false);
    });

    it('with noHold, changes status only of a version not on legal hold (absent or null: not held)', () => {
      const doc = { _id: 'v1', status: 'READY', statusRev: 1 };
      const held = { ...doc, legalHold: { reason: 'case', setBy: 'a', setAt: new Date(1) } };
      const direct = Q.transitionDirect('v1', { status: 'READY', statusRev: 1 }, { to: 'ARCHIVED', failureReason: null }, marker('t', 'committed', 'transition'), true);
      const intent = Q.transitionIntent('v1', { status: 'READY', statusRev: 1 }, marker('t', 'intent', 'transition'), true);
      for (const spec of [direct, intent]) {
        expect(matches(doc, spec.filter)).toBe(true); // a version from before holds existed
        expect(matches({ ...doc, legalHold: null }, spec.filter)).toBe(true);
        expect(matches(held, spec.filter)).toBe(false);
      }
      // Without the flag a hold is not looked at (the cleanup and completion never archive).
      expect(matches(held, Q.transitionDirect('v1', { status: 'READY', statusRev: 1 }, { to: 'FAILED', failureReason: 'x' }, marker('t', 'committed', 'transition')).filter)).toBe(true);
    });

    it('sets and releases a legal hold with its marker, only on a version with no unfinished write', () => {
      const doc = { _id: 'v1', status: 'READY', statusRev: 1 };
      const h = { reason: 'case', setBy: 'a', setAt: new Date(1) };
      const set = Q.legalHoldUpdate('v1', h, marker('h', 'committed', 'update'));
      expect(applied(doc, set)).toMatchObject({ legalHold: h, status: 'READY', statusRev: 1, pending: { id: 'h', phase: 'committed' } });
      expect(matches({ ...doc, pending: marker('x') }, set.filter)).toBe(false);
      expect(applied({ ...doc, legalHold: h }, Q.legalHoldUpdate('v1', null, marker('r', 'committed', 'update')))).toMatchObject({ legalHold: null });
    });

    it('records a purge only of the ARCHIVED version at the revision read, not held, not purged, with no unfinished write', () => {
      const doc = { _id: 'v1', status: 'ARCHIVED', statusRev: 2 };
      const at = new Date(5);
      const spec = Q.purgeMarkUpdate('v1', 2, at, marker('p', 'committed', 'update'));
      expect(applied(doc, spec)).toMatchObject({ purgedAt: at, status: 'ARCHIVED', pending: { id: 'p', phase: 'committed' } });
      expect(matches({ ...doc, legalHold: null, purgedAt: null }, spec.filter)).toBe(true);
      expect(matches({ ...doc, status: 'READY' }, spec.filter)).toBe(false);
      expect(matches({ ...doc, statusRev: 3 }, spec.filter)).toBe(false);
      expect(matches({ ...doc, legalHold: { reason: 'case', setBy: 'a', setAt: new Date(1) } }, spec.filter)).toBe(false);
      expect(matches({ ...doc, purgedAt: new Date(1) }, spec.filter)).toBe(false);
      expect(matches({ ...doc, pending: marker('x') }, spec.filter)).toBe(false);
    });

    it('upserts the model idempotently and in any order ($min createdAt, $max versionCount)', () => {
      const regs = [1, 2, 3].map((n) => Q.modelUpsert({ modelName: 'm', number: n, createdAt: new Date(1000 * n) }));
      for (const order of [[0, 1, 2], [2, 0, 1], [1, 2, 0, 2, 1]]) {
        const doc: Document = { _id: 'm', description: 'kept', createdAt: new Date(5000), versionCount: 0 };
        for (const i of order) update(doc, { $min: ops(regs[i]!).$min, $max: ops(regs[i]!).$max });
        expect(doc).toEqual({ _id: 'm', description: 'kept', createdAt: new Date(1000), versionCount: 3 });
      }
    });
  });

  describe('models, deployments, tokens', () => {
    it('searches model names for a literal substring (regex characters escaped)', () => {
      const docs = ['a_model', 'abc', 'b-model', 'c1', 'a.c', 'x(1)'].map((_id) => ({ _id }));
      const names = (search: string | null, after: string | null = null) => run(docs, Q.listModelsQuery({ search }, after, 10).page).map((d) => d._id);
      expect(names(null)).toEqual(['a.c', 'a_model', 'abc', 'b-model', 'c1', 'x(1)']);
      expect(names('_')).toEqual(['a_model']);
      expect(names('.')).toEqual(['a.c']);
      expect(names('(1')).toEqual(['x(1)']);
      expect(names('%')).toEqual([]);
      expect(names('model', 'a_model')).toEqual(['b-model']);
    });

    it('limits model lists to a token scope (exact name or prefix), with search, cursor and count', () => {
      const docs = ['other', 'team', 'team-a', 'team-b', 'team-b2', 'teams', 'tean'].map((_id) => ({ _id }));
      const q = (scope: string, search: string | null = null, after: string | null = null) => Q.listModelsQuery({ search, scope }, after, 10);
      const names = (scope: string, search: string | null = null, after: string | null = null) => run(docs, q(scope, search, after).page).map((d) => d._id);
      expect(names('team-*')).toEqual(['team-a', 'team-b', 'team-b2']);
      expect(names('team*')).toEqual(['team', 'team-a', 'team-b', 'team-b2', 'teams']);
      expect(names('team')).toEqual(['team']);
      expect(names('team-*', 'b')).toEqual(['team-b', 'team-b2']);
      expect(names('team-*', null, 'team-a')).toEqual(['team-b', 'team-b2']);
      expect(names('nobody')).toEqual([]);
      expect(find(docs, q('team-*').count.filter).all()).toHaveLength(3);
    });

    it('lists deployments newest first by seq under every filter combination', () => {
      const docs = Array.from({ length: 12 }, (_, i) => ({
        _id: `d${i}`, seq: i + 1, modelName: i < 10 ? 'm' : 'o', environment: i % 3 === 0 ? 'staging' : 'production',
        versionId: `v${i % 4}`, status: i % 5 === 0 ? 'FAILED' : 'SUCCEEDED',
      }));
      // The pointers such a history leaves: one per (model, environment), its revision = its SUCCEEDED deployments.
      const pointers = [...new Set(docs.map((d) => `${d.modelName}:${d.environment}`))].map((key) => {
        const [modelName, environment] = key.split(':');
        const revision = docs.filter((d) => d.modelName === modelName && d.environment === environment && d.status === 'SUCCEEDED').length;
        return { _id: key, modelName, environment, revision };
      });
      pointers.push({ _id: 'm:canary', modelName: 'm', environment: 'canary', revision: 0 }); // a placeholder counts nothing
      const total = (count: Reads.DeploymentCount) => {
        if (!('revisions' in count)) return find(docs, count.filter).all().length;
        const revisions = count.revisions ? run(pointers, count.revisions).reduce((n, p) => n + (p.revision as number), 0) : 0;
        return revisions + (count.failed ? find(docs, count.failed.filter).all().length : 0);
      };
      for (const environment of [null, 'staging']) {
        for (const versionId of [null, 'v1']) {
          for (const status of [null, 'FAILED', 'SUCCEEDED'] as const) {
            const f = { modelName: 'm', environment, versionId, status };
            const expected = docs
              .filter((d) => d.modelName === 'm' && (!environment || d.environment === environment) && (!versionId || d.versionId === versionId) && (!status || d.status === status))
              .sort((a, b) => b.seq - a.seq);
            const q = Q.listDeploymentsQuery(f, 9, 50);
            expect(run(docs, q.page).map((d) => d._id)).toEqual(expected.filter((d) => d.seq < 9).map((d) => d._id));
            expect(total(q.count), JSON.stringify(f)).toBe(expected.length);
            expect('revisions' in q.count).toBe(versionId === null); // counted from the pointers unless a version narrows it
          }
        }
      }
    });

    it('changes a model: only the fields the patch gives (primaryMetric, description), on a document with no unfinished write', () => {
      const model = { _id: 'm', description: 'old', createdAt: new Date(0), versionCount: 2 };
      const metricOnly = Q.markedUpdate(COLLECTIONS.models, 'm', Q.modelPatchSet({ primaryMetric: 'f1' }), marker('u', 'committed', 'update'));
      expect(matches(model, metricOnly.filter)).toBe(true);
      expect(applied(model, metricOnly)).toMatchObject({ description: 'old', primaryMetric: 'f1', versionCount: 2 });
      const cleared = Q.markedUpdate(COLLECTIONS.models, 'm', Q.modelPatchSet({ description: null }), marker('u2', 'committed', 'update'));
      expect(applied({ ...model, primaryMetric: 'f1' }, cleared)).toMatchObject({ description: null, primaryMetric: 'f1' });
      expect(matches({ ...model, pending: marker('other'), pendingAt: new Date() }, metricOnly.filter)).toBe(false);
    });

        it('revokes once, touches monotonically', () => {
      const [whileUnset, again] = Q.revokeTokenUpdates('t', new Date(2000), marker('r', 'committed', 'token'));
      const fresh = { _id: 't', revokedAt: null };
      expect(applied(fresh, whileUnset)).toMatchObject({ revokedAt: new Date(2000) });
      const revoked = { _id: 't', revokedAt: new Date(1000) };
      expect(matches(revoked, whileUnset.filter)).toBe(false);
      expect(applied(revoked, again).revokedAt).toEqual(new Date(1000));
      expect(applied({ _id: 't', lastUsedAt: null }, Q.touchTokenUpdate('t', new Date(5))).lastUsedAt).toEqual(new Date(5));
      expect(applied({ _id: 't', lastUsedAt: new Date(9) }, Q.touchTokenUpdate('t', new Date(5))).lastUsedAt).toEqual(new Date(9));
    });
  });

  describe('audit anchors of pointers and tokens', () => {
    it('a move clears the pointer anchor at its commit; the anchor step sets it only under that committed marker; then the clear', () => {
      const target = { modelName: 'm', environment: 'production' };
      const before = { _id: 'm:production', ...target, versionId: 'v1', deploymentId: 'd1', revision: 1, audit: { sequence: 4, hash: 'h4' } };
      const reserved = applied(before, Q.reservePointer('m:production', target, 1, marker('mine')));
      expect(reserved.audit).toEqual({ sequence: 4, hash: 'h4' }); // a reservation changes nothing visible
      const anchor = Q.anchorAudit(COLLECTIONS.pointers, 'm:production', 'mine', { sequence: 9, hash: 'h9' });
      expect(matches(reserved, anchor.filter)).toBe(false); // never before the commit point
      const committed = applied(reserved, Q.commitPointer('m:production', 'mine', { versionId: 'v2', deploymentId: 'd2', revision: 2 }));
      expect(committed.audit).toBeNull();
      expect(matches(committed, Q.anchorAudit(COLLECTIONS.pointers, 'm:production', 'other', { sequence: 9, hash: 'h9' }).filter)).toBe(false);
      const anchored = applied(committed, anchor);
      expect(anchored).toMatchObject({ versionId: 'v2', revision: 2, audit: { sequence: 9, hash: 'h9' }, pending: { id: 'mine' } });
      expect(applied(anchored, anchor)).toEqual(anchored); // idempotent
      const cleared = applied(anchored, Q.clearMarker(COLLECTIONS.pointers, 'm:production', 'mine'));
      expect(cleared.audit).toEqual({ sequence: 9, hash: 'h9' });
      expect(matches(cleared, anchor.filter)).toBe(false); // a late replay after the clear changes nothing
    });

    it('a revocation clears the token anchor with the change; the anchor step names the revocation event', () => {
      const token = { _id: 't', revokedAt: null, audit: { sequence: 2, hash: 'h2' } };
      const [whileUnset, again] = Q.revokeTokenUpdates('t', new Date(2000), marker('r', 'committed', 'token'));
      const revoked = applied(token, whileUnset);
      expect(revoked).toMatchObject({ revokedAt: new Date(2000), audit: null });
      expect(applied({ ...token, revokedAt: new Date(1000) }, again)).toMatchObject({ revokedAt: new Date(1000), audit: null });
      expect(applied(revoked, Q.anchorAudit(COLLECTIONS.tokens, 't', 'r', { sequence: 7, hash: 'h7' })).audit).toEqual({ sequence: 7, hash: 'h7' });
    });

    it('backfills only rows that predate anchors (field absent), never a row with an anchor or an explicit null', () => {
      const spec = Q.backfillAnchorUpdate(COLLECTIONS.pointers, 'm:e', { sequence: 3, hash: 'h3' });
      expect(matches({ _id: 'm:e' }, spec.filter)).toBe(true);
      expect(matches({ _id: 'm:e', audit: null }, spec.filter)).toBe(false);
      expect(matches({ _id: 'm:e', audit: { sequence: 5, hash: 'h5' } }, spec.filter)).toBe(false);
      expect(applied({ _id: 'm:e' }, spec).audit).toEqual({ sequence: 3, hash: 'h3' });
      expect(applied({ _id: 'm:e' }, Q.backfillAnchorUpdate(COLLECTIONS.pointers, 'm:e', null)).audit).toBeNull();
      const events = [1, 2, 3, 4, 5, 6].map((n) => ({ _id: `e${n}`, sequence: n, action: n % 2 ? 'MODEL_VERSION_PROMOTED' : n === 4 ? 'MODEL_VERSION_ROLLED_BACK' : 'X' }));
      const moves = ['MODEL_VERSION_PROMOTED', 'MODEL_VERSION_ROLLED_BACK'];
      expect(run(events, Q.eventsOfActionsQuery(moves, null, 10)).map((e) => e.sequence)).toEqual([5, 4, 3, 1]);
      expect(run(events, Q.eventsOfActionsQuery(moves, 4, 10)).map((e) => e.sequence)).toEqual([3, 1]);
      expect(run(events, Q.eventsOfActionsQuery(moves, null, 2)).map((e) => e.sequence)).toEqual([5, 4]);
      const schema = { _id: 'schema', value: 0 };
      expect(applied(schema, Q.schemaVersionUpdate(1)).value).toBe(1);
      expect(applied({ ...schema, value: 2 }, Q.schemaVersionUpdate(1)).value).toBe(2);
    });

    it('lists pointers in (model, environment) order, which the `_id` order is not', () => {
      const keys = [['a-b', 'prod'], ['a', 'staging'], ['b', 'dev'], ['a', 'prod'], ['a:x', 'e']];
      const docs = keys.map(([modelName, environment]) => ({ _id: `${modelName}:${environment}`, modelName, environment }));
      const order = (rows: Document[]) => rows.map((d) => `${d.modelName}/${d.environment}`);
      expect(order(run(docs, Q.pointersPageQuery(null, 10)))).toEqual(['a/prod', 'a/staging', 'a-b/prod', 'a:x/e', 'b/dev']);
      expect(order(run(docs, Q.pointersPageQuery(null, 2)))).toEqual(['a/prod', 'a/staging']);
      expect(order(run(docs, Q.pointersPageQuery('a', 10)))).toEqual(['a-b/prod', 'a:x/e', 'b/dev']);
      expect(order(run(docs, Q.pointersOfModelQuery('a')))).toEqual(['a/prod', 'a/staging']);
    });
  });

  describe('idempotency keys', () => {
    const now = new Date('2026-03-01T12:00:00.000Z');
    const claim = newClaim({ modelName: 'm', key: 'k-1', operation: 'REGISTER', fingerprint: 'f', resultId: 'v2' }, now);
    const where = { resultKind: 'version' as const, pointerId: null };
    const base = { _id: 'm/k-1', modelName: 'm', key: 'k-1', operation: 'REGISTER', fingerprint: 'f', resultId: 'v1', refusalCode: null, ...where };
    const expired = { ...base, createdAt: new Date(now.getTime() - 25 * 3600_000), expiresAt: new Date(now.getTime() - 3600_000) };
    const live = { ...base, createdAt: new Date(now.getTime() - 3600_000), expiresAt: new Date(now.getTime() + 23 * 3600_000) };

    it('claims a key per model by _id, replacing only a settled record that expired by the claim time', () => {
      const spec = Q.claimKeyUpdate(claim, where, true);
      expect(spec.filter._id).toBe('m/k-1');
      expect(spec.upsert).toBe(true);
      expect(matches(expired, spec.filter)).toBe(true);
      expect(matches(live, spec.filter)).toBe(false); // the upsert then collides on _id: taken
      expect(matches({ ...expired, unsettledAt: now }, spec.filter)).toBe(false);
      const replaced = applied(expired, spec);
      expect(replaced).toMatchObject({ resultId: 'v2', fingerprint: 'f', expiresAt: claim.expiresAt, createdAt: now });
      expect(replaced.unsettledAt).toBeInstanceOf(Date);
      expect(applied(expired, Q.claimKeyUpdate(claim, where, false)).unsettledAt).toBeUndefined();
      expect(Q.claimKeyUpdate({ ...claim, modelName: 'other' }, where, true).filter._id).toBe('other/k-1');
    });

    it('settles, releases and aborts only the claim that names the write, and aborts only past the lease (server clock)', () => {
      const unsettled = { ...live, resultId: 'v2', unsettledAt: new Date(Date.now() - 60_000) };
      const settle = Q.settleKeyUpdate('m/k-1', 'v2');
      expect(matches(unsettled, settle.filter)).toBe(true);
      expect(matches({ ...unsettled, resultId: 'v3' }, settle.filter)).toBe(false);
      const settled = applied(unsettled, settle);
      expect(settled.unsettledAt).toBeUndefined();
      expect(matches(settled, settle.filter)).toBe(false);
      expect(matches(settled, Q.releaseKeyFilter('m/k-1', 'v2').filter)).toBe(false);
      expect(matches(unsettled, Q.releaseKeyFilter('m/k-1', 'v2').filter)).toBe(true);
      expect(matches(unsettled, Q.abortStaleKeyFilter('m/k-1', 'v2', 30_000).filter)).toBe(true);
      expect(matches({ ...unsettled, unsettledAt: new Date() }, Q.abortStaleKeyFilter('m/k-1', 'v2', 30_000).filter)).toBe(false);
      expect(matches(settled, Q.abortStaleKeyFilter('m/k-1', 'v2', 0).filter)).toBe(false);
      expect(run([unsettled, settled, live], Q.unsettledKeysQuery()).map((d) => d.resultId)).toEqual(['v2']);
    });
  });

  it('counts as unfinished only the markers older than the grace period', () => {
    const now = Date.now();
    const docs = [
      { _id: 'a', pending: marker('a', 'committed'), pendingAt: new Date(now - 60_000) },
      { _id: 'b', pending: marker('b', 'committed'), pendingAt: new Date(now - 100) },
      { _id: 'c' },
    ];
    expect(find(docs, Q.unfinishedCountQuery(COLLECTIONS.pointers, new Date(now - 2000)).filter).all().map((d) => d._id)).toEqual(['a']);
  });

  describe('leases (update pipeline, evaluated by mingo with its own $$NOW)', () => {
    const later = () => new Date(Date.now() + 60_000);
    it('takes a free, expired or own lease; leaves the live lease of another holder as it is', () => {
      const take = Q.acquireLeaseUpdate('job', 'me', 30_000);
      expect(take.upsert).toBe(true);
      expect(take.filter).toEqual({ _id: 'job' }); // no $expr in an upsert's filter (MongoDB refuses it)
      const fresh = appliedPipeline({ _id: 'job' }, take); // what the upsert inserts: the _id, then the pipeline
      expect(fresh.holder).toBe('me');
      expect((fresh.expiresAt as Date).getTime()).toBeGreaterThan(Date.now() + 29_000);
      const expired = appliedPipeline({ _id: 'job', holder: 'other', expiresAt: new Date(Date.now() - 1) }, take);
      expect(expired.holder).toBe('me');
      const live = { _id: 'job', holder: 'other', expiresAt: later() };
      expect(appliedPipeline(live, take)).toEqual(live);
      const own = appliedPipeline({ _id: 'job', holder: 'me', expiresAt: new Date(Date.now() + 1000) }, take);
      expect((own.expiresAt as Date).getTime()).toBeGreaterThan(Date.now() + 29_000);
    });
    it('stores the details a holder gives, keeps them on a bare renewal, and drops them for a new holder', () => {
      const withDetails = appliedPipeline({ _id: 'job' }, Q.acquireLeaseUpdate('job', 'me', 30_000, { done: 1 }));
      expect(withDetails.details).toEqual({ done: 1 });
      expect(appliedPipeline(withDetails, Q.acquireLeaseUpdate('job', 'me', 30_000)).details).toEqual({ done: 1 });
      expect(appliedPipeline(withDetails, Q.acquireLeaseUpdate('job', 'me', 30_000, { done: 2 })).details).toEqual({ done: 2 });
      const expired = { ...withDetails, expiresAt: new Date(Date.now() - 1) };
      expect(appliedPipeline(expired, Q.acquireLeaseUpdate('job', 'other', 30_000)).details).toBeNull();
      const live = { _id: 'job', holder: 'other', expiresAt: later(), details: { done: 7 } };
      expect(appliedPipeline(live, Q.acquireLeaseUpdate('job', 'me', 30_000, { done: 0 }))).toEqual(live);
    });
    it('reads a lease only while it has not expired (server clock)', () => {
      expect(matches({ _id: 'job', holder: 'me', expiresAt: later() }, Q.liveLeaseQuery('job').filter)).toBe(true);
      expect(matches({ _id: 'job', holder: 'me', expiresAt: new Date(Date.now() - 1) }, Q.liveLeaseQuery('job').filter)).toBe(false);
      expect(matches({ _id: 'other', holder: 'me', expiresAt: later() }, Q.liveLeaseQuery('job').filter)).toBe(false);
    });
    it('releases only its own lease', () => {
      expect(matches({ _id: 'job', holder: 'me', expiresAt: later() }, Q.releaseLeaseFilter('job', 'me').filter)).toBe(true);
      expect(matches({ _id: 'job', holder: 'other', expiresAt: later() }, Q.releaseLeaseFilter('job', 'me').filter)).toBe(false);
    });
  });

  describe('audit filters', () => {
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const models = ['m1', 'm2', 'm10', 'n1', null];
    const events = Array.from({ length: 30 }, (_, i) => ({
      _id: `e${i}`, sequence: i + 1, occurredAt: t(i), actor: i % 2 ? 'alice' : 'bob', modelName: models[i % 5] ?? null,
      action: i % 7 === 3 ? 'API_TOKEN_CREATED' : i % 11 === 5 ? 'API_TOKENS_ARE_NOT_THIS' : i % 3 ? 'A' : 'B',
    }));
    const filters: Partial<AuditFilter>[] = [
      {}, { modelName: 'm1' }, { actor: 'alice' }, { action: 'B' }, { modelName: 'm1', actor: 'bob', action: 'A' },
      { since: t(5) }, { until: t(5) }, { since: t(3), until: t(11) }, { actor: 'alice', since: t(4), until: t(15) }, { action: 'A', until: t(1) },
      { modelScope: 'm*' }, { modelScope: 'm1' }, { modelScope: 'm1*', actor: 'bob' }, { modelScope: 'm*', modelName: 'n1' }, { modelScope: 'm*', modelName: 'm2' },
      { modelScope: 'x*' }, { modelScope: 'm*', since: t(10) },
      { hiddenActionPrefix: 'API_TOKEN_' }, { hiddenActionPrefix: 'API_TOKEN_', actor: 'alice' }, { hiddenActionPrefix: 'API_TOKEN_', action: 'API_TOKEN_CREATED' },
      { hiddenActionPrefix: 'API_TOKEN_', action: 'A' }, { hiddenActionPrefix: 'API_TOKEN_', modelScope: 'm*' }, { hiddenActionPrefix: 'API_TOKEN_', since: t(4) },
      { action: 'API_TOKEN_CREATED' }, { hiddenActionPrefix: '' },
    ];
    const allows = (scope: string, name: string | null) => name !== null && (scope.endsWith('*') ? name.startsWith(scope.slice(0, -1)) : name === scope);
    it('selects exactly the matching events (since inclusive, until exclusive), newest first, after a cursor', () => {
      for (const partial of filters) {
        const f: AuditFilter = { modelName: null, actor: null, action: null, since: null, until: null, ...partial };
        const expected = events
          .filter((e) => (f.modelName === null || e.modelName === f.modelName) && (f.actor === null || e.actor === f.actor) && (f.action === null || e.action === f.action)
            && (!f.hiddenActionPrefix || !e.action.startsWith(f.hiddenActionPrefix))
            && (!f.modelScope || allows(f.modelScope, e.modelName))
            && (f.since === null || e.occurredAt >= f.since) && (f.until === null || e.occurredAt < f.until))
          .sort((a, b) => b.sequence - a.sequence);
        // A prefix scope is resolved to the model names in the log first (a distinct over its range).
        const distinct = f.modelScope?.endsWith('*') ? Q.auditScopeNamesQuery(f.modelScope) : null;
        const inScope = distinct && [...new Set(find(events, distinct.filter).all().map((e) => e[distinct.field] as string))];
        const q = Q.listAuditQuery(f, Q.auditModelNames(f, inScope), 15, 100);
        expect(run(events, q.page).map((e) => e.sequence), JSON.stringify(partial)).toEqual(expected.filter((e) => e.sequence < 15).map((e) => e.sequence));
        expect(total(events, q.count), JSON.stringify(partial)).toBe(expected.length);
        if (f.modelScope?.endsWith('*') && f.modelName === null) {
          // A scope with too many names to merge: its name range, walked along the chain, selects the same events.
          const range = { from: f.modelScope.slice(0, -1), to: `${f.modelScope.slice(0, -1)}~` };
          const wide = Q.listAuditQuery(f, null, 15, 100, range);
          expect(wide.page.index).toBe(f.actor === null && f.action === null ? 'audit_sequence' : wide.page.index);
          expect(run(events, wide.page).map((e) => e.sequence), `wide ${JSON.stringify(partial)}`).toEqual(expected.filter((e) => e.sequence < 15).map((e) => e.sequence));
          expect(total(events, wide.count), `wide ${JSON.stringify(partial)}`).toBe(expected.length);
        }
      }
    });
    it('counts an unfiltered page from the head sequence, less the hidden actions counted from their index range', () => {
      const all = { modelName: null, actor: null, action: null, since: null, until: null };
      expect(Q.listAuditQuery(all, null, null, 5).count).toEqual({ fromHead: true, minus: null });
      const hidden = Q.listAuditQuery({ ...all, hiddenActionPrefix: 'API_TOKEN_' }, null, null, 5).count;
      expect(hidden).toMatchObject({ fromHead: true, minus: { index: 'audit_action_sequence' } });
      const minus = (hidden as { minus: Reads.CountSpec }).minus;
      expect(find(events, minus.filter).all().map((e) => e.action)).toEqual(events.filter((e) => e.action === 'API_TOKEN_CREATED').map((e) => e.action));
      expect('fromHead' in Q.listAuditQuery({ ...all, actor: 'a' }, null, null, 5).count).toBe(false);
      expect('fromHead' in Q.listAuditQuery(all, ['m1'], null, 5).count).toBe(false);
    });
    it('finds one event by its sequence', () => {
      expect(run(events, Q.auditBySequenceQuery(7)).map((e) => e._id)).toEqual(['e6']);
      expect(run(events, Q.auditBySequenceQuery(99))).toEqual([]);
    });
    it('finds the head and walks the chain in ascending batches', () => {
      expect(run(events, Q.auditHeadQuery()).map((e) => e.sequence)).toEqual([30]);
      expect(run(events, Q.auditAscendingQuery(27, 5)).map((e) => e.sequence)).toEqual([28, 29, 30]);
    });
  });
});

// ---- index coverage ----

interface AnySpec {
  collection: FindSpec['collection'];
  filter: Document;
  sort?: Record<string, 1 | -1>;
  index: string;
  residual?: Readonly<Record<string, string>>;
  inMemorySort?: string;
}

const isEquality = (v: unknown) =>
  v === null || typeof v !== 'object' || v instanceof Date || (Object.keys(v as object).length === 1 && ('$in' in (v as object) || '$eq' in (v as object)));

/** Null if `spec` is served by its index as described; otherwise why not. */
function coverageProblem(spec: AnySpec): string | null {
  const index = findIndex(spec.collection, spec.index);
  if (!index) return `no index ${spec.collection}.${spec.index}`;
  const keys = Object.entries(index.key);
  for (const [k, v] of Object.entries(index.partialFilterExpression ?? {})) {
    // The query must contain the partial filter's condition (it may add more conditions on the field).
    const f = spec.filter[k];
    const contains = JSON.stringify(f) === JSON.stringify(v)
      || (f !== null && typeof f === 'object' && typeof v === 'object' && Object.entries(v as object).every(([op, x]) => JSON.stringify((f as Document)[op]) === JSON.stringify(x)));
    if (!contains) return `filter lacks the partial filter ${k} of ${index.name}`;
  }
  let prefix = 0;
  while (prefix < keys.length && keys[prefix]![0] in spec.filter && isEquality(spec.filter[keys[prefix]![0]])) prefix++;
  const fields = Object.keys(spec.filter);
  // An index walked in sort order from its start, with every filter field residual (e.g. skipping hidden actions), is a
  // bounded scan: O(page + skipped). Anything else must filter on the index's leading field.
  const walkedInSortOrder = spec.sort !== undefined && Object.keys(spec.sort)[0] === keys[0]![0] && fields.every((f) => spec.residual?.[f] || f === keys[0]![0]);
  if (prefix === 0 && fields.length > 0 && !(keys[0]![0] in spec.filter) && !walkedInSortOrder) return `${index.name} does not start with a filtered field`;
  if (spec.sort && !spec.inMemorySort) {
    // A sort key the filter pins to one value orders nothing.
    const sort = Object.entries(spec.sort).filter(([k]) => !(k in spec.filter && isEquality(spec.filter[k]) && !('$in' in Object(spec.filter[k]))));
    const next = keys.slice(prefix, prefix + sort.length);
    if (next.map((k) => k[0]).join() !== sort.map((s) => s[0]).join()) return `${index.name} cannot give the sort ${JSON.stringify(spec.sort)}`;
    const same = sort.every(([, d], i) => d === next[i]![1]);
    const reversed = sort.every(([, d], i) => d === -next[i]![1]);
    if (!same && !reversed) return `${index.name} gives ${JSON.stringify(index.key)}, not ${JSON.stringify(spec.sort)} in either direction`;
  }
  for (const f of fields) {
    if (!keys.some(([k]) => k === f) && !spec.residual?.[f]) return `${f} is neither in ${index.name} nor a declared residual`;
  }
  return null;
}

function everySpec(): AnySpec[] {
  const m = marker('x');
  const specs: AnySpec[] = [];
  const page = (q: { page: FindSpec; count: Reads.AuditCount | Reads.DeploymentCount }) => {
    specs.push(q.page);
    if ('fromHead' in q.count) {
      if (q.count.minus) specs.push(q.count.minus);
    } else if ('revisions' in q.count) {
      if (q.count.revisions) specs.push(q.count.revisions);
      if (q.count.failed) specs.push(q.count.failed);
    } else specs.push(q.count);
  };
  for (const search of [null, 'a.b']) for (const scope of [null, 'm', 'm-*']) for (const after of [null, 'm']) page(Q.listModelsQuery({ search, scope }, after, 5));
  for (const status of [null, 'READY'] as const) for (const after of [null, 3]) page(Q.listVersionsQuery({ modelName: 'm', status }, after, 5));
  specs.push(Q.maxNumberQuery('m'), Q.latestVersionQuery('m', null), Q.latestVersionQuery('m', 'READY'), Q.versionByNumberQuery('m', 3));
  specs.push(Q.stalePendingQuery(new Date(5), 10));
  specs.push(Q.rankQuery({ modelName: 'm', metric: 'f', direction: 'ASC', limit: 3 }), Q.rankQuery({ modelName: 'm', metric: 'f', direction: 'DESC', limit: 3 }));
  specs.push(Q.unrankedQuery({ modelName: 'm', metric: 'f', statuses: ['READY', 'ARCHIVED'], limit: 3 }), Q.statusCountQuery('READY'));
  for (const direction of ['ASC', 'DESC'] as const) specs.push(Q.rankQuery({ modelName: 'm', metric: 'f', direction, limit: 3, after: { value: 0.5, number: 4 } }));
  specs.push(Q.unrankedQuery({ modelName: 'm', metric: 'f', statuses: ['READY', 'ARCHIVED'], limit: 3, beforeNumber: 4 }));
  for (const c of Object.values(COLLECTIONS)) specs.push(Q.byIdsQuery(c, ['a']));
  for (const c of [COLLECTIONS.models, COLLECTIONS.versions, COLLECTIONS.pointers, COLLECTIONS.deployments, COLLECTIONS.tokens, COLLECTIONS.webhooks, COLLECTIONS.environmentPolicies, COLLECTIONS.promotionRequests]) {
    specs.push(Q.pendingQuery(c), Q.unfinishedCountQuery(c, new Date()), Q.abortStaleIntent(c, 'id', 'x', 10), Q.clearMarker(c, 'id', 'x'), Q.releaseIntent(c, 'id', 'x'));
  }
  specs.push(Q.pointersForVersionsQuery(['v']));
  for (const environment of [null, 'e']) for (const versionId of [null, 'v']) for (const status of [null, 'FAILED'] as const) for (const after of [null, 4]) {
    page(Q.listDeploymentsQuery({ modelName: 'm', environment, versionId, status }, after, 5));
  }
  for (const modelName of [null, 'm']) for (const actor of [null, 'a']) for (const action of [null, 'x']) for (const since of [null, new Date(1)]) for (const after of [null, 9]) {
    for (const names of modelName === null ? [null, ['m1', 'm2'], []] : [[modelName]]) {
      for (const hiddenActionPrefix of [null, 'API_TOKEN_']) page(Q.listAuditQuery({ actor, action, since, until: since && new Date(9), hiddenActionPrefix }, names, after, 5));
    }
  }
  specs.push(Q.auditScopeNamesQuery('m*'));
  for (const actor of [null, 'a']) for (const since of [null, new Date(1)]) for (const after of [null, 9]) {
    page(Q.listAuditQuery({ actor, action: null, since, until: null }, null, after, 5, { from: 'm', to: 'm~' }));
  }
  specs.push(Q.auditHeadQuery(), Q.auditAscendingQuery(0, 10), Q.tokenByHashQuery('h'), Q.listTokensQuery());
  const v = { modelName: 'm', number: 1, createdAt: new Date(), id: 'v', metrics: [{ name: 'f', value: 1 }] };
  specs.push(Q.modelUpsert(v), ...Q.metricUpserts(v, true), Q.syncMetricsUpdate('v', true, 1), Q.nextDeploymentSeq());
  specs.push(Q.transitionDirect('v', { status: 'READY', statusRev: 0 }, { to: 'ARCHIVED', failureReason: null }, m));
  specs.push(Q.transitionIntent('v', { status: 'READY', statusRev: 0 }, m), Q.transitionCommit('v', 'x', { to: 'ARCHIVED', failureReason: null }));
  specs.push(Q.transitionDirect('v', { status: 'READY', statusRev: 0 }, { to: 'ARCHIVED', failureReason: null }, m, true), Q.transitionIntent('v', { status: 'READY', statusRev: 0 }, m, true));
  specs.push(Q.legalHoldUpdate('v', { reason: 'r', setBy: 'a', setAt: new Date() }, m), Q.legalHoldUpdate('v', null, m), Q.purgeMarkUpdate('v', 1, new Date(), m));
  specs.push(Q.markedUpdate(COLLECTIONS.models, 'm', { description: 'd' }, m), Q.reservePointer('k', { modelName: 'm', environment: 'e' }, 1, m));
  specs.push(Q.reservePointer('k', { modelName: 'm', environment: 'e' }, null, m), Q.commitPointer('k', 'x', { versionId: 'v', deploymentId: 'd', revision: 2 }));
  specs.push(...Q.revokeTokenUpdates('t', new Date(), m), Q.touchTokenUpdate('t', new Date()));
  specs.push(Q.auditBySequenceQuery(3), Q.pointersPageQuery(null, 10), Q.pointersPageQuery('m', 10), Q.pointersOfModelQuery('m'));
  for (const c of [COLLECTIONS.pointers, COLLECTIONS.tokens]) {
    specs.push(Q.anchorAudit(c, 'id', 'x', { sequence: 1, hash: 'h' }), Q.backfillAnchorUpdate(c, 'id', { sequence: 1, hash: 'h' }), Q.backfillAnchorUpdate(c, 'id', null));
  }
  specs.push(Q.schemaVersionQuery(), Q.schemaVersionUpdate(1), Q.eventsOfActionsQuery(['A', 'B'], null, 10), Q.eventsOfActionsQuery(['A'], 5, 10));
  specs.push(Q.acquireLeaseUpdate('l', 'h', 1000), Q.releaseLeaseFilter('l', 'h'), Q.legacyAnchorUpdate('t', { sequence: 1, hash: 'a' }, { sequence: 2, hash: 'b' }));
  const claim = newClaim({ modelName: 'm', key: 'k', operation: 'PROMOTE', fingerprint: 'f', resultId: 'd' }, new Date());
  for (const unsettled of [true, false]) specs.push(Q.claimKeyUpdate(claim, { resultKind: 'deployment', pointerId: 'm:production' }, unsettled));
  specs.push(Q.settleKeyUpdate('m/k', 'd'), Q.releaseKeyFilter('m/k', 'd'), Q.abortStaleKeyFilter('m/k', 'd', 10), Q.unsettledKeysQuery(), Q.unsettledKeysCountQuery(new Date()));
  specs.push(Q.liveWebhookQuery('w'), Q.listWebhooksQuery(), Q.webhookMarkedUpdate('w', { url: 'https://x' }, m), Q.advanceCursorUpdate('w', 1, 2));
  specs.push(Q.nextDeliverySeq(), Q.lastDeliveryQuery('w', 3), Q.requestRedeliveryUpdate('w', 3, new Date()), Q.redeliveriesQuery('w', 5));
  specs.push(Q.clearRedeliveryFilter('w', 3));
  for (const after of [null, 7]) page(Q.deliveriesQuery('w', after, 5));
  specs.push(Q.liveAtQuery('m', 'e', new Date()), Q.observationsQuery('d', 5), Q.observationCount('d', 'SERVING'));
  const o = { deploymentId: 'd', modelName: 'm', environment: 'e', instance: 'i', state: 'SERVING' as const, message: null, reportedAt: new Date(), reportedBy: 'w' };
  specs.push(Q.observationUpsert(o));
  const policy = { modelName: '*', environment: 'e', requiredApprovals: 1, requireImprovement: null, allowedActors: null, updatedAt: new Date(), updatedBy: 'a' };
  specs.push(Q.policyUpsert(policy, marker('x', 'committed', 'governance')), Q.requestUpdate(govRequest('r'), 1, marker('x', 'committed', 'governance')));
  for (const status of [null, 'PENDING', 'EXPIRED', 'EXECUTED'] as const) for (const after of [null, [5, 'r'] as const]) page(Q.requestsQuery({ modelName: 'm', status, now: new Date() }, after, 5));
  specs.push(...searchSpecs());
  return specs;
}

/** modelVersions(filter, orderBy): every driver (docs/queries.md) with and without residuals and cursors. */
function searchSpecs(): AnySpec[] {
  const filters: Partial<VersionFilter>[] = [
    {}, { statuses: ['READY'] }, { statuses: ['READY', 'ARCHIVED'] }, { tags: ['gpu', 'cpu'] }, { labels: { team: 'ml', env: 'prod' } },
    { datasetVersion: 'ds' }, { createdBy: 'alice' }, { createdAfter: new Date(1), createdBefore: new Date(9) }, { metric: { name: 'f1', gte: 0.5, lte: null } },
    { statuses: ['READY', 'FAILED'], tags: ['gpu'], labels: { team: 'ml' }, datasetVersion: 'ds', createdBy: 'a', createdAfter: new Date(1), metric: { name: 'f1', gte: null, lte: 1 } },
  ];
  const orders: VersionOrder[] = (['ASC', 'DESC'] as const).flatMap((direction) => [
    { by: 'NUMBER', metric: null, direction }, { by: 'CREATED_AT', metric: null, direction }, { by: 'METRIC', metric: 'f1', direction },
  ] as VersionOrder[]);
  const specs: AnySpec[] = [];
  for (const f of filters) {
    for (const order of orders) {
      const s = { modelName: 'm', filter: { ...EMPTY_FILTER, ...f }, order };
      if (order.by === 'METRIC') {
        for (const after of [null, { value: 0.5, number: 4 }]) specs.push(Q.searchMetricQuery(s, after, 10));
        specs.push(Q.searchMetricVersionsQuery(s, ['v1', 'v2']), Q.searchMetricCountQuery(s));
        continue;
      }
      const afters = order.by === 'NUMBER' ? [null, { by: 'NUMBER' as const, number: 4 }] : [null, { by: 'CREATED_AT' as const, createdAt: 5, number: 4 }];
      for (const after of afters) {
        const q = Q.searchVersionsQuery(s, after, 10);
        specs.push(q.page, q.count);
      }
    }
  }
  return specs;
}

describe('mongo queries: webhooks (meaning)', () => {
  const hook = (id: string, over: Record<string, unknown> = {}) => ({
    _id: id, url: 'https://a', actions: [], modelScope: null, description: null, sealedSecret: 's', createdAt: new Date(Number(id.slice(1))),
    createdBy: 'a', updatedAt: new Date(0), deletedAt: null, cursor: 4, ...over,
  });
  const hooks = [hook('w3'), hook('w1'), hook('w2', { deletedAt: new Date() }), hook('w4', { pending: marker('p', 'committed', 'webhook'), pendingAt: new Date() })];

  it('reads only live webhooks, oldest first', () => {
    expect(run(hooks, Q.listWebhooksQuery()).map((d) => d._id)).toEqual(['w1', 'w3', 'w4']);
    expect(run(hooks, Q.liveWebhookQuery('w2'))).toEqual([]);
    expect(run(hooks, Q.liveWebhookQuery('w3')).map((d) => d._id)).toEqual(['w3']);
  });

  it('changes or tombstones a live webhook with its marker, never one with an unfinished write or a tombstone', () => {
    const spec = Q.webhookMarkedUpdate('w3', { url: 'https://b', actions: undefined, deletedAt: undefined }, marker('m', 'committed', 'webhook'));
    expect(hooks.map((d) => matches(d, spec.filter))).toEqual([true, false, false, false]);
    const changed = applied(hooks[0]!, spec);
    expect(changed).toMatchObject({ url: 'https://b', actions: [], pending: { id: 'm', op: 'webhook' } });
    expect(changed.pendingAt).toBeInstanceOf(Date);
    expect(matches(changed, spec.filter)).toBe(false);
    expect(matches(hooks[2]!, Q.webhookMarkedUpdate('w2', { deletedAt: new Date() }, marker('m', 'committed', 'webhook')).filter)).toBe(false);
  });

  it('moves the cursor only from the expected value, on a live webhook, also while a change is pending', () => {
    const cas = Q.advanceCursorUpdate('w4', 4, 5);
    expect(matches(hooks[3]!, cas.filter)).toBe(true);
    expect(applied(hooks[3]!, cas).cursor).toBe(5);
    expect(matches(applied(hooks[3]!, cas), cas.filter)).toBe(false);
    expect(matches(hooks[2]!, Q.advanceCursorUpdate('w2', 4, 5).filter)).toBe(false);
  });

  it('pages the delivery log newest first, counts it, and finds the last attempt at an event outside redeliveries', () => {
    const log = Array.from({ length: 9 }, (_, i) => ({ _id: String(i + 1), seq: i + 1, webhookId: i % 3 === 0 ? 'other' : 'w', eventSequence: 10 + (i % 2), redelivery: i === 7 }));
    const first = Q.deliveriesQuery('w', null, 2);
    expect(run(log, first.page).map((d) => d.seq)).toEqual([9, 8, 6]);
    expect(find(log, first.count.filter).all().length).toBe(6);
    expect(run(log, Q.deliveriesQuery('w', 6, 2).page).map((d) => d.seq)).toEqual([5, 3, 2]);
    expect(run(log, Q.lastDeliveryQuery('w', 11)).map((d) => d.seq)).toEqual([6]);
  });

  it('queues one redelivery per (webhook, event) and reads them oldest request first', () => {
    const spec = Q.requestRedeliveryUpdate('w', 3, new Date(5));
    expect(spec.upsert).toBe(true);
    expect(ops(spec)).toEqual({ $setOnInsert: { webhookId: 'w', eventSequence: 3, requestedAt: new Date(5) } });
    const queued = [
      { _id: 'w/3', webhookId: 'w', eventSequence: 3, requestedAt: new Date(5) },
      { _id: 'w/1', webhookId: 'w', eventSequence: 1, requestedAt: new Date(9) },
      { _id: 'x/2', webhookId: 'x', eventSequence: 2, requestedAt: new Date(1) },
    ];
    expect(run(queued, Q.redeliveriesQuery('w', 10)).map((d) => d.eventSequence)).toEqual([3, 1]);
    expect(queued.filter((d) => matches(d, Q.clearRedeliveryFilter('w', 1).filter)).map((d) => d._id)).toEqual(['w/1']);
  });
});

function govRequest(id: string, over: Record<string, unknown> = {}) {
  return {
    id, modelName: 'm', versionId: 'v', environment: 'production', requestedBy: 'a', requestedByTokenId: 't', requestedAt: new Date(0), expiresAt: new Date(1000),
    reason: null, expectedCurrentVersionId: null, requiredApprovals: 1, status: 'PENDING' as const, approvals: [], decidedBy: null, decisionComment: null,
    decidedAt: null, deploymentId: null, revision: 1, ...over,
  };
}

describe('mongo queries: governance (meaning)', () => {
  it('servingAt: the latest SUCCEEDED deployment of (model, environment) not after the instant, ties by revision', () => {
    const d = (id: string, s: number, over: Document = {}) => ({ _id: id, modelName: 'm', environment: 'production', status: 'SUCCEEDED', deployedAt: new Date(s * 1000), revision: s, ...over });
    const docs = [d('a', 10), d('b', 20), d('c', 20, { revision: 21 }), d('f', 25, { status: 'FAILED', revision: null }), d('s', 15, { environment: 'staging' }), d('x', 5, { modelName: 'x' })];
    const at = (s: number) => run(docs, Q.liveAtQuery('m', 'production', new Date(s * 1000))).map((x) => x._id);
    expect(at(9)).toEqual([]);
    expect(at(10)).toEqual(['a']);
    expect(at(19)).toEqual(['a']);
    expect(at(20)).toEqual(['c']);
    expect(at(99)).toEqual(['c']);
  });

  it('observations: a report replaces only an older or equal record of that instance; listed newest first; counted by state', () => {
    const stored = { _id: 'd/i', deploymentId: 'd', instance: 'i', state: 'SERVING', reportedAt: new Date(10) };
    const o = (t: number) => ({ deploymentId: 'd', modelName: 'm', environment: 'e', instance: 'i', state: 'FAILED' as const, message: null, reportedAt: new Date(t), reportedBy: 'w' });
    expect(matches(stored, Q.observationUpsert(o(11)).filter)).toBe(true);
    expect(matches(stored, Q.observationUpsert(o(10)).filter)).toBe(true);
    expect(matches(stored, Q.observationUpsert(o(9)).filter)).toBe(false);
    expect(applied(stored, Q.observationUpsert(o(11)))).toMatchObject({ state: 'FAILED', reportedAt: new Date(11) });
    const docs = [stored, { ...stored, _id: 'd/j', instance: 'j', reportedAt: new Date(12), state: 'FAILED' }, { ...stored, _id: 'e/i', deploymentId: 'e' }];
    expect(run(docs, Q.observationsQuery('d', 5)).map((x) => x._id)).toEqual(['d/j', 'd/i']);
    expect(find(docs, Q.observationCount('d', 'SERVING').filter).all()).toHaveLength(1);
  });

  it('policies upsert only without an unfinished change; requests change only from the revision read', () => {
    const policy = { modelName: '*', environment: 'e', requiredApprovals: 1, requireImprovement: null, allowedActors: null, updatedAt: new Date(), updatedBy: 'a' };
    const spec = Q.policyUpsert(policy, marker('x', 'committed', 'governance'));
    expect(spec.filter._id).toBe('*:e');
    expect(matches({ _id: '*:e' }, spec.filter)).toBe(true);
    expect(matches({ _id: '*:e', pending: marker('y') }, spec.filter)).toBe(false);
    const req = Q.requestUpdate(govRequest('r', { status: 'CANCELLED' }), 3, marker('x', 'committed', 'governance'));
    expect(matches({ _id: 'r', revision: 3 }, req.filter)).toBe(true);
    expect(matches({ _id: 'r', revision: 4 }, req.filter)).toBe(false);
    expect(matches({ _id: 'r', revision: 3, pending: marker('y') }, req.filter)).toBe(false);
    expect(applied({ _id: 'r', revision: 3, status: 'PENDING' }, req)).toMatchObject({ revision: 4, status: 'CANCELLED' });
  });

  it('lists requests newest first by status, PENDING and EXPIRED told apart by now, after a cursor', () => {
    const now = new Date(100);
    const r = (id: string, t: number, status: string, expires: number, model = 'm') => ({ _id: id, modelName: model, requestedAt: new Date(t), status, expiresAt: new Date(expires) });
    const docs = [r('a', 1, 'PENDING', 50), r('b', 2, 'PENDING', 500), r('c', 3, 'EXECUTED', 50), r('d', 4, 'EXPIRED', 50), r('e', 4, 'PENDING', 500), r('z', 5, 'PENDING', 500, 'x')];
    const ids = (status: Parameters<typeof Q.requestsQuery>[0]['status'], after: readonly [number, string] | null = null) => {
      const q = Q.requestsQuery({ modelName: 'm', status, now }, after, 10);
      return { page: run(docs, q.page).map((x) => x._id), count: find(docs, q.count.filter).all().length };
    };
    expect(ids(null)).toEqual({ page: ['e', 'd', 'c', 'b', 'a'], count: 5 });
    expect(ids('PENDING')).toEqual({ page: ['e', 'b'], count: 2 });
    expect(ids('EXPIRED')).toEqual({ page: ['d', 'a'], count: 2 });
    expect(ids('EXECUTED')).toEqual({ page: ['c'], count: 1 });
    expect(ids(null, [4, 'e']).page).toEqual(['d', 'c', 'b', 'a']);
    expect(ids(null, [4, 'd']).page).toEqual(['c', 'b', 'a']);
  });
});

describe('mongo queries: every query is served by a declared index', () => {
  const specs = everySpec();

  it('checks a representative set of every builder', () => {
    expect(specs.length).toBeGreaterThan(100);
  });

  it('each filter and sort fits its index: equality prefix, then the sort keys; other fields declared residual with a reason', () => {
    const problems = specs.map((s) => [s.collection, s.index, JSON.stringify(s.filter), coverageProblem(s)]).filter(([, , , p]) => p !== null);
    expect(problems).toEqual([]);
  });

  it('the check rejects a query its index cannot serve (so it is not vacuous)', () => {
    const desc = Q.rankQuery({ modelName: 'm', metric: 'f', direction: 'DESC', limit: 3 });
    expect(coverageProblem({ ...desc, index: 'metrics_rank_asc' })).toMatch(/not .* in either direction/);
    expect(coverageProblem({ collection: COLLECTIONS.audit, filter: { actor: 'a' }, sort: { sequence: -1 }, index: 'audit_model_sequence' })).not.toBeNull();
    expect(coverageProblem({ ...Q.pendingQuery(COLLECTIONS.versions), filter: { modelName: 'm' } })).toMatch(/partial filter/);
    // A residual-only filter passes only on an index walked in its sort order.
    expect(coverageProblem({ collection: COLLECTIONS.audit, filter: { actor: 'a' }, residual: { actor: 'x' }, index: 'audit_sequence' })).toMatch(/does not start/);
    expect(coverageProblem({ collection: COLLECTIONS.audit, filter: { actor: 'a' }, residual: { actor: 'x' }, sort: { sequence: -1 }, index: 'audit_sequence' })).toBeNull();
  });

  it('every declared index is used by some query (no dead weight), except the unique guards and TTL indexes', () => {
    const used = new Set(specs.map((s) => `${s.collection}.${s.index}`));
    const unused = Object.entries(MONGO_INDEXES).flatMap(([c, list]) => list.filter((i) => !used.has(`${c}.${i.name}`)).map((i) => `${c}.${i.name}`));
    expect(unused).toEqual(['deployments.deployments_revision', 'idempotency_keys.idempotency_keys_expiry']);
  });

  it('the store sends queries only through these builders, and only mongo-access.ts talks to collections', () => {
    const dir = new URL('../../src/stores/mongo/', import.meta.url).pathname;
    const driverCalls = /\.(findOne|insertOne|insertMany|updateOne|updateMany|replaceOne|findOneAndUpdate|bulkWrite|countDocuments|deleteOne|deleteMany|aggregate|watch)\(|\.collection\(|\.col(<[^>]*>)?\(/;
    const files = readdirSync(dir).filter((f) => f.startsWith('mongo-'));
    expect(files).toContain('mongo-access.ts');
    for (const file of files.filter((f) => f !== 'mongo-access.ts')) {
      expect(readFileSync(join(dir, file), 'utf8'), file).not.toMatch(driverCalls);
    }
    // The one direct lookup is by _id; everything else takes a spec from mongo-queries.ts / mongo-updates.ts.
    const access = readFileSync(join(dir, 'mongo-access.ts'), 'utf8');
    expect([...access.matchAll(/\.findOne\(([^,]*)/g)].map((m) => m[1])).toEqual(['filter']);
    expect(access).toMatch(/const filter: Document = \{ _id: id \};/);
  });
});

// ---- recovery planning ----

describe('recovery planning at each crash point', () => {
  const plan = (collection: FoundPending['collection'], op: PendingMarker['op'], phase: PendingMarker['phase'], known: Partial<FoundPending> = {}) =>
    planRecovery({ collection, marker: marker('x', phase, op), ...known });

  it('registration stopped anywhere after the version insert: model, metrics, audit, marker', () => {
    expect(plan(COLLECTIONS.versions, 'register', 'committed')).toEqual(['upsert-model', 'insert-metrics', 'append-audit', 'clear-marker']);
    expect(plan(COLLECTIONS.versions, 'register', 'committed', { auditAppended: true })).toEqual(['upsert-model', 'insert-metrics', 'clear-marker']);
  });

  it('pointer move: an undecided reservation is aborted (if stale); a committed move stores its deployment, audit, then clears', () => {
    expect(plan(COLLECTIONS.pointers, 'move', 'intent')).toEqual(['abort-stale-intent']);
    expect(plan(COLLECTIONS.pointers, 'move', 'committed')).toEqual(['insert-deployment', 'append-audit', 'anchor-audit', 'clear-marker']);
    expect(plan(COLLECTIONS.pointers, 'move', 'committed', { deploymentStored: true })).toEqual(['append-audit', 'anchor-audit', 'clear-marker']);
    // The anchor is set even when the event is known to exist: it is read back by its id.
    expect(plan(COLLECTIONS.pointers, 'move', 'committed', { deploymentStored: true, auditAppended: true })).toEqual(['anchor-audit', 'clear-marker']);
  });

  it('status change: reserved → abort if stale; committed → metrics, audit, clear', () => {
    expect(plan(COLLECTIONS.versions, 'transition', 'intent')).toEqual(['abort-stale-intent']);
    expect(plan(COLLECTIONS.versions, 'transition', 'committed')).toEqual(['sync-metrics', 'append-audit', 'clear-marker']);
  });

  it('single-document writes with an audit event: audit, clear', () => {
    for (const [c, op] of [[COLLECTIONS.models, 'update'], [COLLECTIONS.versions, 'update'], [COLLECTIONS.deployments, 'refused']] as const) {
      expect(plan(c, op, 'committed')).toEqual(['append-audit', 'clear-marker']);
      expect(plan(c, op, 'committed', { auditAppended: true })).toEqual(['clear-marker']);
    }
  });

  it('token creation and revocation: audit, then the row is anchored to that event, then clear', () => {
    expect(plan(COLLECTIONS.tokens, 'token', 'committed')).toEqual(['append-audit', 'anchor-audit', 'clear-marker']);
    expect(plan(COLLECTIONS.tokens, 'token', 'committed', { auditAppended: true })).toEqual(['anchor-audit', 'clear-marker']);
  });

  it('webhook creation, change and deletion: audit, then clear', () => {
    expect(plan(COLLECTIONS.webhooks, 'webhook', 'committed')).toEqual(['append-audit', 'clear-marker']);
    expect(plan(COLLECTIONS.webhooks, 'webhook', 'committed', { auditAppended: true })).toEqual(['clear-marker']);
  });

  it('a write with an idempotency key settles its key before its marker is cleared', () => {
    const keyed = (collection: FoundPending['collection'], op: PendingMarker['op']) =>
      planRecovery({ collection, marker: { ...marker('x', 'committed', op), idempotency: { keyId: 'm/k', resultId: 'r' } } });
    expect(keyed(COLLECTIONS.versions, 'register')).toEqual(['upsert-model', 'insert-metrics', 'append-audit', 'settle-key', 'clear-marker']);
    expect(keyed(COLLECTIONS.pointers, 'move')).toEqual(['insert-deployment', 'append-audit', 'anchor-audit', 'settle-key', 'clear-marker']);
    expect(keyed(COLLECTIONS.deployments, 'refused')).toEqual(['append-audit', 'settle-key', 'clear-marker']);
    expect(planRecovery({ collection: COLLECTIONS.pointers, marker: { ...marker('x', 'intent'), idempotency: { keyId: 'm/k', resultId: 'r' } } })).toEqual(['abort-stale-intent']);
  });

  it('refuses markers it does not know (never guesses)', () => {
    expect(() => plan(COLLECTIONS.tokens, 'move', 'committed')).toThrow(/unknown pending operation/);
    expect(() => plan(COLLECTIONS.models, 'update', 'intent')).toThrow(/no intent phase/);
  });
});

// ---- batched per-parent reads (aggregations) ----

/** Null if the pipeline's leading $match and $sort are served by its index (the key pattern's leading fields, either direction). */
function aggregateCoverageProblem(spec: Batch.AggregateSpec): string | null {
  const index = findIndex(spec.collection, spec.index);
  if (!index) return `no index ${spec.collection}.${spec.index}`;
  const [match, sort] = spec.pipeline as [{ $match?: Document }, { $sort?: Record<string, 1 | -1> }];
  if (!match?.$match || !sort?.$sort) return 'the pipeline does not start with $match then $sort';
  const keys = Object.entries(index.key);
  const matched = Object.keys(match.$match);
  if (matched.some((f, i) => keys[i]?.[0] !== f)) return `$match ${matched.join()} is not a prefix of ${index.name}`;
  const sorted = Object.entries(sort.$sort);
  const next = keys.slice(0, sorted.length);
  if (next.map((k) => k[0]).join() !== sorted.map((k) => k[0]).join()) return `${index.name} cannot give the sort ${JSON.stringify(sort.$sort)}`;
  const same = sorted.every(([, d], i) => d === next[i]![1]);
  const reversed = sorted.every(([, d], i) => d === -next[i]![1]);
  return same || reversed ? null : `${index.name} gives ${JSON.stringify(index.key)}, not ${JSON.stringify(sort.$sort)}`;
}

describe('mongo batched reads: one aggregation for many parents', () => {
  // Deployments of three versions (v3 has none), out of order, with another model's too.
  const docs: Document[] = [];
  let seq = 0;
  for (const [versionId, n] of [['v1', 7], ['v2', 2], ['vx', 4], ['v1', 3]] as const) {
    for (let i = 0; i < n; i++) docs.push({ _id: `d${++seq}`, seq: (seq * 37) % 101, versionId, modelName: versionId === 'vx' ? 'other' : 'm', environment: 'production' });
  }
  const keys = ['v1', 'v2', 'v3'].map((versionId) => ({ modelName: 'm', versionId }));

  it('gives each version its newest first+1 deployments by seq and its total, as one find per version would', () => {
    for (const first of [0, 1, 2, 5, 20]) {
      const groups = aggregate(docs, Batch.versionDeploymentsQuery(keys, first).pipeline) as { _id: string; total: number; docs: Document[] }[];
      for (const { versionId } of keys) {
        const own = docs.filter((d) => d.versionId === versionId).sort((a, b) => b.seq - a.seq);
        const g = groups.find((x) => x._id === versionId);
        if (own.length === 0) {
          expect(g).toBeUndefined();
          continue;
        }
        expect(g!.total).toBe(own.length);
        expect(g!.docs.map((d) => d._id)).toEqual(own.slice(0, first + 1).map((d) => d._id));
      }
      expect(groups.map((g) => g._id).sort()).toEqual(['v1', 'v2']);
    }
  });

  it('finds each model\'s highest-numbered version in any status, through versions_model_number', () => {
    const versions: Document[] = [];
    for (const [modelName, n] of [['a', 3], ['b', 1], ['c', 5]] as const) {
      for (let number = n; number >= 1; number--) versions.push({ _id: `${modelName}${number}`, modelName, number, status: number % 2 ? 'READY' : 'FAILED' });
    }
    const spec = Batch.latestVersionsQuery(['a', 'b', 'zz', 'a']);
    const groups = aggregate(versions.reverse(), spec.pipeline) as { _id: string; doc: Document }[];
    expect(groups.map((g) => g.doc._id).sort()).toEqual(['a3', 'b1']);
    expect((spec.pipeline[0] as Document).$match.modelName.$in).toEqual(['a', 'b', 'zz']);
    expect(aggregateCoverageProblem(spec)).toBeNull();
  });

  it('asks each version once, whatever the keys repeat', () => {
    const spec = Batch.versionDeploymentsQuery([...keys, ...keys], 5);
    expect((spec.pipeline[0] as Document).$match.versionId.$in).toEqual(['v1', 'v2', 'v3']);
  });

  it('its $match and $sort are served by the named index, and the check rejects one that is not', () => {
    const spec = Batch.versionDeploymentsQuery(keys, 5);
    expect(aggregateCoverageProblem(spec)).toBeNull();
    expect(spec.bounded).not.toBe('');
    expect(aggregateCoverageProblem({ ...spec, index: 'deployments_model_seq' })).toMatch(/not a prefix/);
    expect(aggregateCoverageProblem({ ...spec, pipeline: [spec.pipeline[0]!, { $sort: { versionId: 1, seq: 1 } }] })).toMatch(/not/);
  });
});
