import { tokenAnchorProblem } from '../../src/audit/anchors.js';
import { createHash, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/hash-chain.js';
import type { AuditDraft, LegalHold, ModelVersion, NewModelVersion } from '../../src/domain/model.js';
import type { ApiToken, NewApiToken } from '../../src/domain/token.js';
import { type IdempotencyClaim, type IdempotentOperation, newClaim } from '../../src/domain/idempotency.js';
import { COLLECTIONS, deploymentToDoc, draftToDoc } from '../../src/stores/mongo/mongo-documents.js';
import type { StoreProblem } from '../../src/stores/mongo/mongo-steps.js';
import type { MongoRegistryStore } from '../../src/stores/mongo/mongo-registry.store.js';
import { type CallInfo, InjectedCrash, InjectedFailure, WriteFaults, withWriteFaults } from './fault-injecting-db.js';
import { draft, eventAt, newDeployment, newVersion, tick } from './fixtures.js';
import type { MongoTarget } from './mongo-target.js';

type Store = MongoRegistryStore;
/** A case opens a fresh database per crash point (indexes included): generous for a real server. */
const SLOW = 180_000;

/** One operation whose every crash point is tried: what to set up, run, and what "done"/"not done" must look like. */
interface CrashCase {
  name: string;
  seed(store: Store): Promise<Record<string, unknown>>;
  run(store: Store, ctx: Record<string, unknown>, audit: AuditDraft): Promise<unknown>;
  /** `audit` is the draft the operation ran with: done means its event is in the chain. */
  done(store: Store, ctx: Record<string, unknown>, audit: AuditDraft): Promise<void>;
  notDone(store: Store, ctx: Record<string, unknown>): Promise<void>;
}

const registerIn = (store: Store, model: string, overrides: Partial<NewModelVersion> = {}) =>
  store.registerVersion(newVersion(model, overrides), (v) => draft('MODEL_VERSION_REGISTERED', { modelName: v.modelName, versionId: v.id }));
const toReady = async (store: Store, v: ModelVersion) => {
  const r = await store.transitionVersion(v.id, { from: ['PENDING_UPLOAD'], to: 'READY', failureReason: null, requireUndeployed: false }, draft('MODEL_VERSION_READY'));
  if (r.kind !== 'ok') throw new Error(r.kind);
  return r.version;
};
const deploy = async (store: Store, v: ModelVersion, env = 'production') => {
  const p = await store.getPointer(v.modelName, env);
  return store.moveDeploymentPointer(newDeployment(v, env, p), p?.revision ?? null, draft('MODEL_VERSION_PROMOTED', { modelName: v.modelName, versionId: v.id }));
};
const rankIds = async (store: Store, model: string, metric = 'roc_auc') =>
  (await store.rankVersions({ modelName: model, metric, direction: 'DESC', statuses: ['READY', 'ARCHIVED'], versionIds: null, limit: 10 })).map((v) => v.id);
const v = (ctx: Record<string, unknown>, k = 'v') => ctx[k] as ModelVersion;
const newToken = (): NewApiToken => ({
  id: randomUUID(), name: 'ci', role: 'publisher', modelScope: null, environments: null, expiresAt: null, createdAt: tick(), createdBy: 'admin',
  lastUsedAt: null, revokedAt: null, secretHash: createHash('sha256').update(randomUUID()).digest('hex'),
});

const keyClaim = (modelName: string, resultId: string, operation: IdempotentOperation = 'REGISTER', refusalCode: string | null = null): IdempotencyClaim =>
  newClaim({ modelName, key: 'retry-key', operation, fingerprint: 'f'.repeat(64), resultId, refusalCode }, new Date());
/** After recovery the key is settled and names the result, or free (a new claim of it succeeds). */
const expectKeySettled = async (s: Store, model: string, resultId: string) =>
  expect(await s.getIdempotencyRecord(model, 'retry-key', new Date())).toMatchObject({ resultId, settled: true });
const expectKeyFree = async (s: Store, model: string) => {
  expect(await s.getIdempotencyRecord(model, 'retry-key', new Date())).toBeNull();
  await s.claimIdempotencyKey(keyClaim(model, 'someone-else'));
};

/** Holds the first database call that `at` picks until `release()`; `reached` resolves when it is held. */
function pauseAt(faults: WriteFaults, at: (call: CallInfo) => boolean): { reached: Promise<void>; release: () => void } {
  let release!: () => void;
  let hold!: () => void;
  const reached = new Promise<void>((r) => { hold = r; });
  const gate = new Promise<void>((r) => { release = r; });
  faults.arm(null, async (call) => {
    if (at(call)) {
      hold();
      await gate;
    }
  });
  return { reached, release };
}

const CASES: CrashCase[] = [
  {
    name: 'registerVersion (existing model)',
    seed: async (s) => ({ v1: await registerIn(s, 'reg'), v: newVersion('reg') }),
    run: (s, ctx, audit) => s.registerVersion(v(ctx) as NewModelVersion, () => audit),
    done: async (s, ctx) => {
      expect(await s.getVersion(v(ctx).id)).toMatchObject({ number: 2 });
      expect((await s.getModel('reg'))?.versionCount).toBe(2);
      expect((await registerIn(s, 'reg')).number).toBe(3);
    },
    notDone: async (s, ctx) => {
      expect(await s.getVersion(v(ctx).id)).toBeNull();
      expect((await s.getModel('reg'))?.versionCount).toBe(1);
      expect((await registerIn(s, 'reg')).number).toBe(2);
    },
  },
  {
    name: 'registerVersion (first version of a model)',
    seed: async () => ({ v: newVersion('fresh') }),
    run: (s, ctx, audit) => s.registerVersion(v(ctx) as NewModelVersion, () => audit),
    done: async (s) => expect(await s.getModel('fresh')).toMatchObject({ versionCount: 1 }),
    notDone: async (s) => expect(await s.getModel('fresh')).toBeNull(),
  },
  {
    name: 'transitionVersion PENDING_UPLOAD → READY',
    seed: async (s) => ({ v: await registerIn(s, 'tr') }),
    run: (s, ctx, audit) => s.transitionVersion(v(ctx).id, { from: ['PENDING_UPLOAD'], to: 'READY', failureReason: null, requireUndeployed: false }, audit),
    done: async (s, ctx) => {
      expect((await s.getVersion(v(ctx).id))?.status).toBe('READY');
      expect(await rankIds(s, 'tr')).toEqual([v(ctx).id]);
    },
    notDone: async (s, ctx) => {
      expect((await s.getVersion(v(ctx).id))?.status).toBe('PENDING_UPLOAD');
      expect(await rankIds(s, 'tr')).toEqual([]);
    },
  },
  {
    name: 'transitionVersion READY → ARCHIVED (requireUndeployed)',
    seed: async (s) => ({ v: await toReady(s, await registerIn(s, 'arc')) }),
    run: (s, ctx, audit) => s.transitionVersion(v(ctx).id, { from: ['READY'], to: 'ARCHIVED', failureReason: null, requireUndeployed: true }, audit),
    done: async (s, ctx) => {
      expect((await s.getVersion(v(ctx).id))?.status).toBe('ARCHIVED');
      expect(await deploy(s, v(ctx))).toEqual({ kind: 'version-not-ready', status: 'ARCHIVED' });
    },
    notDone: async (s, ctx) => {
      expect((await s.getVersion(v(ctx).id))?.status).toBe('READY');
      expect(await deploy(s, v(ctx))).toMatchObject({ kind: 'moved' });
    },
  },
  {
    name: 'moveDeploymentPointer (second revision)',
    seed: async (s) => {
      const v1 = await toReady(s, await registerIn(s, 'mv'));
      const v2 = await toReady(s, await registerIn(s, 'mv'));
      await deploy(s, v1);
      const p = (await s.getPointer('mv', 'production'))!;
      return { v1, v: v2, d: newDeployment(v2, 'production', p) };
    },
    run: (s, ctx, audit) => s.moveDeploymentPointer(ctx.d as ReturnType<typeof newDeployment>, 1, audit),
    done: async (s, ctx, audit) => {
      const id = (ctx.d as { id: string }).id;
      expect(await s.getPointer('mv', 'production')).toMatchObject({ versionId: v(ctx).id, revision: 2, deploymentId: id });
      await expectAnchoredTo(s, (await s.getPointer('mv', 'production'))!.audit, audit);
      expect(await s.getDeployments([id])).toMatchObject([{ status: 'SUCCEEDED', revision: 2 }]);
      expect((await s.listDeployments({ modelName: 'mv', environment: 'production', versionId: null, status: null }, { first: 5, after: null })).totalCount).toBe(2);
    },
    notDone: async (s, ctx) => {
      expect(await s.getPointer('mv', 'production')).toMatchObject({ versionId: v(ctx, 'v1').id, revision: 1 });
      expect(await s.getDeployments([(ctx.d as { id: string }).id])).toEqual([]);
      expect(await deploy(s, v(ctx))).toMatchObject({ kind: 'moved', pointer: { revision: 2 } });
    },
  },
  {
    name: 'moveDeploymentPointer (first deployment)',
    seed: async (s) => {
      const v1 = await toReady(s, await registerIn(s, 'first'));
      return { v: v1, d: newDeployment(v1, 'production', null) };
    },
    run: (s, ctx, audit) => s.moveDeploymentPointer(ctx.d as ReturnType<typeof newDeployment>, null, audit),
    done: async (s, ctx, audit) => {
      expect(await s.getPointer('first', 'production')).toMatchObject({ versionId: v(ctx).id, revision: 1 });
      await expectAnchoredTo(s, (await s.getPointer('first', 'production'))!.audit, audit);
      const all = [];
      for await (const p of s.allPointers()) all.push(p);
      expect(all).toEqual([await s.getPointer('first', 'production')]);
    },
    notDone: async (s, ctx) => {
      expect(await s.getPointer('first', 'production')).toBeNull();
      expect(await deploy(s, v(ctx))).toMatchObject({ kind: 'moved', pointer: { revision: 1 } });
    },
  },
  {
    name: 'recordRefusedDeployment',
    seed: async (s) => {
      const v1 = await toReady(s, await registerIn(s, 'ref'));
      return { v: v1, d: { ...newDeployment(v1, 'production', null), status: 'FAILED', failureReason: 'no' } };
    },
    run: (s, ctx, audit) => s.recordRefusedDeployment(ctx.d as ReturnType<typeof newDeployment>, audit),
    done: async (s, ctx) => expect(await s.getDeployments([(ctx.d as { id: string }).id])).toMatchObject([{ status: 'FAILED' }]),
    notDone: async (s, ctx) => expect(await s.getDeployments([(ctx.d as { id: string }).id])).toEqual([]),
  },
  {
    name: 'registerVersion with an idempotency key',
    seed: async () => ({ v: newVersion('keyed') }),
    run: (s, ctx, audit) => s.registerVersion(v(ctx) as NewModelVersion, () => audit, keyClaim('keyed', v(ctx).id)),
    done: async (s, ctx) => {
      expect(await s.getVersion(v(ctx).id)).toMatchObject({ number: 1 });
      await expectKeySettled(s, 'keyed', v(ctx).id);
    },
    notDone: async (s, ctx) => {
      expect(await s.getVersion(v(ctx).id)).toBeNull();
      await expectKeyFree(s, 'keyed');
    },
  },
  {
    name: 'moveDeploymentPointer with an idempotency key',
    seed: async (s) => {
      const v1 = await toReady(s, await registerIn(s, 'keyed-mv'));
      const v2 = await toReady(s, await registerIn(s, 'keyed-mv'));
      await deploy(s, v1);
      const p = (await s.getPointer('keyed-mv', 'production'))!;
      return { v1, v: v2, d: newDeployment(v2, 'production', p) };
    },
    run: (s, ctx, audit) => {
      const d = ctx.d as ReturnType<typeof newDeployment>;
      return s.moveDeploymentPointer(d, 1, audit, keyClaim('keyed-mv', d.id, 'PROMOTE'));
    },
    done: async (s, ctx) => {
      const id = (ctx.d as { id: string }).id;
      expect(await s.getPointer('keyed-mv', 'production')).toMatchObject({ versionId: v(ctx).id, revision: 2, deploymentId: id });
      await expectKeySettled(s, 'keyed-mv', id);
    },
    notDone: async (s, ctx) => {
      expect(await s.getPointer('keyed-mv', 'production')).toMatchObject({ versionId: v(ctx, 'v1').id, revision: 1 });
      expect(await s.getDeployments([(ctx.d as { id: string }).id])).toEqual([]);
      await expectKeyFree(s, 'keyed-mv');
    },
  },
  {
    name: 'recordRefusedDeployment with an idempotency key',
    seed: async (s) => {
      const v1 = await toReady(s, await registerIn(s, 'keyed-ref'));
      return { v: v1, d: { ...newDeployment(v1, 'production', null), status: 'FAILED', failureReason: 'no' } };
    },
    run: (s, ctx, audit) => {
      const d = ctx.d as ReturnType<typeof newDeployment>;
      return s.recordRefusedDeployment(d, audit, keyClaim('keyed-ref', d.id, 'PROMOTE', 'FAILED_PRECONDITION'));
    },
    done: async (s, ctx) => {
      expect(await s.getDeployments([(ctx.d as { id: string }).id])).toMatchObject([{ status: 'FAILED' }]);
      expect(await s.getIdempotencyRecord('keyed-ref', 'retry-key', new Date())).toMatchObject({ refusalCode: 'FAILED_PRECONDITION' });
      await expectKeySettled(s, 'keyed-ref', (ctx.d as { id: string }).id);
    },
    notDone: async (s, ctx) => {
      expect(await s.getDeployments([(ctx.d as { id: string }).id])).toEqual([]);
      await expectKeyFree(s, 'keyed-ref');
    },
  },
  {
    name: 'updateModel',
    seed: async (s) => ({ v: await registerIn(s, 'um') }),
    run: (s, _ctx, audit) => s.updateModel('um', { description: 'new' }, audit),
    done: async (s) => expect((await s.getModel('um'))?.description).toBe('new'),
    notDone: async (s) => expect((await s.getModel('um'))?.description).toBeNull(),
  },
  {
    name: 'updateVersionMetadata',
    seed: async (s) => ({ v: await registerIn(s, 'uv') }),
    run: (s, ctx, audit) => s.updateVersionMetadata(v(ctx).id, { tags: ['t'] }, audit),
    done: async (s, ctx) => expect((await s.getVersion(v(ctx).id))?.tags).toEqual(['t']),
    notDone: async (s, ctx) => expect((await s.getVersion(v(ctx).id))?.tags).toEqual([]),
  },
  {
    name: 'setLegalHold',
    seed: async (s) => ({ v: await toReady(s, await registerIn(s, 'lh')), hold: { reason: 'case', setBy: 'admin', setAt: tick() } }),
    run: (s, ctx, audit) => s.setLegalHold(v(ctx).id, ctx.hold as LegalHold, audit),
    done: async (s, ctx) => expect((await s.getVersion(v(ctx).id))?.legalHold).toEqual(ctx.hold),
    notDone: async (s, ctx) => expect((await s.getVersion(v(ctx).id))?.legalHold).toBeNull(),
  },
  {
    name: 'markVersionPurged',
    seed: async (s) => {
      const ready = await toReady(s, await registerIn(s, 'pg'));
      const r = await s.transitionVersion(ready.id, { from: ['READY'], to: 'ARCHIVED', failureReason: null, requireUndeployed: true, requireNoHold: true }, draft('MODEL_VERSION_ARCHIVED'));
      if (r.kind !== 'ok') throw new Error(r.kind);
      return { v: r.version, at: tick() };
    },
    run: (s, ctx, audit) => s.markVersionPurged(v(ctx).id, ctx.at as Date, audit),
    done: async (s, ctx) => expect((await s.getVersion(v(ctx).id))?.purgedAt).toEqual(ctx.at),
    notDone: async (s, ctx) => expect((await s.getVersion(v(ctx).id))?.purgedAt).toBeNull(),
  },
  {
    name: 'createApiToken',
    seed: async () => ({ t: newToken() }),
    run: (s, ctx, audit) => s.createApiToken(ctx.t as NewApiToken, audit),
    done: async (s, ctx, audit) => {
      const found = await s.findApiTokenByHash((ctx.t as ApiToken).secretHash);
      expect(found).toMatchObject(ctx.t as NewApiToken);
      await expectAnchoredTo(s, found!.audit, audit);
    },
    notDone: async (s, ctx) => expect(await s.findApiTokenByHash((ctx.t as ApiToken).secretHash)).toBeNull(),
  },
  {
    name: 'revokeApiToken',
    seed: async (s) => ({ t: await s.createApiToken(newToken(), draft('API_TOKEN_CREATED')), at: tick() }),
    run: (s, ctx, audit) => s.revokeApiToken((ctx.t as ApiToken).id, ctx.at as Date, audit),
    done: async (s, ctx, audit) => {
      const found = await s.findApiTokenByHash((ctx.t as ApiToken).secretHash);
      expect(found?.revokedAt).toEqual(ctx.at);
      await expectAnchoredTo(s, found!.audit, audit);
    },
    notDone: async (s, ctx) => {
      const found = await s.findApiTokenByHash((ctx.t as ApiToken).secretHash);
      expect(found?.revokedAt).toBeNull();
      expect(found?.audit).toEqual((ctx.t as ApiToken).audit);
    },
  },
];

async function pendingCount(target: MongoTarget): Promise<number> {
  let n = 0;
  for (const c of Object.values(COLLECTIONS)) n += await target.db.collection(c).countDocuments({ pendingAt: { $exists: true } });
  // Unsettled idempotency claims count as unfinished writes too.
  return n + (await target.db.collection(COLLECTIONS.idempotencyKeys).countDocuments({ unsettledAt: { $exists: true } }));
}

async function auditIds(store: Store): Promise<string[]> {
  const ids: string[] = [];
  for await (const e of store.auditEventsAscending()) ids.push(e.id);
  return ids;
}

/** The row's anchor names the event appended for `audit` (by its id), with that event's sequence and hash. */
async function expectAnchoredTo(store: Store, ref: { sequence: number; hash: string } | null, audit: AuditDraft): Promise<void> {
  expect(ref, 'the row names no audit event').not.toBeNull();
  const event = await eventAt(store, ref!.sequence);
  expect(event).toMatchObject({ id: audit.id, hash: ref!.hash });
}

async function expectChainValid(store: Store): Promise<void> {
  expect(await verifyChain(store.auditEventsAscending())).toMatchObject({ valid: true });
}

/**
 * Crash-point tests: each operation is stopped before each of its writes in turn (the wrapper
 * throws there and the "process" makes no further call); a second store on the same database then
 * starts (running recovery, lease 0) and must find the operation either complete (its audit event
 * in the chain and every other effect visible) or without any effect, with no marker left and a
 * valid chain; and the registry must keep working.
 */
export function describeMongoCrashPoints(
  label: string, newTarget: () => Promise<MongoTarget>, suite: (name: string, body: () => void) => void = describe,
): void {
  suite(`MongoRegistryStore crash points: ${label}`, () => {
    const targets: MongoTarget[] = [];
    const fresh = async () => {
      const t = await newTarget();
      targets.push(t);
      return t;
    };
    afterEach(async () => {
      await Promise.all(targets.splice(0).map((t) => t.dispose()));
    });

    for (const c of CASES) {
      it(`${c.name}: every crash point ends complete or without effect`, async () => {
        const dry = await fresh();
        const dryFaults = new WriteFaults();
        const dryStore = await dry.open({ wrapDb: (db) => withWriteFaults(db, dryFaults) });
        const dryCtx = await c.seed(dryStore);
        dryFaults.arm(null);
        await c.run(dryStore, dryCtx, draft('OP'));
        const writes = dryFaults.writeCount;
        expect(writes).toBeGreaterThan(0);
        const outcomes: string[] = [];
        for (let n = 1; n <= writes; n++) {
          const t = await fresh();
          const faults = new WriteFaults();
          const crashing = await t.open({ wrapDb: (db) => withWriteFaults(db, faults) });
          const ctx = await c.seed(crashing);
          const audit = draft('OP');
          faults.arm(n);
          // After its commit point the operation returns its committed result even though its process
          // is "dead" (the later steps failed); before it, the crash surfaces.
          const outcome = await c.run(crashing, ctx, audit).then(() => 'returned' as const, (e: unknown) => e);
          if (outcome !== 'returned') expect(outcome).toBeInstanceOf(InjectedCrash);
          const recovered = await t.open({ intentLeaseMs: 0 });
          expect(await pendingCount(t), `markers left after crash before write ${n}`).toBe(0);
          const completed = (await auditIds(recovered)).includes(audit.id);
          if (outcome === 'returned') expect(completed, `returned after a crash before write ${n}, yet not complete after recovery`).toBe(true);
          outcomes.push(completed ? 'done' : 'none');
          await (completed ? c.done(recovered, ctx, audit) : c.notDone(recovered, ctx));
          await expectChainValid(recovered);
        }
        // A crash before the first write leaves nothing; after the commit point, recovery completes it.
        expect(outcomes[0]).toBe('none');
        expect(outcomes[outcomes.length - 1]).toBe('done');
      }, SLOW);
    }

    describe('the anchor step (a row names its audit event only once that event is in the chain)', () => {
      /** Runs `op` once dry to find the write that anchors `collection` right after the audit insert, then crashes just before it. */
      async function crashBeforeAnchor(collection: string, seed: (s: Store) => Promise<Record<string, unknown>>, op: (s: Store, ctx: Record<string, unknown>, audit: AuditDraft) => Promise<unknown>) {
        const dry = await fresh();
        const dryFaults = new WriteFaults();
        const dryStore = await dry.open({ wrapDb: (db) => withWriteFaults(db, dryFaults) });
        const dryCtx = await seed(dryStore);
        dryFaults.arm(null);
        await op(dryStore, dryCtx, draft('OP'));
        const writes = dryFaults.calls.filter((c) => c.write);
        const auditAt = writes.findIndex((c) => c.collection === COLLECTIONS.audit);
        const anchorAt = writes.findIndex((c, i) => i > auditAt && c.collection === collection && c.method === 'updateOne');
        expect(auditAt).toBeGreaterThanOrEqual(0);
        expect(anchorAt).toBeGreaterThan(auditAt);
        const t = await fresh();
        const faults = new WriteFaults();
        const crashing = await t.open({ wrapDb: (db) => withWriteFaults(db, faults) });
        const ctx = await seed(crashing);
        const audit = draft('OP');
        faults.arm(writes[anchorAt]!.writeNo);
        // Past its commit point: the operation returns its committed result, the row not yet anchored.
        const result = await op(crashing, ctx, audit);
        return { t, ctx, audit, result };
      }

      it('a pointer move stopped before its anchor: the row shows no anchor until recovery anchors it to the move event', async () => {
        const { t, ctx, audit, result } = await crashBeforeAnchor(
          COLLECTIONS.pointers,
          async (s) => ({ v: await toReady(s, await registerIn(s, 'anch')) }),
          (s, c, a) => s.moveDeploymentPointer(newDeployment(v(c), 'production', null), null, { ...a, action: 'MODEL_VERSION_PROMOTED', modelName: 'anch', details: { environment: 'production' } }),
        );
        expect(result).toMatchObject({ kind: 'moved', pointer: { revision: 1, audit: null } });
        const raw = await t.db.collection(COLLECTIONS.pointers).findOne({ _id: 'anch:production' as never });
        expect(raw).toMatchObject({ audit: null, pending: { id: audit.id, phase: 'committed' } });
        const recovered = await t.open();
        const pointer = await recovered.getPointer('anch', 'production');
        expect(pointer).toMatchObject({ versionId: v(ctx).id, revision: 1 });
        await expectAnchoredTo(recovered, pointer!.audit, audit);
        const all = [];
        for await (const p of recovered.allPointers()) all.push(p);
        expect(all).toEqual([pointer]);
        expect(await pendingCount(t)).toBe(0);
      });

      it('a token creation stopped before its anchor: the token is anchored to its creation event once found', async () => {
        const { t, ctx, audit, result } = await crashBeforeAnchor(
          COLLECTIONS.tokens,
          async () => ({ t: newToken() }),
          (s, c, a) => s.createApiToken(c.t as NewApiToken, { ...a, action: 'API_TOKEN_CREATED', details: { tokenId: (c.t as NewApiToken).id } }),
        );
        expect(result).toMatchObject({ id: (ctx.t as NewApiToken).id, audit: null });
        const raw = await t.db.collection(COLLECTIONS.tokens).findOne({ _id: (ctx.t as NewApiToken).id as never });
        expect(raw).toMatchObject({ audit: null, pending: { id: audit.id } });
        const recovered = await t.open();
        const found = await recovered.findApiTokenByHash((ctx.t as NewApiToken).secretHash);
        await expectAnchoredTo(recovered, found!.audit, audit);
        expect((await recovered.listApiTokens()).map((x) => x.audit)).toEqual([found!.audit]);
      });
    });

    it('backfills the anchors of rows written before anchors existed, once, to the last event that changed each', async () => {
      const t = await fresh();
      const s = await t.open();
      const v1 = await toReady(s, await registerIn(s, 'old'));
      const v2 = await toReady(s, await registerIn(s, 'old'));
      const move = (x: ModelVersion, env: string, rev: number | null) =>
        s.moveDeploymentPointer(newDeployment(x, env, null), rev, draft('MODEL_VERSION_PROMOTED', { modelName: 'old', versionId: x.id }, { environment: env }));
      await move(v1, 'production', null);
      const prod = await move(v2, 'production', 1);
      const staging = await move(v1, 'staging', null);
      const token = newToken();
      await s.createApiToken(token, draft('API_TOKEN_CREATED', {}, { tokenId: token.id }));
      const revoked = await s.revokeApiToken(token.id, tick(), draft('API_TOKEN_REVOKED', {}, { tokenId: token.id }));
      const active = newToken(); // created before fingerprints: bound to its secret at the upgrade
      const created = await s.createApiToken(active, draft('API_TOKEN_CREATED', {}, { tokenId: active.id, role: active.role, modelScope: active.modelScope, expiresAt: null }));
      const lone = newToken();
      const { id: loneId, ...loneFields } = lone; // a row made outside the registry: no event names it
      await t.db.collection(COLLECTIONS.tokens).insertOne({ _id: loneId as never, ...loneFields });
      // As an earlier version of the registry left them: no `audit` field, no schema marker.
      await t.db.collection(COLLECTIONS.pointers).updateMany({}, { $unset: { audit: '' } });
      await t.db.collection(COLLECTIONS.tokens).updateMany({}, { $unset: { audit: '' } });
      await t.db.collection(COLLECTIONS.counters).deleteOne({ _id: 'schema' as never });
      const reopened = await t.open();
      if (prod.kind !== 'moved' || staging.kind !== 'moved') throw new Error('a move failed');
      expect((await reopened.getPointer('old', 'production'))?.audit).toEqual(prod.pointer.audit);
      expect((await reopened.getPointer('old', 'staging'))?.audit).toEqual(staging.pointer.audit);
      expect((await reopened.findApiTokenByHash(token.secretHash))?.audit).toEqual(revoked!.audit);
      expect((await reopened.findApiTokenByHash(lone.secretHash))?.audit).toBeNull();
      const bound = (await reopened.findApiTokenByHash(active.secretHash))!;
      expect(bound.audit!.sequence).toBeGreaterThan(created.audit!.sequence);
      expect(await reopened.lastTokenChange(active.id)).toMatchObject({ action: 'API_TOKEN_ANCHORED', sequence: bound.audit!.sequence, hash: bound.audit!.hash });
      expect(tokenAnchorProblem(bound, await eventAt(reopened, bound.audit!.sequence))).toBeNull();
      expect(await t.db.collection(COLLECTIONS.counters).findOne({ _id: 'schema' as never })).toMatchObject({ value: 1 });
    });

    for (const c of CASES) {
      it(`${c.name}: a failed write that the process survives never looks like "not done" once committed (issue 19.1)`, async () => {
        const dry = await fresh();
        const dryFaults = new WriteFaults();
        const dryStore = await dry.open({ wrapDb: (db) => withWriteFaults(db, dryFaults) });
        const dryCtx = await c.seed(dryStore);
        dryFaults.arm(null);
        await c.run(dryStore, dryCtx, draft('OP'));
        const writes = dryFaults.writeCount;
        for (let n = 1; n <= writes; n++) {
          const t = await fresh();
          const faults = new WriteFaults();
          const live = await t.open({ wrapDb: (db) => withWriteFaults(db, faults) });
          const ctx = await c.seed(live);
          const audit = draft('OP');
          faults.arm(n, null, 'fail');
          const outcome = await c.run(live, ctx, audit).then(() => 'returned' as const, (e: unknown) => e);
          // Before the commit point the failure surfaces as itself (never a ConflictError a caller would retry
          // on); after it, the operation returns its committed result and recovery finishes the rest.
          if (outcome !== 'returned') expect(outcome, `write ${n}`).toBeInstanceOf(InjectedFailure);
          const recovered = await t.open({ intentLeaseMs: 0 });
          expect(await pendingCount(t), `markers left after a failure of write ${n}`).toBe(0);
          const completed = (await auditIds(recovered)).includes(audit.id);
          expect(completed, `write ${n} failed: ${outcome === 'returned' ? 'returned' : 'threw'}, complete after recovery: ${completed}`).toBe(outcome === 'returned');
          await (completed ? c.done(recovered, ctx, audit) : c.notDone(recovered, ctx));
          await expectChainValid(recovered);
        }
      }, SLOW);
    }

    describe('a reservation whose reply is lost is released at once, not held for the lease (issue 19.5)', () => {
      /** The number of the first write to `collection` when `op` runs on a fresh store. */
      async function firstWriteTo(collection: string, seed: (s: Store) => Promise<ModelVersion>, op: (s: Store, v: ModelVersion) => Promise<unknown>): Promise<number> {
        const faults = new WriteFaults();
        const s = await (await fresh()).open({ wrapDb: (db) => withWriteFaults(db, faults) });
        const x = await seed(s);
        faults.arm(null);
        await op(s, x);
        return faults.calls.find((c) => c.write && c.collection === collection)!.writeNo!;
      }
      const seedReady = async (s: Store) => toReady(s, await registerIn(s, 'lost'));
      const archive = (s: Store, x: ModelVersion) =>
        s.transitionVersion(x.id, { from: ['READY'], to: 'ARCHIVED', failureReason: null, requireUndeployed: true }, draft('MODEL_VERSION_ARCHIVED'));

      it('pointer reservation (M1)', async () => {
        const at = await firstWriteTo(COLLECTIONS.pointers, seedReady, (s, x) => deploy(s, x));
        const t = await fresh();
        const faults = new WriteFaults();
        const s = await t.open({ wrapDb: (db) => withWriteFaults(db, faults) });
        const x = await seedReady(s);
        faults.arm(at, null, 'lose-reply');
        await expect(deploy(s, x)).rejects.toBeInstanceOf(InjectedFailure);
        const other = await t.open(); // default lease (30 s): a reservation left behind would make this a conflict
        expect(await deploy(other, x)).toMatchObject({ kind: 'moved', pointer: { revision: 1 } });
      });

      it('version reservation of an archive (T1)', async () => {
        const at = await firstWriteTo(COLLECTIONS.versions, seedReady, archive);
        const t = await fresh();
        const faults = new WriteFaults();
        const s = await t.open({ wrapDb: (db) => withWriteFaults(db, faults) });
        const x = await seedReady(s);
        faults.arm(at, null, 'lose-reply');
        await expect(archive(s, x)).rejects.toBeInstanceOf(InjectedFailure);
        const other = await t.open();
        expect(await archive(other, x)).toMatchObject({ kind: 'ok', version: { status: 'ARCHIVED' } });
      });
    });

    it('a marker that cannot be finished is reported and skipped: start-up, reads and other writes go on (19.6, 19.10)', async () => {
      const t = await fresh();
      const s = await t.open();
      const v1 = await toReady(s, await registerIn(s, 'stuck'));
      const v2 = await toReady(s, await registerIn(s, 'stuck'));
      await deploy(s, v1);
      // By hand: a committed move of stuck/staging to revision 1 whose revision another SUCCEEDED deployment
      // already holds (a broken invariant), and a marker of an operation this version does not know.
      const d = { ...newDeployment(v2, 'staging', null), status: 'SUCCEEDED' as const, revision: 1 };
      const { _id: _ignored, ...squatter } = deploymentToDoc({ ...d, id: 'squatter' }, 900);
      await t.db.collection(COLLECTIONS.deployments).insertOne({ _id: 'squatter' as never, ...squatter });
      const move = draft('MODEL_VERSION_PROMOTED', { modelName: 'stuck', versionId: v2.id }, { environment: 'staging' });
      await t.db.collection(COLLECTIONS.pointers).insertOne({
        _id: 'stuck:staging' as never, modelName: 'stuck', environment: 'staging', versionId: v2.id, deploymentId: d.id, revision: 1, audit: null,
        pending: { id: move.id, op: 'move', phase: 'committed', audit: draftToDoc(move), versionId: v2.id, deployment: deploymentToDoc(d, 901) },
        pendingAt: new Date(0),
      });
      await t.db.collection(COLLECTIONS.models).updateOne({ _id: 'stuck' as never }, {
        $set: { pending: { id: 'from-the-future', op: 'rename', phase: 'committed', audit: draftToDoc(draft('MODEL_RENAMED')) }, pendingAt: new Date(0) },
      });
      const problems: StoreProblem[] = [];
      const other = await t.open({ onProblem: (p) => problems.push(p) });
      expect(problems.map((p) => [p.kind, p.collection, p.op]).sort()).toEqual([
        ['unfinishable', COLLECTIONS.pointers, 'move'], ['unfinishable', COLLECTIONS.models, 'rename'],
      ].sort());
      expect(String(problems.find((p) => p.op === 'move')!.error)).toMatch(/taken by another deployment/);
      expect(await other.getModel('stuck')).toMatchObject({ versionCount: 2 });
      expect(await other.getPointer('stuck', 'production')).toMatchObject({ versionId: v1.id, revision: 1 });
      expect(await other.getPointer('stuck', 'staging')).toMatchObject({ versionId: v2.id, audit: null });
      expect((await other.listAuditEvents({ modelName: null, actor: null, action: null, since: null, until: null }, { first: 5, after: null })).totalCount).toBe(5);
      expect(await deploy(other, v2, 'canary')).toMatchObject({ kind: 'moved' });
      expect(await other.unfinishedWrites()).toBe(2);
      expect((await other.stats()).unfinishedWrites).toBe(2);
    });

    it('reads leave a young committed write to its owner (no second appender); pointer reads wait for it (19.2)', async () => {
      const t = await fresh();
      const reader = await t.open({ settleGraceMs: 60_000 }); // opened first: start-up recovery finishes everything
      const faults = new WriteFaults();
      const owner = await t.open({ wrapDb: (db) => withWriteFaults(db, faults) });
      const v1 = await toReady(owner, await registerIn(owner, 'grace'));
      const { reached: atAudit, release } = pauseAt(faults, (call) => call.collection === COLLECTIONS.audit && call.write);
      const audit = draft('MODEL_VERSION_PROMOTED', { modelName: 'grace', versionId: v1.id }, { environment: 'production' });
      const moved = owner.moveDeploymentPointer(newDeployment(v1, 'production', null), null, audit);
      await atAudit;
      const events = (await reader.stats()).auditEvents;
      await reader.listAuditEvents({ modelName: null, actor: null, action: null, since: null, until: null }, { first: 5, after: null });
      await reader.getModel('grace');
      await reader.listModels({ search: null }, { first: 5, after: null });
      expect((await reader.stats()).auditEvents).toBe(events); // the reader appended nothing
      expect(await t.db.collection(COLLECTIONS.pointers).findOne({ _id: 'grace:production' as never })).toMatchObject({ pending: { id: audit.id } });
      let pointerSeen = false;
      const pointerRead = reader.getPointer('grace', 'production').then((p) => { pointerSeen = true; return p; });
      await new Promise((r) => setTimeout(r, 200));
      expect(pointerSeen).toBe(false); // waiting for the owner, not finishing its write
      release();
      const result = await moved;
      expect(result).toMatchObject({ kind: 'moved' });
      const pointer = await pointerRead;
      expect(pointer).toMatchObject({ versionId: v1.id, revision: 1 });
      await expectAnchoredTo(reader, pointer!.audit, audit);
      expect(await pendingCount(t)).toBe(0);
    });

    it('never updates or deletes an audit event (only inserts reach audit_events)', async () => {
      const t = await fresh();
      const faults = new WriteFaults();
      const s = await t.open({ wrapDb: (db) => withWriteFaults(db, faults) });
      faults.arm(null);
      const v1 = await toReady(s, await registerIn(s, 'only'));
      await deploy(s, v1);
      await s.appendAudit(draft('X'));
      const auditWrites = faults.calls.filter((c) => c.collection === COLLECTIONS.audit && c.write);
      expect(auditWrites.length).toBeGreaterThanOrEqual(4);
      expect(new Set(auditWrites.map((c) => c.method))).toEqual(new Set(['insertOne']));
    });

    it('re-appending the same draft is idempotent; another event under the same id is refused', async () => {
      const s = await (await fresh()).open();
      const d = draft('ONCE', {}, { k: 1 });
      const first = await s.appendAudit(d);
      expect(await s.appendAudit({ ...d })).toEqual(first);
      await expect(s.appendAudit({ ...d, details: { k: 2 } })).rejects.toThrow(/already exists/);
      expect((await s.stats()).auditEvents).toBe(1);
    });

    describe('a live operation is not aborted under its feet', () => {
      /** Runs a promotion that pauses just before its commit write (M3); returns controls. */
      async function pausedPromotion(t: MongoTarget) {
        const faults = new WriteFaults();
        const a = await t.open({ wrapDb: (db) => withWriteFaults(db, faults) });
        const v1 = await toReady(a, await registerIn(a, 'live'));
        const { reached: atCommit, release } = pauseAt(
          faults,
          (call) => call.collection === COLLECTIONS.pointers && call.method === 'findOneAndUpdate' && call.writeNo !== null
            && faults.calls.filter((x) => x.collection === COLLECTIONS.pointers && x.write).length === 2,
        );
        const d = newDeployment(v1, 'production', null);
        const result = a.moveDeploymentPointer(d, null, draft('MODEL_VERSION_PROMOTED'));
        await atCommit;
        return { a, v1, d, result, release };
      }

      it('recovery within the lease leaves a reserved pointer alone; the owner then commits', async () => {
        const t = await fresh();
        const { v1, d, result, release } = await pausedPromotion(t);
        const other = await t.open(); // default lease: 30 s
        expect(await other.getPointer('live', 'production')).toBeNull();
        expect(await deploy(other, v1)).toMatchObject({ kind: 'conflict', current: null });
        release();
        expect(await result).toMatchObject({ kind: 'moved', deployment: { id: d.id } });
        expect(await other.getPointer('live', 'production')).toMatchObject({ deploymentId: d.id, revision: 1 });
        expect(await pendingCount(t)).toBe(0);
      });

      it('recovery past the lease aborts the reservation; the owner commit then matches nothing and reports a conflict', async () => {
        const t = await fresh();
        const { d, result, release } = await pausedPromotion(t);
        await t.open({ intentLeaseMs: 0 });
        release();
        expect(await result).toMatchObject({ kind: 'conflict', current: null });
        const check = await t.open();
        expect(await check.getPointer('live', 'production')).toBeNull();
        expect(await check.getDeployments([d.id])).toEqual([]);
        await expectChainValid(check);
        expect(await pendingCount(t)).toBe(0);
      });
    });

    describe('archive and promotion of the same version, interleaved', () => {
      it('an archive that reserved first and a promotion: never an ARCHIVED version behind a pointer', async () => {
        const t = await fresh();
        const archFaults = new WriteFaults();
        const arch = await t.open({ wrapDb: (db) => withWriteFaults(db, archFaults) });
        const promFaults = new WriteFaults();
        const prom = await t.open({ wrapDb: (db) => withWriteFaults(db, promFaults) });
        const v1 = await toReady(arch, await registerIn(arch, 'dekker'));
        // The archive stops right after its reservation, before it reads the pointers.
        let releaseArchive!: () => void;
        let archiveReserved!: () => void;
        const reservedP = new Promise<void>((r) => { archiveReserved = r; });
        const gate = new Promise<void>((r) => { releaseArchive = r; });
        archFaults.arm(null, async (call) => {
          if (call.collection === COLLECTIONS.pointers && !call.write) {
            archiveReserved();
            await gate;
          }
        });
        const archived = arch.transitionVersion(v1.id, { from: ['READY'], to: 'ARCHIVED', failureReason: null, requireUndeployed: true }, draft('MODEL_VERSION_ARCHIVED'));
        await reservedP;
        // The promotion reserves the pointer, then finds the archive's reservation and waits for it to resolve.
        let promotionReserved!: () => void;
        const promReservedP = new Promise<void>((r) => { promotionReserved = r; });
        promFaults.arm(null, (call) => {
          if (call.collection === COLLECTIONS.versions && !call.write) promotionReserved();
        });
        const promoted = deploy(prom, v1);
        await promReservedP;
        releaseArchive();
        const [a, p] = await Promise.all([archived, promoted]);
        const finalVersion = await prom.getVersion(v1.id);
        const pointer = await prom.getPointer('dekker', 'production');
        // Whatever the order, the pointer never names an ARCHIVED version.
        if (pointer) expect(finalVersion?.status).toBe('READY');
        expect(a.kind === 'ok' && p.kind === 'moved').toBe(false);
        expect([a.kind, p.kind]).toEqual(['deployed', 'moved']);
        await expectChainValid(prom);
      });
    });

    describe('archive and promotion of the same version, the promotion first', () => {
      it('a promotion past its readiness check and an archive reading pointers around its commit: never both', async () => {
        const t = await fresh();
        const promFaults = new WriteFaults();
        const prom = await t.open({ wrapDb: (db) => withWriteFaults(db, promFaults) });
        const archFaults = new WriteFaults();
        const arch = await t.open({ wrapDb: (db) => withWriteFaults(db, archFaults) });
        const v1 = await toReady(prom, await registerIn(prom, 'peterson'));
        // The promotion reserves the pointer (M1), reads the version READY (M2), then stops before its commit (M3).
        let atCommit!: () => void;
        const atCommitP = new Promise<void>((r) => { atCommit = r; });
        let letCommit!: () => void;
        const commitGate = new Promise<void>((r) => { letCommit = r; });
        let sawVersion = false;
        promFaults.arm(null, async (call) => {
          if (call.collection === COLLECTIONS.versions && !call.write) sawVersion = true;
          if (sawVersion && call.collection === COLLECTIONS.pointers && call.write) {
            sawVersion = false;
            atCommit();
            await commitGate;
          }
        });
        const promoted = deploy(prom, v1);
        await atCommitP;
        // The archive reserves the version, then reads pointers twice; before the second read the
        // promotion commits and clears its marker.
        let pointerReads = 0;
        archFaults.arm(null, async (call) => {
          if (call.collection === COLLECTIONS.pointers && !call.write && ++pointerReads === 2) {
            letCommit();
            await promoted;
          }
        });
        const archived = await arch.transitionVersion(v1.id, { from: ['READY'], to: 'ARCHIVED', failureReason: null, requireUndeployed: true }, draft('MODEL_VERSION_ARCHIVED'));
        letCommit();
        const moved = await promoted;
        expect([archived.kind, moved.kind]).toEqual(['deployed', 'moved']);
        expect((await prom.getVersion(v1.id))?.status).toBe('READY');
        expect((await prom.getPointer('peterson', 'production'))?.versionId).toBe(v1.id);
        await expectChainValid(prom);
      });
    });

    describe('several processes on one database', () => {
      it('keeps version numbers gap-free, one winner per revision and one chain', async () => {
        const t = await fresh();
        const stores = await Promise.all([t.open(), t.open(), t.open()]);
        const versions = await Promise.all(Array.from({ length: 24 }, (_, i) => registerIn(stores[i % 3]!, 'multi')));
        expect(versions.map((x) => x.number).sort((x, y) => x - y)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
        const readies = await Promise.all(versions.slice(0, 6).map((x, i) => toReady(stores[i % 3]!, x)));
        const results = await Promise.all(readies.map((x, i) => stores[i % 3]!.moveDeploymentPointer(newDeployment(x, 'production', null), null, draft('P'))));
        expect(results.filter((r) => r.kind === 'moved')).toHaveLength(1);
        expect((await stores[0]!.stats()).deployments).toBe(1);
        expect((await stores[1]!.getModel('multi'))?.versionCount).toBe(24);
        await expectChainValid(stores[2]!);
      }, SLOW);
    });
  });
}
