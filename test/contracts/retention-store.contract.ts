import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/hash-chain.js';
import type { AuditEvent, LegalHold, ModelVersion } from '../../src/domain/model.js';
import type { RegistryStore } from '../../src/stores/registry.store.js';
import { draft, newVersion, tick } from '../support/fixtures.js';

type OpenStore = () => Promise<{ store: RegistryStore; close: () => Promise<void> }>;

/** Legal hold and purge records (setLegalHold, transitionVersion requireNoHold, markVersionPurged), run from describeRegistryStore. */
export function describeRetentionStore(name: string, open: OpenStore): void {
  describe(`RegistryStore contract (retention and legal hold): ${name}`, () => {
    let store: RegistryStore;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ store, close } = await open());
    });
    afterEach(async () => {
      await close();
    });

    async function version(status: 'READY' | 'ARCHIVED' = 'READY'): Promise<ModelVersion> {
      const v = await store.registerVersion(newVersion('held'), (s) => draft('MODEL_VERSION_REGISTERED', { modelName: s.modelName, versionId: s.id }));
      const r = await store.transitionVersion(v.id, { from: ['PENDING_UPLOAD'], to: 'READY', failureReason: null, requireUndeployed: false }, draft('MODEL_VERSION_READY'));
      if (r.kind !== 'ok') throw new Error(r.kind);
      return status === 'READY' ? r.version : archive(r.version.id).then((a) => {
        if (a.kind !== 'ok') throw new Error(a.kind);
        return a.version;
      });
    }
    const archive = (id: string) =>
      store.transitionVersion(id, { from: ['READY'], to: 'ARCHIVED', failureReason: null, requireUndeployed: true, requireNoHold: true }, draft('MODEL_VERSION_ARCHIVED', { versionId: id }));
    const hold = (): LegalHold => ({ reason: 'case 42', setBy: 'admin', setAt: tick() });
    async function events(): Promise<AuditEvent[]> {
      const all: AuditEvent[] = [];
      for await (const e of store.auditEventsAscending()) all.push(e);
      return all;
    }

    it('sets and releases a hold with its audit event in the same write; a missing version writes nothing', async () => {
      const v = await version();
      expect(v).toMatchObject({ legalHold: null, purgedAt: null });
      const h = hold();
      const held = await store.setLegalHold(v.id, h, draft('LEGAL_HOLD_SET', { modelName: v.modelName, versionId: v.id }, { reason: h.reason }));
      expect(held?.legalHold).toEqual(h);
      expect((await store.getVersion(v.id))?.legalHold).toEqual(h);
      expect((await events()).at(-1)).toMatchObject({ action: 'LEGAL_HOLD_SET', versionId: v.id, details: { reason: 'case 42' } });
      const released = await store.setLegalHold(v.id, null, draft('LEGAL_HOLD_RELEASED', { versionId: v.id }));
      expect(released?.legalHold).toBeNull();
      expect((await store.getVersion(v.id))?.legalHold).toBeNull();
      const before = (await events()).length;
      expect(await store.setLegalHold('v20260101000000_deadbeef', hold(), draft('LEGAL_HOLD_SET'))).toBeNull();
      expect((await events()).length).toBe(before);
      expect((await verifyChain(store.auditEventsAscending())).valid).toBe(true);
    });

    it('refuses to archive a held version (on-hold, nothing written) and archives it once released', async () => {
      const v = await version();
      await store.setLegalHold(v.id, hold(), draft('LEGAL_HOLD_SET', { versionId: v.id }));
      const before = (await events()).length;
      const refused = await archive(v.id);
      expect(refused).toMatchObject({ kind: 'on-hold', version: { id: v.id, status: 'READY' } });
      expect((await store.getVersion(v.id))?.status).toBe('READY');
      expect((await events()).length).toBe(before);
      await store.setLegalHold(v.id, null, draft('LEGAL_HOLD_RELEASED', { versionId: v.id }));
      expect(await archive(v.id)).toMatchObject({ kind: 'ok', version: { status: 'ARCHIVED', legalHold: null } });
    });

    it('a hold racing an archive lands either before it (archive refused) or after it, never lost', async () => {
      for (let i = 0; i < 8; i++) {
        const v = await version();
        const [held, archived] = await Promise.all([
          store.setLegalHold(v.id, hold(), draft('LEGAL_HOLD_SET', { versionId: v.id })),
          archive(v.id),
        ]);
        expect(held?.legalHold).not.toBeNull();
        const stored = await store.getVersion(v.id);
        expect(stored?.legalHold).not.toBeNull();
        const mine = (await events()).filter((e) => e.versionId === v.id).map((e) => e.action);
        if (archived.kind === 'ok') {
          expect(stored?.status).toBe('ARCHIVED');
          expect(mine.indexOf('MODEL_VERSION_ARCHIVED')).toBeLessThan(mine.indexOf('LEGAL_HOLD_SET'));
        } else {
          expect(archived.kind).toBe('on-hold');
          expect(stored?.status).toBe('READY');
          expect(mine).not.toContain('MODEL_VERSION_ARCHIVED');
        }
      }
    });

    it('records a purge only of an ARCHIVED version not on hold, with its event; a second call finds it purged and writes nothing', async () => {
      const ready = await version();
      const before = (await events()).length;
      expect(await store.markVersionPurged('v20260101000000_deadbeef', tick(), draft('MODEL_VERSION_PURGED'))).toEqual({ kind: 'not-found' });
      expect(await store.markVersionPurged(ready.id, tick(), draft('MODEL_VERSION_PURGED'))).toMatchObject({ kind: 'wrong-status', version: { status: 'READY' } });
      const archived = await version('ARCHIVED');
      const h = hold();
      await store.setLegalHold(archived.id, h, draft('LEGAL_HOLD_SET', { versionId: archived.id }));
      expect(await store.markVersionPurged(archived.id, tick(), draft('MODEL_VERSION_PURGED'))).toMatchObject({ kind: 'on-hold', version: { legalHold: h } });
      await store.setLegalHold(archived.id, null, draft('LEGAL_HOLD_RELEASED', { versionId: archived.id }));
      const mid = (await events()).length;
      expect(mid).toBeGreaterThan(before); // the two versions' own writes, none from the refusals
      expect((await events()).filter((e) => e.action === 'MODEL_VERSION_PURGED')).toEqual([]);
      const at = tick();
      const marked = await store.markVersionPurged(archived.id, at, draft('MODEL_VERSION_PURGED', { versionId: archived.id }, { reason: 'done' }));
      expect(marked).toMatchObject({ kind: 'marked', version: { id: archived.id, status: 'ARCHIVED', purgedAt: at } });
      expect((await store.getVersion(archived.id))?.purgedAt).toEqual(at);
      expect((await events()).at(-1)).toMatchObject({ action: 'MODEL_VERSION_PURGED', versionId: archived.id });
      const again = await store.markVersionPurged(archived.id, tick(), draft('MODEL_VERSION_PURGED', { versionId: archived.id }));
      expect(again).toMatchObject({ kind: 'already-purged', version: { purgedAt: at } });
      expect((await events()).filter((e) => e.action === 'MODEL_VERSION_PURGED')).toHaveLength(1);
      expect((await store.getVersions([archived.id]))[0]).toMatchObject({ purgedAt: at, artifacts: archived.artifacts });
      expect((await verifyChain(store.auditEventsAscending())).valid).toBe(true);
    });
  });
}
