import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/hash-chain.js';
import { ConflictError } from '../../src/domain/errors.js';
import type { DeploymentObservation, PromotionRequest } from '../../src/domain/governance.js';
import type { ModelVersion } from '../../src/domain/model.js';
import type { RegistryStore } from '../../src/stores/registry.store.js';
import { draft, newDeployment, newVersion, tick } from '../support/fixtures.js';

type OpenStore = () => Promise<{ store: RegistryStore; close: () => Promise<void> }>;

export function newRequest(over: Partial<PromotionRequest> = {}): PromotionRequest {
  const at = tick();
  return {
    id: randomUUID(), modelName: 'gov', versionId: 'v20260101000000_0000000a', environment: 'production', requestedBy: 'alice (t1)', requestedByTokenId: 't1',
    requestedAt: at, expiresAt: new Date(at.getTime() + 7 * 24 * 3600_000), reason: 'better', expectedCurrentVersionId: null, requiredApprovals: 2,
    status: 'PENDING', approvals: [], decidedBy: null, decisionComment: null, decidedAt: null, deploymentId: null, revision: 1, ...over,
  };
}

/** The governance part of the store contract (GovernanceStore), run from describeRegistryStore on every implementation. */
export function describeGovernanceStore(name: string, open: OpenStore): void {
  describe(`GovernanceStore contract: ${name}`, () => {
    let store: RegistryStore;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ store, close } = await open());
    });
    afterEach(async () => {
      await close();
    });

    async function readyVersion(model: string): Promise<ModelVersion> {
      const v = await store.registerVersion(newVersion(model), () => draft('MODEL_VERSION_REGISTERED'));
      const r = await store.transitionVersion(v.id, { from: ['PENDING_UPLOAD'], to: 'READY', failureReason: null, requireUndeployed: false }, draft('MODEL_VERSION_READY'));
      if (r.kind !== 'ok') throw new Error(r.kind);
      return r.version;
    }
    async function deploy(v: ModelVersion, env: string, deployedAt: Date) {
      const p = await store.getPointer(v.modelName, env);
      const d = newDeployment(v, env, p ? { versionId: p.versionId, deploymentId: p.deploymentId } : null, { deployedAt });
      const r = await store.moveDeploymentPointer(d, p?.revision ?? null, draft('MODEL_VERSION_PROMOTED', { modelName: v.modelName, versionId: v.id }, { environment: env, deploymentId: d.id }));
      if (r.kind !== 'moved') throw new Error(r.kind);
      return r.deployment;
    }

    it('deploymentLiveAt: nothing before the first deployment, each deployment from its instant, per environment, FAILED ones never', async () => {
      const [a, b] = [await readyVersion('when'), await readyVersion('when')];
      const t = (s: number) => new Date(Date.UTC(2026, 5, 1, 12, 0, s));
      const d1 = await deploy(a, 'production', t(10));
      const d2 = await deploy(b, 'production', t(20));
      const s1 = await deploy(b, 'staging', t(15));
      await store.recordRefusedDeployment({ ...newDeployment(a, 'production', null, { deployedAt: t(25) }), status: 'FAILED', failureReason: 'no' }, draft('PROMOTION_REFUSED'));
      const at = async (s: number, env = 'production') => (await store.deploymentLiveAt('when', env, t(s)))?.id ?? null;
      expect(await at(9)).toBeNull();
      expect(await at(10)).toBe(d1.id);
      expect(await at(19)).toBe(d1.id);
      expect(await at(20)).toBe(d2.id);
      expect(await at(30)).toBe(d2.id);
      expect(await at(14, 'staging')).toBeNull();
      expect(await at(15, 'staging')).toBe(s1.id);
      expect(await store.deploymentLiveAt('nobody', 'production', t(30))).toBeNull();
    });

    it('an undeploy empties the pointer (no version, next revision), frees the version for archiving, and stays in the history', async () => {
      const v = await readyVersion('empty');
      const d1 = await deploy(v, 'production', tick());
      const p1 = (await store.getPointer('empty', 'production'))!;
      const undeploy = newDeployment(v, 'production', { versionId: v.id, deploymentId: d1.id }, { action: 'UNDEPLOY', versionId: null });
      const r = await store.moveDeploymentPointer(undeploy, p1.revision, draft('MODEL_UNDEPLOYED', { modelName: 'empty' }, { environment: 'production', deploymentId: undeploy.id }));
      expect(r.kind).toBe('moved');
      const p2 = await store.getPointer('empty', 'production');
      expect(p2).toMatchObject({ versionId: null, deploymentId: undeploy.id, revision: p1.revision + 1 });
      expect(await store.pointersForVersions([v.id])).toEqual([]);
      expect((await store.getDeployments([undeploy.id]))[0]).toMatchObject({ action: 'UNDEPLOY', versionId: null, previousVersionId: v.id, revision: 2 });
      expect((await store.deploymentLiveAt('empty', 'production', new Date(8.64e15)))?.id).toBe(undeploy.id);
      const archived = await store.transitionVersion(v.id, { from: ['READY'], to: 'ARCHIVED', failureReason: null, requireUndeployed: true }, draft('MODEL_VERSION_ARCHIVED'));
      expect(archived.kind).toBe('ok');
      // The emptied pointer moves on by compare-and-set like any other.
      expect((await store.moveDeploymentPointer(newDeployment(v, 'production', null), p1.revision, draft('X'))).kind).toBe('conflict');
    });

    it('observations: latest report per instance, a late older report changes nothing, counts by state, audit only when asked', async () => {
      const base = { deploymentId: 'd1', modelName: 'gov', environment: 'production', message: null, reportedBy: 'worker' };
      const obs = (instance: string, state: DeploymentObservation['state'], reportedAt: Date): DeploymentObservation => ({ ...base, instance, state, reportedAt });
      const [t1, t2, t3] = [tick(), tick(), tick()];
      const seen: (string | null)[] = [];
      const audit = (p: DeploymentObservation | null) => {
        seen.push(p?.state ?? null);
        return draft('DEPLOYMENT_STATUS_REPORTED', { modelName: 'gov' });
      };
      expect(await store.recordObservation(obs('a', 'SERVING', t1), audit)).toBe(true);
      expect(await store.recordObservation(obs('b', 'SERVING', t2), () => null)).toBe(true);
      expect(await store.recordObservation(obs('a', 'FAILED', t3), audit)).toBe(true);
      expect(await store.recordObservation(obs('a', 'SERVING', t2), audit)).toBe(false);
      expect(seen).toEqual([null, 'SERVING']);
      expect((await store.listObservations('d1', 10)).map((o) => [o.instance, o.state])).toEqual([['a', 'FAILED'], ['b', 'SERVING']]);
      expect((await store.listObservations('d1', 1)).map((o) => o.instance)).toEqual(['a']);
      expect(await store.countObservations('d1', 'SERVING')).toBe(1);
      expect(await store.countObservations('d1', 'FAILED')).toBe(1);
      expect(await store.listObservations('other', 10)).toEqual([]);
      const events = await store.auditEventsAfter(0, 100);
      expect(events.filter((e) => e.action === 'DEPLOYMENT_STATUS_REPORTED')).toHaveLength(2);
      expect((await verifyChain(store.auditEventsAscending())).valid).toBe(true);
    });

    it('environment policies: per (model or *, environment), replaced as a whole, audited', async () => {
      const p = { modelName: '*', environment: 'production', requiredApprovals: 2, requireImprovement: { metric: null, minRatio: 1.01 }, allowedActors: null, updatedAt: tick(), updatedBy: 'admin' };
      expect(await store.getEnvironmentPolicy('*', 'production')).toBeNull();
      await store.setEnvironmentPolicy(p, draft('ENVIRONMENT_POLICY_SET'));
      await store.setEnvironmentPolicy({ ...p, modelName: 'gov', requiredApprovals: 1, requireImprovement: null, allowedActors: ['bob'] }, draft('ENVIRONMENT_POLICY_SET'));
      expect(await store.getEnvironmentPolicy('*', 'production')).toEqual(p);
      expect(await store.getEnvironmentPolicy('gov', 'production')).toMatchObject({ requiredApprovals: 1, requireImprovement: null, allowedActors: ['bob'] });
      expect(await store.getEnvironmentPolicy('gov', 'staging')).toBeNull();
      await store.setEnvironmentPolicy({ ...p, requiredApprovals: 0 }, draft('ENVIRONMENT_POLICY_SET'));
      expect((await store.getEnvironmentPolicy('*', 'production'))?.requiredApprovals).toBe(0);
      expect((await store.auditEventsAfter(0, 100)).filter((e) => e.action === 'ENVIRONMENT_POLICY_SET')).toHaveLength(3);
    });

    it('promotion requests: created, changed only from the revision read (one of two racing writers wins), audited', async () => {
      const r = await store.createPromotionRequest(newRequest(), draft('PROMOTION_REQUESTED'));
      expect(await store.getPromotionRequest(r.id)).toEqual(r);
      await expect(store.createPromotionRequest(newRequest({ id: r.id }), draft('PROMOTION_REQUESTED'))).rejects.toBeInstanceOf(ConflictError);
      const approval = { actor: 'bob (t2)', tokenId: 't2', at: tick(), comment: 'ok' };
      const [x, y] = await Promise.all([
        store.updatePromotionRequest({ ...r, approvals: [approval], revision: 2 }, 1, draft('PROMOTION_APPROVED')),
        store.updatePromotionRequest({ ...r, status: 'CANCELLED', revision: 2 }, 1, draft('PROMOTION_CANCELLED')),
      ]);
      expect([x, y].filter((w) => w !== null)).toHaveLength(1);
      const stored = await store.getPromotionRequest(r.id);
      expect(stored?.revision).toBe(2);
      expect(stored).toEqual(x ?? y);
      const actions = (await store.auditEventsAfter(0, 100)).map((e) => e.action);
      expect(actions.filter((a) => a === 'PROMOTION_APPROVED' || a === 'PROMOTION_CANCELLED')).toHaveLength(1);
      expect(await store.updatePromotionRequest({ ...r, revision: 2 }, 1, draft('X'))).toBeNull();
      expect(await store.getPromotionRequest(randomUUID())).toBeNull();
    });

    it('lists requests newest first, by status (PENDING vs EXPIRED told apart by now), a page at a time', async () => {
      const now = tick();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const expired = i % 2 === 0;
        const r = newRequest({ modelName: 'listed', expiresAt: new Date(now.getTime() + (expired ? -1000 : 3600_000)) });
        ids.push((await store.createPromotionRequest(r, draft('PROMOTION_REQUESTED'))).id);
      }
      const done = await store.createPromotionRequest(newRequest({ modelName: 'listed', status: 'EXECUTED' }), draft('PROMOTION_REQUESTED'));
      await store.createPromotionRequest(newRequest({ modelName: 'other' }), draft('PROMOTION_REQUESTED'));
      const all = async (status: PromotionRequest['status'] | null) => {
        const out: string[] = [];
        let after: string | null = null;
        for (;;) {
          const page = await store.listPromotionRequests({ modelName: 'listed', status, now }, { first: 2, after });
          out.push(...page.items.map((i) => i.node.id));
          if (!page.hasNextPage) return { out, total: page.totalCount };
          after = page.items.at(-1)!.cursor;
        }
      };
      expect(await all(null)).toEqual({ out: [done.id, ...[...ids].reverse()], total: 6 });
      expect(await all('PENDING')).toEqual({ out: [ids[3], ids[1]], total: 2 });
      expect(await all('EXPIRED')).toEqual({ out: [ids[4], ids[2], ids[0]], total: 3 });
      expect(await all('EXECUTED')).toEqual({ out: [done.id], total: 1 });
    });
  });
}
