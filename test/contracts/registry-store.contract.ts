import { createHash, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/hash-chain.js';
import { ConflictError, InvalidArgumentError } from '../../src/domain/errors.js';
import { type IdempotencyClaim, IDEMPOTENCY_TTL_MS, IdempotencyKeyTakenError, newClaim } from '../../src/domain/idempotency.js';
import type { ModelVersion, NewModelVersion, VersionStatus } from '../../src/domain/model.js';
import type { NewApiToken } from '../../src/domain/token.js';
import type { AuditFilter, RegistryStore } from '../../src/stores/registry.store.js';
import { draft, eventAt, newDeployment, newVersion, tick } from '../support/fixtures.js';
import { describeWebhookStore } from './webhook-store.contract.js';
import { describeRetentionStore } from './retention-store.contract.js';
import { describeGovernanceStore } from './governance-store.contract.js';
import { describeVersionSearchStore } from './version-search-store.contract.js';

export type OpenStore = () => Promise<{ store: RegistryStore; close: () => Promise<void> }>;

/**
 * The RegistryStore contract: every implementation runs this same suite. It pins down the
 * behaviour the services rely on: numbering, paging, ranking, compare-and-set, the audit chain.
 */
export function describeRegistryStore(name: string, open: OpenStore): void {
  describeWebhookStore(name, open);
  describeRetentionStore(name, open);
  describeGovernanceStore(name, open);
  describeVersionSearchStore(name, open);
  describe(`RegistryStore contract: ${name}`, () => {
    let store: RegistryStore;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ store, close } = await open());
    });
    afterEach(async () => {
      await close();
    });

    async function register(model: string, overrides: Partial<NewModelVersion> = {}): Promise<ModelVersion> {
      return store.registerVersion(newVersion(model, overrides), (v) => draft('MODEL_VERSION_REGISTERED', { modelName: v.modelName, versionId: v.id }, { number: v.number }));
    }
    async function ready(v: ModelVersion, to: VersionStatus = 'READY'): Promise<ModelVersion> {
      const r = await store.transitionVersion(v.id, { from: ['PENDING_UPLOAD'], to, failureReason: null, requireUndeployed: false }, draft('MODEL_VERSION_READY'));
      if (r.kind !== 'ok') throw new Error(`transition failed: ${r.kind}`);
      return r.version;
    }
    async function deploy(v: ModelVersion, env = 'production') {
      const p = await store.getPointer(v.modelName, env);
      const d = newDeployment(v, env, p ? { versionId: p.versionId, deploymentId: p.deploymentId } : null);
      return store.moveDeploymentPointer(d, p?.revision ?? null, draft('MODEL_VERSION_PROMOTED', { modelName: v.modelName, versionId: v.id }));
    }

    describe('versions', () => {
      it('numbers versions 1..n per model and creates the model on its first version', async () => {
        const a1 = await register('alpha');
        const b1 = await register('beta');
        const a2 = await register('alpha');
        expect([a1.number, a2.number, b1.number]).toEqual([1, 2, 1]);
        expect(await store.getModel('alpha')).toMatchObject({ name: 'alpha', versionCount: 2, description: null });
        expect(await store.getModel('nope')).toBeNull();
      });

      it('gives concurrent registrations distinct numbers without gaps', async () => {
        const all = await Promise.all(Array.from({ length: 20 }, () => register('busy')));
        expect(all.map((v) => v.number).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      });

      it('refuses a duplicate version id with ConflictError and writes nothing', async () => {
        const v = newVersion('dup');
        await store.registerVersion(v, () => draft('MODEL_VERSION_REGISTERED'));
        await expect(store.registerVersion({ ...v }, () => draft('MODEL_VERSION_REGISTERED'))).rejects.toBeInstanceOf(ConflictError);
        expect((await store.getModel('dup'))?.versionCount).toBe(1);
        expect((await store.stats()).auditEvents).toBe(1);
      });

      it('round-trips every field exactly, including awkward hyperparameter keys and millisecond dates', async () => {
        const hyper = { $where: 1, 'a.b': { 'c.d': [1, 2.5, null] }, __proto__x: true, nested: { $in: 'x', '': 'empty' }, unicode: 'λ✓', big: 1e300, neg: -0.125 };
        const input = newVersion('exact', {
          hyperparameters: hyper,
          description: 'multi\nline',
          tags: ['a', 'b'],
          featureNames: ['f1', 'f2', 'f3'],
          metrics: [{ name: 'z', value: 1 }, { name: 'a', value: -2.5 }],
          training: { trainedAt: new Date('2026-01-02T03:04:05.678Z'), durationSeconds: 12.5, trainingSamples: 1000, validationSamples: 200 },
        });
        const proto = JSON.parse('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
        (input.hyperparameters as Record<string, unknown>).own = proto;
        await store.registerVersion(input, () => draft('X'));
        const got = await store.getVersion(input.id);
        expect(got).toEqual({ ...input, number: 1, legalHold: null, purgedAt: null, source: null, dataset: null, labels: {} });
        expect(JSON.stringify(got!.hyperparameters)).toBe(JSON.stringify(input.hyperparameters));
        expect(Object.keys(got!.hyperparameters)).toEqual(Object.keys(input.hyperparameters));
        expect(got!.createdAt.getTime()).toBe(input.createdAt.getTime());
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      });

      it('lists versions newest first with cursors, a status filter and a total count', async () => {
        const vs: ModelVersion[] = [];
        for (let i = 0; i < 5; i++) vs.push(await register('paged'));
        await ready(vs[1]!);
        await ready(vs[3]!);
        const p1 = await store.listVersions({ modelName: 'paged', status: null }, { first: 2, after: null });
        expect(p1.items.map((i) => i.node.number)).toEqual([5, 4]);
        expect(p1).toMatchObject({ hasNextPage: true, totalCount: 5 });
        const p2 = await store.listVersions({ modelName: 'paged', status: null }, { first: 2, after: p1.items[1]!.cursor });
        expect(p2.items.map((i) => i.node.number)).toEqual([3, 2]);
        const p3 = await store.listVersions({ modelName: 'paged', status: null }, { first: 2, after: p2.items[1]!.cursor });
        expect(p3.items.map((i) => i.node.number)).toEqual([1]);
        expect(p3.hasNextPage).toBe(false);
        const readyOnly = await store.listVersions({ modelName: 'paged', status: 'READY' }, { first: 10, after: null });
        expect(readyOnly.items.map((i) => i.node.number)).toEqual([4, 2]);
        expect(readyOnly.totalCount).toBe(2);
        expect((await store.listVersions({ modelName: 'paged', status: null }, { first: 0, after: null })).items).toEqual([]);
      });

      it('refuses a cursor it did not make', async () => {
        await register('cur');
        for (const bad of ['garbage', Buffer.from('["x"]').toString('base64url'), Buffer.from('{"a":1}').toString('base64url')]) {
          await expect(store.listVersions({ modelName: 'cur', status: null }, { first: 1, after: bad })).rejects.toBeInstanceOf(InvalidArgumentError);
        }
      });

      it('finds the latest version, optionally by status, a version by its number, and batches by id', async () => {
        const v1 = await register('latest');
        await ready(v1);
        const v2 = await register('latest');
        expect((await store.latestVersion('latest', null))?.id).toBe(v2.id);
        expect((await store.latestVersion('latest', 'READY'))?.id).toBe(v1.id);
        expect(await store.latestVersion('none', null)).toBeNull();
        expect((await store.getVersionByNumber('latest', 2))?.id).toBe(v2.id);
        expect((await store.getVersionByNumber('latest', 1))?.id).toBe(v1.id);
        expect(await store.getVersionByNumber('latest', 3)).toBeNull();
        expect(await store.getVersionByNumber('none', 1)).toBeNull();
        const got = await store.getVersions([v2.id, 'v20990101000000_00000000', v1.id]);
        expect(got.map((v) => v.id).sort()).toEqual([v1.id, v2.id].sort());
      });

      it('finds the latest version of many models in one call, as latestVersion finds each', async () => {
        let seed = 99;
        const rand = (n: number) => {
          seed = (seed * 1103515245 + 12345) % 2 ** 31;
          return seed % n;
        };
        const names = ['lv-a', 'lv-b', 'lv-c', 'lv-d'];
        for (let i = 0; i < 14; i++) {
          const v = await register(names[rand(names.length)]!);
          if (rand(2) === 0) await ready(v);
        }
        const asked = [...names, 'lv-none', 'lv-a'];
        const found = await store.latestVersions(asked);
        const expected = (await Promise.all(names.map((n) => store.latestVersion(n, null)))).filter((v) => v !== null);
        const byName = (vs: ModelVersion[]) => [...vs].sort((x, y) => x.modelName.localeCompare(y.modelName));
        expect(byName(found)).toEqual(byName(expected));
        expect(found.map((v) => v.modelName).sort()).toEqual([...new Set(expected.map((v) => v.modelName))].sort());
        expect(await store.latestVersions([])).toEqual([]);
      });

      it('finds pending versions registered before a time, oldest first across models, bounded by the limit', async () => {
        const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 0, minutes));
        const old1 = await register('stale-a', { createdAt: at(1) });
        const old2 = await register('stale-b', { createdAt: at(2) });
        const readyOld = await ready(await register('stale-a', { createdAt: at(0) }));
        const fresh = await register('stale-b', { createdAt: at(30) });
        const cutoff = at(10);
        expect((await store.stalePendingVersions(cutoff, 10)).map((v) => v.id)).toEqual([old1.id, old2.id]);
        expect((await store.stalePendingVersions(cutoff, 1)).map((v) => v.id)).toEqual([old1.id]);
        expect(await store.stalePendingVersions(at(1), 10)).toEqual([]); // strictly before
        await store.transitionVersion(old1.id, { from: ['PENDING_UPLOAD'], to: 'FAILED', failureReason: 'upload expired', requireUndeployed: false }, draft('F'));
        const after = (await store.stalePendingVersions(at(60), 10)).map((v) => v.id);
        expect(after).toEqual([old2.id, fresh.id]);
        expect(after).not.toContain(readyOld.id);
      });

      it('moves status only from the allowed states and appends the audit event with it', async () => {
        const v = await register('status');
        const before = (await store.stats()).auditEvents;
        const wrong = await store.transitionVersion(v.id, { from: ['READY'], to: 'ARCHIVED', failureReason: null, requireUndeployed: true }, draft('X'));
        expect(wrong).toMatchObject({ kind: 'wrong-status' });
        expect((await store.stats()).auditEvents).toBe(before);
        const failed = await store.transitionVersion(v.id, { from: ['PENDING_UPLOAD'], to: 'FAILED', failureReason: 'bad bytes', requireUndeployed: false }, draft('F'));
        expect(failed).toMatchObject({ kind: 'ok', version: { status: 'FAILED', failureReason: 'bad bytes' } });
        expect(await store.getVersion(v.id)).toMatchObject({ status: 'FAILED', failureReason: 'bad bytes' });
        expect((await store.stats()).auditEvents).toBe(before + 1);
        expect(await store.transitionVersion('v20990101000000_00000000', { from: ['READY'], to: 'ARCHIVED', failureReason: null, requireUndeployed: false }, draft('X')))
          .toEqual({ kind: 'not-found' });
      });

      it('refuses to archive a deployed version when asked to', async () => {
        const v = await ready(await register('arch'));
        expect(await deploy(v, 'staging')).toMatchObject({ kind: 'moved' });
        const r = await store.transitionVersion(v.id, { from: ['READY'], to: 'ARCHIVED', failureReason: null, requireUndeployed: true }, draft('A'));
        expect(r).toMatchObject({ kind: 'deployed', environments: ['staging'] });
        expect((await store.getVersion(v.id))?.status).toBe('READY');
      });

      it('updates description and tags only where given', async () => {
        const v = await register('meta', { description: 'old', tags: ['x'] });
        const u1 = await store.updateVersionMetadata(v.id, { tags: ['y', 'z'] }, draft('U'));
        expect(u1).toMatchObject({ description: 'old', tags: ['y', 'z'] });
        const u2 = await store.updateVersionMetadata(v.id, { description: null }, draft('U'));
        expect(u2).toMatchObject({ description: null, tags: ['y', 'z'] });
        expect(await store.getVersion(v.id)).toMatchObject({ description: null, tags: ['y', 'z'] });
        expect(await store.updateVersionMetadata('v20990101000000_00000000', { tags: [] }, draft('U'))).toBeNull();
      });
    });

    describe('ranking', () => {
      it('ranks verified versions by any metric, ties by higher number, versions lacking it last', async () => {
        const mk = async (metrics: { name: string; value: number }[], status: VersionStatus = 'READY') => {
          const v = await register('rank', { metrics });
          return status === 'PENDING_UPLOAD' ? v : ready(v, status);
        };
        const a = await mk([{ name: 'f1', value: 0.5 }]);
        const b = await mk([{ name: 'f1', value: 0.9 }, { name: 'acc', value: 0.1 }]);
        const c = await mk([{ name: 'acc', value: 0.7 }]);
        const d = await mk([{ name: 'f1', value: 0.9 }]);
        await mk([{ name: 'f1', value: 0.99 }], 'PENDING_UPLOAD');
        await mk([{ name: 'f1', value: 0.98 }], 'FAILED');
        const e = await mk([{ name: 'f1', value: 0.1 }]);
        const archived = await store.transitionVersion(e.id, { from: ['READY'], to: 'ARCHIVED', failureReason: null, requireUndeployed: true }, draft('A'));
        expect(archived.kind).toBe('ok');
        const q = { modelName: 'rank', metric: 'f1', statuses: ['READY', 'ARCHIVED'] as VersionStatus[], versionIds: null, limit: 10 };
        const desc = await store.rankVersions({ ...q, direction: 'DESC' });
        expect(desc.map((v) => v.id)).toEqual([d.id, b.id, a.id, e.id, c.id]);
        const asc = await store.rankVersions({ ...q, direction: 'ASC' });
        expect(asc.map((v) => v.id)).toEqual([e.id, a.id, d.id, b.id, c.id]);
        expect((await store.rankVersions({ ...q, direction: 'DESC', limit: 2 })).map((v) => v.id)).toEqual([d.id, b.id]);
        const subset = await store.rankVersions({ ...q, direction: 'DESC', versionIds: [a.id, c.id, b.id] });
        expect(subset.map((v) => v.id)).toEqual([b.id, a.id, c.id]);
        expect(await store.rankVersions({ ...q, modelName: 'other', direction: 'DESC' })).toEqual([]);

        // Keyset pages: after a position (value, number), the rest in the same order, across the ties and into the lacking ones.
        const pos = (v: { number: number; metrics: { name: string; value: number }[] }) => ({ value: v.metrics.find((m) => m.name === 'f1')?.value ?? null, number: v.number });
        for (const [direction, order] of [['DESC', desc], ['ASC', asc]] as const) {
          for (let i = 0; i < order.length; i++) {
            const rest = await store.rankVersions({ ...q, direction, after: pos(order[i]!), limit: 2 });
            expect(rest.map((v) => v.id), `${direction} after ${i}`).toEqual(order.slice(i + 1, i + 3).map((v) => v.id));
          }
          const subsetAfter = await store.rankVersions({ ...q, direction, versionIds: [a.id, c.id, b.id, d.id], after: pos(order[0]!) });
          expect(subsetAfter.map((v) => v.id)).toEqual(order.slice(1).filter((v) => [a.id, c.id, b.id, d.id].includes(v.id)).map((v) => v.id));
        }
      });
    });

    describe('deployment pointer', () => {
      it('creates, then compare-and-sets the pointer, writing deployment and audit event together', async () => {
        const v1 = await ready(await register('dep'));
        const v2 = await ready(await register('dep'));
        const m1 = await deploy(v1);
        expect(m1).toMatchObject({ kind: 'moved', pointer: { versionId: v1.id, revision: 1 }, deployment: { status: 'SUCCEEDED', revision: 1 } });
        const p = await store.getPointer('dep', 'production');
        expect(p).toMatchObject({ versionId: v1.id, revision: 1 });
        const stale = newDeployment(v2, 'production', null);
        expect(await store.moveDeploymentPointer(stale, null, draft('P'))).toMatchObject({ kind: 'conflict', current: { versionId: v1.id, revision: 1 } });
        const m2 = await deploy(v2);
        expect(m2).toMatchObject({ kind: 'moved', pointer: { versionId: v2.id, revision: 2 } });
        expect(await store.moveDeploymentPointer(newDeployment(v1, 'production', null), 1, draft('P'))).toMatchObject({ kind: 'conflict' });
        const hist = await store.listDeployments({ modelName: 'dep', environment: 'production', versionId: null, status: null }, { first: 10, after: null });
        expect(hist.items.map((i) => [i.node.versionId, i.node.previousVersionId, i.node.revision])).toEqual([[v2.id, v1.id, 2], [v1.id, null, 1]]);
        expect(hist.items.map((i) => i.node.id)).not.toContain(stale.id);
        const events = await store.listAuditEvents({ modelName: null, actor: null, action: 'MODEL_VERSION_PROMOTED', since: null, until: null }, { first: 10, after: null });
        expect(events.totalCount).toBe(2);
      });

      it('lets exactly one of many concurrent moves from the same revision win', async () => {
        const base = await ready(await register('race'));
        await deploy(base);
        const candidates = await Promise.all(Array.from({ length: 10 }, async () => ready(await register('race'))));
        const p = (await store.getPointer('race', 'production'))!;
        const results = await Promise.all(
          candidates.map((v) => store.moveDeploymentPointer(newDeployment(v, 'production', { versionId: p.versionId, deploymentId: p.deploymentId }), p.revision, draft('P'))),
        );
        expect(results.filter((r) => r.kind === 'moved')).toHaveLength(1);
        expect(results.filter((r) => r.kind === 'conflict')).toHaveLength(9);
        const winner = results.find((r) => r.kind === 'moved')!;
        expect((await store.getPointer('race', 'production'))?.deploymentId).toBe(winner.kind === 'moved' ? winner.deployment.id : '');
        expect((await store.stats()).deployments).toBe(2);
      });

      it('refuses to point at a version that is not READY', async () => {
        const v = await register('notready');
        expect(await deploy(v)).toEqual({ kind: 'version-not-ready', status: 'PENDING_UPLOAD' });
        expect(await store.getPointer('notready', 'production')).toBeNull();
        expect((await store.stats()).deployments).toBe(0);
      });

      it('keeps environments apart and finds pointers by key and by version', async () => {
        const v1 = await ready(await register('envs'));
        const v2 = await ready(await register('envs'));
        await deploy(v1, 'production');
        await deploy(v1, 'staging');
        await deploy(v2, 'canary');
        const byVersion = await store.pointersForVersions([v1.id, v2.id]);
        expect(byVersion.map((p) => `${p.versionId === v1.id ? 'v1' : 'v2'}:${p.environment}`).sort()).toEqual(['v1:production', 'v1:staging', 'v2:canary']);
        const byKey = await store.getPointers([{ modelName: 'envs', environment: 'staging' }, { modelName: 'envs', environment: 'nope' }]);
        expect(byKey.map((p) => p.environment)).toEqual(['staging']);
      });

      it('counts deployment pages exactly under every filter (totals from pointer revisions and FAILED ones)', async () => {
        const v1 = await ready(await register('counted'));
        const v2 = await ready(await register('counted'));
        await deploy(v1, 'production');
        await deploy(v2, 'production');
        await deploy(v1, 'staging');
        await deploy(v1, 'production');
        const refuse = (v: ModelVersion, env: string) =>
          store.recordRefusedDeployment({ ...newDeployment(v, env, null), status: 'FAILED', failureReason: 'no' }, draft('PROMOTION_REFUSED'));
        await refuse(v2, 'staging');
        await refuse(v2, 'production');
        await refuse(v1, 'canary');
        const other = await ready(await register('counted-other'));
        await deploy(other, 'production');
        const all = await store.listDeployments({ modelName: 'counted', environment: null, versionId: null, status: null }, { first: 100, after: null });
        expect(all.items).toHaveLength(7);
        for (const environment of [null, 'production', 'staging', 'canary', 'nowhere']) {
          for (const versionId of [null, v1.id, v2.id]) {
            for (const status of [null, 'SUCCEEDED', 'FAILED'] as const) {
              const expected = all.items.map((i) => i.node)
                .filter((d) => (environment === null || d.environment === environment) && (versionId === null || d.versionId === versionId) && (status === null || d.status === status));
              const page = await store.listDeployments({ modelName: 'counted', environment, versionId, status }, { first: 1, after: null });
              expect(page.totalCount, JSON.stringify({ environment, versionId, status })).toBe(expected.length);
              expect(page.items.map((i) => i.node.id)).toEqual(expected.slice(0, 1).map((d) => d.id));
            }
          }
        }
      });

      it('pages many versions\' deployments in one call exactly as listDeployments pages each (random promotions and refusals)', async () => {
        // A seeded pseudo-random history: reproducible, different shapes per version (none, one, many).
        let seed = 1234567;
        const rand = (n: number) => {
          seed = (seed * 1103515245 + 12345) % 2 ** 31;
          return seed % n;
        };
        const versions: ModelVersion[] = [];
        for (let i = 0; i < 9; i++) versions.push(await ready(await register(i % 4 === 3 ? 'batched-b' : 'batched-a')));
        const envs = ['production', 'staging', 'canary'];
        for (let i = 0; i < 40; i++) {
          const v = versions[rand(versions.length - 1)]!; // the last version is never deployed
          if (rand(4) === 0) await store.recordRefusedDeployment({ ...newDeployment(v, envs[rand(3)]!, null), status: 'FAILED', failureReason: 'no' }, draft('PROMOTION_REFUSED'));
          else await deploy(v, envs[rand(3)]);
        }
        const keys = versions.map((v) => ({ modelName: v.modelName, versionId: v.id }));
        for (const first of [0, 1, 2, 5, 100]) {
          const pages = await store.listVersionDeployments(keys, first);
          expect([...pages.keys()].sort()).toEqual(versions.map((v) => v.id).sort());
          for (const v of versions) {
            const one = await store.listDeployments({ modelName: v.modelName, environment: null, versionId: v.id, status: null }, { first, after: null });
            expect(pages.get(v.id), `${v.id} first=${first}`).toEqual(one);
          }
        }
        const last = versions.at(-1)!;
        expect((await store.listVersionDeployments([{ modelName: last.modelName, versionId: last.id }], 5)).get(last.id)).toEqual({ items: [], hasNextPage: false, totalCount: 0 });
        // A version asked under another model's name has no deployments there, as listDeployments says.
        const wrong = { modelName: 'batched-nope', versionId: versions[0]!.id };
        expect((await store.listVersionDeployments([wrong], 5)).get(wrong.versionId)).toEqual(
          await store.listDeployments({ modelName: wrong.modelName, environment: null, versionId: wrong.versionId, status: null }, { first: 5, after: null }),
        );
        expect((await store.listVersionDeployments([], 5)).size).toBe(0);
      });

      it('changeStamp: null (no cheap check), or the same value until a write commits and a new one after each', async () => {
        const first = store.changeStamp();
        if (first === null) {
          expect(store.changeStamp()).toBeNull();
          return;
        }
        expect(store.changeStamp()).toBe(first);
        const v = await ready(await register('stamped'));
        const afterRegister = store.changeStamp();
        expect(afterRegister).not.toBe(first);
        await store.getVersion(v.id);
        await store.getPointer('stamped', 'production');
        expect(store.changeStamp()).toBe(afterRegister);
        await deploy(v);
        const afterDeploy = store.changeStamp();
        expect(afterDeploy).not.toBe(afterRegister);
        await store.updateVersionMetadata(v.id, { description: 'new' }, draft('MODEL_VERSION_UPDATED'));
        expect(store.changeStamp()).not.toBe(afterDeploy);
      });

      it('records refused deployments as FAILED with their audit event, without touching the pointer', async () => {
        const v = await ready(await register('refused'));
        await deploy(v);
        const d = await store.recordRefusedDeployment(
          { ...newDeployment(v, 'production', null), status: 'FAILED', failureReason: 'policy not met' },
          draft('PROMOTION_REFUSED', { modelName: 'refused', versionId: v.id }),
        );
        expect(d).toMatchObject({ status: 'FAILED', revision: null, failureReason: 'policy not met' });
        expect((await store.getPointer('refused', 'production'))?.revision).toBe(1);
        const failed = await store.listDeployments({ modelName: 'refused', environment: null, versionId: v.id, status: 'FAILED' }, { first: 5, after: null });
        expect(failed.items.map((i) => i.node.id)).toEqual([d.id]);
        expect((await store.getDeployments([d.id]))[0]).toMatchObject({ id: d.id, status: 'FAILED' });
        const page1 = await store.listDeployments({ modelName: 'refused', environment: null, versionId: null, status: null }, { first: 1, after: null });
        expect(page1.items[0]!.node.id).toBe(d.id);
        const page2 = await store.listDeployments({ modelName: 'refused', environment: null, versionId: null, status: null }, { first: 1, after: page1.items[0]!.cursor });
        expect(page2.items[0]!.node.status).toBe('SUCCEEDED');
        expect(page2.hasNextPage).toBe(false);
      });
    });

    describe('idempotency keys', () => {
      const claim = (modelName: string, key: string, resultId: string, over: Partial<IdempotencyClaim> = {}, at = new Date()): IdempotencyClaim =>
        ({ ...newClaim({ modelName, key, operation: 'REGISTER', fingerprint: 'f'.repeat(64), resultId }, at), ...over });
      const registerKeyed = (model: string, c: (id: string) => IdempotencyClaim) => {
        const v = newVersion(model);
        return store.registerVersion(v, (s) => draft('MODEL_VERSION_REGISTERED', { modelName: s.modelName, versionId: s.id }), c(v.id));
      };

      it('stores the key with the version in one write, and refuses a second claim of it with nothing written', async () => {
        const v = await registerKeyed('idem', (id) => claim('idem', 'k-1', id));
        const record = await store.getIdempotencyRecord('idem', 'k-1', new Date());
        expect(record).toMatchObject({ modelName: 'idem', key: 'k-1', operation: 'REGISTER', resultId: v.id, fingerprint: 'f'.repeat(64), refusalCode: null, settled: true });
        const before = await store.stats();
        const second = newVersion('idem');
        await expect(store.registerVersion(second, () => draft('MODEL_VERSION_REGISTERED'), claim('idem', 'k-1', second.id, { fingerprint: 'e'.repeat(64) })))
          .rejects.toBeInstanceOf(IdempotencyKeyTakenError);
        expect(await store.getVersion(second.id)).toBeNull();
        expect(await store.stats()).toEqual(before);
        expect((await store.getIdempotencyRecord('idem', 'k-1', new Date()))?.resultId).toBe(v.id);
        expect(await store.getIdempotencyRecord('idem', 'k-2', new Date())).toBeNull();
      });

      it('keeps keys per model', async () => {
        const a = await registerKeyed('idem-a', (id) => claim('idem-a', 'shared', id));
        const b = await registerKeyed('idem-b', (id) => claim('idem-b', 'shared', id));
        expect((await store.getIdempotencyRecord('idem-a', 'shared', new Date()))?.resultId).toBe(a.id);
        expect((await store.getIdempotencyRecord('idem-b', 'shared', new Date()))?.resultId).toBe(b.id);
      });

      it('lets exactly one of many concurrent registrations with the same key through', async () => {
        const results = await Promise.allSettled(Array.from({ length: 8 }, () => registerKeyed('idem-race', (id) => claim('idem-race', 'same', id))));
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(IdempotencyKeyTakenError);
        expect((await store.getModel('idem-race'))?.versionCount).toBe(1);
        expect((await store.getIdempotencyRecord('idem-race', 'same', new Date()))?.resultId).toBe(won[0]!.status === 'fulfilled' ? won[0]!.value.id : '');
      });

      it('forgets a key after its expiry and replaces the old record on the next claim', async () => {
        const old = new Date(Date.now() - IDEMPOTENCY_TTL_MS - 60_000);
        const first = await registerKeyed('idem-exp', (id) => claim('idem-exp', 'k', id, {}, old));
        expect(await store.getIdempotencyRecord('idem-exp', 'k', new Date())).toBeNull();
        expect((await store.getIdempotencyRecord('idem-exp', 'k', new Date(old.getTime() + 1000)))?.resultId).toBe(first.id);
        const second = await registerKeyed('idem-exp', (id) => claim('idem-exp', 'k', id, { fingerprint: 'e'.repeat(64) }));
        expect(await store.getIdempotencyRecord('idem-exp', 'k', new Date())).toMatchObject({ resultId: second.id, fingerprint: 'e'.repeat(64) });
      });

      it('claims a key with a pointer move only when it moves, and never moves when the key is held', async () => {
        const v1 = await ready(await register('idem-dep'));
        const v2 = await ready(await register('idem-dep'));
        const d1 = newDeployment(v1, 'production', null);
        const moved = await store.moveDeploymentPointer(d1, null, draft('MODEL_VERSION_PROMOTED'), claim('idem-dep', 'p1', d1.id, { operation: 'PROMOTE' }));
        expect(moved.kind).toBe('moved');
        expect(await store.getIdempotencyRecord('idem-dep', 'p1', new Date())).toMatchObject({ operation: 'PROMOTE', resultId: d1.id, settled: true });
        const stale = newDeployment(v2, 'production', null);
        expect((await store.moveDeploymentPointer(stale, null, draft('P'), claim('idem-dep', 'p2', stale.id, { operation: 'PROMOTE' }))).kind).toBe('conflict');
        expect(await store.getIdempotencyRecord('idem-dep', 'p2', new Date())).toBeNull();
        const before = await store.stats();
        const d2 = newDeployment(v2, 'production', { versionId: v1.id, deploymentId: d1.id });
        await expect(store.moveDeploymentPointer(d2, 1, draft('P'), claim('idem-dep', 'p1', d2.id, { operation: 'PROMOTE' })))
          .rejects.toBeInstanceOf(IdempotencyKeyTakenError);
        expect(await store.getPointer('idem-dep', 'production')).toMatchObject({ versionId: v1.id, revision: 1 });
        expect(await store.stats()).toEqual(before);
        expect(await store.getDeployments([d2.id])).toEqual([]);
      });

      it('claims a key with a refused deployment, keeping the refusal code', async () => {
        const v = await ready(await register('idem-ref'));
        const d = { ...newDeployment(v, 'production', null), status: 'FAILED' as const, failureReason: 'policy not met' };
        await store.recordRefusedDeployment(d, draft('PROMOTION_REFUSED'), claim('idem-ref', 'r', d.id, { operation: 'PROMOTE', refusalCode: 'FAILED_PRECONDITION' }));
        expect(await store.getIdempotencyRecord('idem-ref', 'r', new Date())).toMatchObject({ resultId: d.id, refusalCode: 'FAILED_PRECONDITION' });
        const again = { ...newDeployment(v, 'production', null), status: 'FAILED' as const, failureReason: 'x' };
        await expect(store.recordRefusedDeployment(again, draft('PROMOTION_REFUSED'), claim('idem-ref', 'r', again.id, { operation: 'PROMOTE' })))
          .rejects.toBeInstanceOf(IdempotencyKeyTakenError);
        expect(await store.getDeployments([again.id])).toEqual([]);
      });

      it('claims a key on its own (an answer that writes nothing else), once', async () => {
        const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => store.claimIdempotencyKey(claim('idem-own', 'k', `d-${i}`, { operation: 'PROMOTE' }))));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const record = await store.getIdempotencyRecord('idem-own', 'k', new Date());
        expect(record?.resultId).toMatch(/^d-[0-4]$/);
      });
    });

    describe('audit chain', () => {
      it('appends a gap-free chain that verifies, also under concurrent appends', async () => {
        await Promise.all(Array.from({ length: 25 }, (_, i) => store.appendAudit(draft('TEST', {}, { i }))));
        const events = [];
        for await (const e of store.auditEventsAscending()) events.push(e);
        expect(events.map((e) => e.sequence)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
        expect(events[0]!.previousHash).toBe('0'.repeat(64));
        const result = await verifyChain((async function* () { yield* events; })());
        expect(result).toMatchObject({ valid: true, eventsChecked: 25, headHash: events[24]!.hash });
      });

      it('streams more than one batch in order', async () => {
        for (let i = 0; i < 1005; i++) await store.appendAudit(draft('BULK', {}, { i }));
        let n = 0;
        let last = 0;
        for await (const e of store.auditEventsAscending()) {
          expect(e.sequence).toBe(last + 1);
          last = e.sequence;
          n++;
        }
        expect(n).toBe(1005);
      });

      it('reads forward after a sequence: ascending, contiguous, bounded by the limit', async () => {
        expect(await store.auditEventsAfter(0, 10)).toEqual([]);
        for (let i = 0; i < 7; i++) await store.appendAudit(draft('FORWARD', {}, { i }));
        expect((await store.auditEventsAfter(0, 10)).map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7]);
        expect((await store.auditEventsAfter(3, 2)).map((e) => e.sequence)).toEqual([4, 5]);
        expect(await store.auditEventsAfter(7, 10)).toEqual([]);
        expect(await store.auditEventsAfter(99, 10)).toEqual([]);
        const [fourth] = await store.auditEventsAfter(3, 1);
        expect(fourth).toEqual(await eventAt(store, 4));
      });

      it('reads forward with no gap or duplicate while appends run concurrently', async () => {
        const appends = Promise.all(Array.from({ length: 40 }, (_, i) => store.appendAudit(draft('RACE', {}, { i }))));
        const seen: number[] = [];
        let cursor = 0;
        for (let reads = 0; seen.length < 40 && reads < 10_000; reads++) {
          const batch = await store.auditEventsAfter(cursor, 7);
          for (const e of batch) seen.push(e.sequence);
          if (batch.length > 0) cursor = batch[batch.length - 1]!.sequence;
          else await new Promise((r) => setTimeout(r, 1));
        }
        await appends;
        expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      });

      it('filters by model, actor, action and time, newest first, with cursors', async () => {
        const t0 = tick();
        await store.appendAudit({ ...draft('A', { modelName: 'm1' }), actor: 'alice' });
        await store.appendAudit({ ...draft('B', { modelName: 'm2' }), actor: 'bob' });
        const t1 = tick();
        await store.appendAudit({ ...draft('A', { modelName: 'm1' }), actor: 'bob', occurredAt: tick() });
        const all: AuditFilter = { modelName: null, actor: null, action: null, since: null, until: null };
        const seqs = async (f: Partial<AuditFilter>) =>
          (await store.listAuditEvents({ ...all, ...f }, { first: 10, after: null })).items.map((i) => i.node.sequence);
        expect(await seqs({})).toEqual([3, 2, 1]);
        expect(await seqs({ modelName: 'm1' })).toEqual([3, 1]);
        expect(await seqs({ actor: 'bob' })).toEqual([3, 2]);
        expect(await seqs({ action: 'A', actor: 'alice' })).toEqual([1]);
        expect(await seqs({ since: t1 })).toEqual([3]);
        expect(await seqs({ since: t0, until: t1 })).toEqual([2, 1]);
        expect(await seqs({ modelScope: 'm*' })).toEqual([3, 2, 1]);
        expect(await seqs({ modelScope: 'm1' })).toEqual([3, 1]);
        expect(await seqs({ modelScope: 'm2*', actor: 'bob' })).toEqual([2]);
        await store.appendAudit(draft('TOKEN', {}));
        expect(await seqs({ modelScope: 'm*' })).toEqual([3, 2, 1]);
        expect(await seqs({})).toEqual([4, 3, 2, 1]);
        const p1 = await store.listAuditEvents(all, { first: 2, after: null });
        const p2 = await store.listAuditEvents(all, { first: 2, after: p1.items[1]!.cursor });
        expect(p2.items.map((i) => i.node.sequence)).toEqual([2, 1]);
        expect(p1.totalCount).toBe(4);
      });

      it('pages a prefix scope spanning many models, and a time range alone, newest first with exact counts', async () => {
        const t0 = tick();
        for (let i = 0; i < 130; i++) {
          await store.appendAudit(draft(i % 10 === 0 ? 'API_TOKEN_CREATED' : 'A', { modelName: `wide-${String(i).padStart(3, '0')}` }));
          if (i % 20 === 0) await store.appendAudit(draft('A', { modelName: `narrow-${i}` }));
        }
        const t1 = tick();
        await store.appendAudit(draft('A', { modelName: 'wide-late' }));
        const all: AuditFilter = { modelName: null, actor: null, action: null, since: null, until: null };
        const walk = async (f: AuditFilter) => {
          const seen: number[] = [];
          let after: string | null = null;
          let total = -1;
          for (;;) {
            const page = await store.listAuditEvents(f, { first: 40, after });
            total = page.totalCount;
            seen.push(...page.items.map((i) => i.node.sequence));
            if (!page.hasNextPage) return { seen, total };
            after = page.items[page.items.length - 1]!.cursor;
          }
        };
        const events: { sequence: number; modelName: string | null; action: string; occurredAt: Date }[] = [];
        for await (const e of store.auditEventsAscending()) events.push(e);
        const newestFirst = (keep: (e: (typeof events)[number]) => boolean) => events.filter(keep).map((e) => e.sequence).reverse();
        const wide = await walk({ ...all, modelScope: 'wide-*' });
        expect(wide.seen).toEqual(newestFirst((e) => e.modelName?.startsWith('wide-') === true));
        expect([wide.seen.length, wide.total]).toEqual([131, 131]);
        const hidden = await walk({ ...all, modelScope: 'wide-*', hiddenActionPrefix: 'API_TOKEN_' });
        expect(hidden.seen).toEqual(newestFirst((e) => e.modelName?.startsWith('wide-') === true && !e.action.startsWith('API_TOKEN_')));
        expect(hidden.total).toBe(hidden.seen.length);
        const since = await walk({ ...all, since: t1 });
        expect([since.seen, since.total]).toEqual([newestFirst((e) => e.occurredAt >= t1), 1]);
        const window = await walk({ ...all, since: t0, until: t1 });
        expect(window.seen).toEqual(newestFirst((e) => e.occurredAt >= t0 && e.occurredAt < t1));
        expect(window.total).toBe(137);
      });

      it('leaves out events whose action starts with a hidden prefix, in pages and in counts', async () => {
        await store.appendAudit(draft('API_TOKEN_CREATED'));
        await store.appendAudit(draft('A', { modelName: 'm1' }));
        await store.appendAudit(draft('API_TOKEN_REVOKED'));
        await store.appendAudit(draft('API_TOKENS_ARE_NOT_THIS'));
        await store.appendAudit(draft('B', { modelName: 'm1' }));
        const all: AuditFilter = { modelName: null, actor: null, action: null, since: null, until: null, hiddenActionPrefix: 'API_TOKEN_' };
        const page = await store.listAuditEvents(all, { first: 2, after: null });
        expect(page.items.map((i) => i.node.action)).toEqual(['B', 'API_TOKENS_ARE_NOT_THIS']);
        expect(page.totalCount).toBe(3);
        const next = await store.listAuditEvents(all, { first: 2, after: page.items[1]!.cursor });
        expect(next.items.map((i) => i.node.action)).toEqual(['A']);
        const m1 = await store.listAuditEvents({ ...all, modelName: 'm1' }, { first: 10, after: null });
        expect([m1.items.length, m1.totalCount]).toEqual([2, 2]);
        expect((await store.listAuditEvents({ ...all, hiddenActionPrefix: null }, { first: 10, after: null })).totalCount).toBe(5);
      });
    });

    describe('models', () => {
      it('lists models by name with a substring search that treats % and _ literally', async () => {
        for (const n of ['b-model', 'a_model', 'c1', 'abc']) await register(n);
        const page = await store.listModels({ search: null }, { first: 3, after: null });
        expect(page.items.map((i) => i.node.name)).toEqual(['a_model', 'abc', 'b-model']);
        const next = await store.listModels({ search: null }, { first: 3, after: page.items[2]!.cursor });
        expect(next.items.map((i) => i.node.name)).toEqual(['c1']);
        expect((await store.listModels({ search: '_' }, { first: 10, after: null })).items.map((i) => i.node.name)).toEqual(['a_model']);
        expect((await store.listModels({ search: 'model' }, { first: 10, after: null })).totalCount).toBe(2);
        expect((await store.listModels({ search: '%' }, { first: 10, after: null })).items).toEqual([]);
        expect((await store.getModels(['abc', 'zzz', 'c1'])).map((m) => m.name).sort()).toEqual(['abc', 'c1']);
      });

      it('limits model lists to a token scope: an exact name or a prefix', async () => {
        for (const n of ['team-a', 'team-b', 'team', 'teams', 'other']) await register(n);
        const names = async (scope: string, search: string | null = null) =>
          (await store.listModels({ search, scope }, { first: 10, after: null })).items.map((i) => i.node.name);
        expect(await names('team-*')).toEqual(['team-a', 'team-b']);
        expect(await names('team*')).toEqual(['team', 'team-a', 'team-b', 'teams']);
        expect(await names('team')).toEqual(['team']);
        expect(await names('team-*', 'b')).toEqual(['team-b']);
        expect(await names('nobody')).toEqual([]);
        expect((await store.listModels({ search: null, scope: 'team-*' }, { first: 1, after: null })).totalCount).toBe(2);
      });

      it('updates a model description with its audit event', async () => {
        await register('desc');
        const before = (await store.stats()).auditEvents;
        expect(await store.updateModel('desc', { description: 'hello' }, draft('MODEL_UPDATED'))).toMatchObject({ description: 'hello' });
        expect((await store.getModel('desc'))?.description).toBe('hello');
        expect((await store.stats()).auditEvents).toBe(before + 1);
        expect(await store.updateModel('missing', { description: 'x' }, draft('MODEL_UPDATED'))).toBeNull();
        expect((await store.stats()).auditEvents).toBe(before + 1);
      });

      it('updateModel sets the primary metric (roc_auc until then) and leaves fields not given unchanged', async () => {
        await register('primary');
        expect((await store.getModel('primary'))?.primaryMetric).toBe('roc_auc');
        expect(await store.updateModel('primary', { description: 'churn' }, draft('MODEL_UPDATED'))).toMatchObject({ description: 'churn', primaryMetric: 'roc_auc' });
        expect(await store.updateModel('primary', { primaryMetric: 'f1' }, draft('MODEL_UPDATED'))).toMatchObject({ description: 'churn', primaryMetric: 'f1' });
        expect(await store.getModel('primary')).toMatchObject({ description: 'churn', primaryMetric: 'f1' });
        expect(await store.updateModel('primary', { description: null }, draft('MODEL_UPDATED'))).toMatchObject({ description: null, primaryMetric: 'f1' });
        const listed = (await store.listModels({ search: 'primary', scope: null }, { first: 5, after: null })).items.map((i) => i.node);
        expect(listed).toEqual([expect.objectContaining({ name: 'primary', primaryMetric: 'f1' })]);
        expect((await store.getModels(['primary']))[0]?.primaryMetric).toBe('f1');
      });
    });

    describe('api tokens', () => {
      const token = (overrides: Partial<NewApiToken> = {}): NewApiToken => ({
        id: randomUUID(),
        name: 'ci',
        role: 'publisher',
        modelScope: 'fraud-*',
        environments: null,
        expiresAt: new Date('2027-01-01T00:00:00.000Z'),
        createdAt: tick(),
        createdBy: 'admin',
        lastUsedAt: null,
        revokedAt: null,
        secretHash: createHash('sha256').update(randomUUID()).digest('hex'),
        ...overrides,
      });

      it('stores, finds by hash, lists newest first, touches and revokes once', async () => {
        const t1 = await store.createApiToken(token({ name: 'one' }), draft('API_TOKEN_CREATED'));
        const t2 = await store.createApiToken(token({ name: 'two', modelScope: null, expiresAt: null }), draft('API_TOKEN_CREATED'));
        expect(await store.findApiTokenByHash(t1.secretHash)).toEqual(t1);
        expect(await store.findApiTokenByHash('0'.repeat(64))).toBeNull();
        expect((await store.listApiTokens()).map((t) => t.name)).toEqual(['two', 'one']);
        const used = tick();
        await store.touchApiToken(t2.id, used);
        expect((await store.findApiTokenByHash(t2.secretHash))?.lastUsedAt).toEqual(used);
        const at = tick();
        expect((await store.revokeApiToken(t1.id, at, draft('API_TOKEN_REVOKED')))?.revokedAt).toEqual(at);
        expect((await store.revokeApiToken(t1.id, tick(), draft('API_TOKEN_REVOKED')))?.revokedAt).toEqual(at);
        expect(await store.revokeApiToken(randomUUID(), tick(), draft('API_TOKEN_REVOKED'))).toBeNull();
        const events = (await store.stats()).auditEvents;
        await expect(store.createApiToken(token({ secretHash: t1.secretHash }), draft('API_TOKEN_CREATED'))).rejects.toBeInstanceOf(ConflictError);
        await expect(store.createApiToken(token({ id: t1.id }), draft('API_TOKEN_CREATED'))).rejects.toBeInstanceOf(ConflictError);
        expect((await store.stats()).auditEvents).toBe(events);
      });

      it('keeps the environments a token is limited to (null: every one) through find, list and revoke', async () => {
        const limited = await store.createApiToken(token({ environments: ['staging', 'canary'] }), draft('API_TOKEN_CREATED'));
        const open = await store.createApiToken(token({ environments: null }), draft('API_TOKEN_CREATED'));
        expect((await store.findApiTokenByHash(limited.secretHash))?.environments).toEqual(['staging', 'canary']);
        expect((await store.findApiTokenByHash(open.secretHash))?.environments).toBeNull();
        expect((await store.listApiTokens()).find((t) => t.id === limited.id)?.environments).toEqual(['staging', 'canary']);
        expect((await store.revokeApiToken(limited.id, tick(), draft('API_TOKEN_REVOKED')))?.environments).toEqual(['staging', 'canary']);
      });

      it('anchors each token row to the audit event that created it, then to the one that revoked it', async () => {
        const created = await store.createApiToken(token(), draft('API_TOKEN_CREATED'));
        const createdEvent = await eventAt(store, created.audit!.sequence);
        expect(createdEvent).toMatchObject({ action: 'API_TOKEN_CREATED', hash: created.audit!.hash });
        expect((await store.findApiTokenByHash(created.secretHash))?.audit).toEqual(created.audit);
        const revoked = await store.revokeApiToken(created.id, tick(), draft('API_TOKEN_REVOKED'));
        expect(revoked!.audit!.sequence).toBeGreaterThan(created.audit!.sequence);
        expect(await eventAt(store, revoked!.audit!.sequence)).toMatchObject({ action: 'API_TOKEN_REVOKED', hash: revoked!.audit!.hash });
        expect((await store.listApiTokens())[0]!.audit).toEqual(revoked!.audit);
        expect(await eventAt(store, 10_000)).toBeNull();
      });

      it("finds a token's last change among the token events, whatever else the chain holds", async () => {
        const a = await store.createApiToken(token(), draft('API_TOKEN_CREATED', {}, { tokenId: 'will-be-replaced' }));
        expect(await store.lastTokenChange(a.id)).toBeNull(); // its event names another token id
        const b = await store.createApiToken(token(), draft('API_TOKEN_CREATED'));
        const created = await store.appendAudit(draft('API_TOKEN_CREATED', {}, { tokenId: b.id }));
        await store.appendAudit(draft('ACCESS_DENIED_SUMMARY', {}, { tokenId: b.id }));
        await store.appendAudit(draft('API_TOKEN_CREATED', {}, { tokenId: 'someone-else' }));
        expect(await store.lastTokenChange(b.id)).toMatchObject({ sequence: created.sequence, hash: created.hash });
        const revoked = await store.revokeApiToken(b.id, tick(), draft('API_TOKEN_REVOKED', {}, { tokenId: b.id }));
        expect((await store.lastTokenChange(b.id))?.sequence).toBe(revoked!.audit!.sequence);
        expect(await store.lastTokenChange('nobody')).toBeNull();
      });
    });

    describe('pointer anchors', () => {
      it('names the audit event of the last move in every pointer, and lists them all', async () => {
        const v1 = await ready(await register('anchored'));
        const v2 = await ready(await register('anchored'));
        const first = await deploy(v1);
        const second = await deploy(v2);
        const staging = await deploy(v1, 'staging');
        if (first.kind !== 'moved' || second.kind !== 'moved' || staging.kind !== 'moved') throw new Error('a move failed');
        expect(second.pointer.audit!.sequence).toBeGreaterThan(first.pointer.audit!.sequence);
        const event = await eventAt(store, second.pointer.audit!.sequence);
        expect(event).toMatchObject({ action: 'MODEL_VERSION_PROMOTED', versionId: v2.id, hash: second.pointer.audit!.hash });
        expect((await store.getPointer('anchored', 'production'))?.audit).toEqual(second.pointer.audit);
        const all: unknown[] = [];
        for await (const p of store.allPointers()) all.push(p);
        expect(all).toEqual([second.pointer, staging.pointer]);
      });
    });

    describe('leases', () => {
      it('gives a lease to one holder at a time, renews it for that holder, and frees it on release or expiry', async () => {
        expect(await store.acquireLease('complete:v1', 'a', 60_000)).toBe(true);
        expect(await store.acquireLease('complete:v1', 'b', 60_000)).toBe(false);
        expect(await store.acquireLease('complete:v1', 'a', 60_000)).toBe(true);
        expect(await store.acquireLease('complete:v2', 'b', 60_000)).toBe(true);
        await store.releaseLease('complete:v1', 'b');
        expect(await store.acquireLease('complete:v1', 'b', 60_000)).toBe(false);
        await store.releaseLease('complete:v1', 'a');
        expect(await store.acquireLease('complete:v1', 'b', 60_000)).toBe(true);
        expect(await store.acquireLease('short', 'a', 1)).toBe(true);
        await new Promise((r) => setTimeout(r, 20));
        expect(await store.acquireLease('short', 'b', 60_000)).toBe(true);
      });

      it('keeps the details its holder gives, shows them to readers, and forgets an expired lease', async () => {
        expect(await store.getLease('job')).toBeNull();
        expect(await store.acquireLease('job', 'a', 60_000, { done: 1, of: 10 })).toBe(true);
        expect(await store.getLease('job')).toMatchObject({ name: 'job', holder: 'a', details: { done: 1, of: 10 } });
        expect(await store.acquireLease('job', 'a', 60_000)).toBe(true);
        expect((await store.getLease('job'))?.details).toEqual({ done: 1, of: 10 });
        expect(await store.acquireLease('job', 'b', 60_000, { done: 0, of: 1 })).toBe(false);
        expect(await store.acquireLease('job', 'a', 60_000, { done: 5, of: 10 })).toBe(true);
        const lease = await store.getLease('job');
        expect(lease?.details).toEqual({ done: 5, of: 10 });
        expect(lease!.expiresAt.getTime()).toBeGreaterThan(Date.now());
        await store.releaseLease('job', 'a');
        expect(await store.getLease('job')).toBeNull();
        expect(await store.acquireLease('brief', 'a', 1, { x: 1 })).toBe(true);
        await new Promise((r) => setTimeout(r, 20));
        expect(await store.getLease('brief')).toBeNull();
        expect(await store.acquireLease('brief', 'b', 60_000)).toBe(true);
        expect((await store.getLease('brief'))?.details).toBeNull();
      });

      it('lets exactly one of many concurrent callers take a free lease', async () => {
        const won = await Promise.all(Array.from({ length: 10 }, (_, i) => store.acquireLease('race', `holder-${i}`, 60_000)));
        expect(won.filter(Boolean)).toHaveLength(1);
      });
    });

    it('counts everything in stats', async () => {
      const v = await ready(await register('stats'));
      await register('stats');
      await deploy(v);
      expect(await store.stats()).toEqual({
        models: 1,
        versions: 2,
        versionsByStatus: [{ status: 'PENDING_UPLOAD', count: 1 }, { status: 'READY', count: 1 }],
        deployments: 1,
        auditEvents: 4,
        unfinishedWrites: 0,
      });
      expect(await store.unfinishedWrites()).toBe(0);
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
