import { lineageOf } from '../../domain/lineage.js';
import type { ClientSession } from 'mongodb';
import { ConflictError } from '../../domain/errors.js';
import type { AuditDraft, Model, ModelVersion, NewModelVersion, VersionStatus } from '../../domain/model.js';
import type { ModelPatch, TransitionResult } from '../registry.store.js';
import {
  COLLECTIONS, type ModelDoc, type PendingMarker, type PointerDoc, type VersionDoc, docToModel, docToVersion, draftToDoc, versionToDoc,
} from './mongo-documents.js';
import { maxNumberQuery, pendingQuery, pointersForVersionsQuery } from './mongo-queries.js';
import { markedUpdate, modelPatchSet, releaseIntent, transitionCommit, transitionDirect, transitionIntent } from './mongo-updates.js';
import { type MongoSteps, WRITE_ATTEMPTS, backoff, duplicateKeyPattern, isDuplicateKey } from './mongo-steps.js';
import type { IdempotencyClaim } from '../../domain/idempotency.js';
import type { MongoIdempotencyKeys } from './mongo-idempotency.js';

/** The version and model writes of MongoRegistryStore (steps and crash points: see the top of mongo-registry.store.ts). */
export class MongoVersionWrites {
  constructor(
    private readonly steps: MongoSteps,
    private readonly session: <T>(fn: (s: ClientSession) => Promise<T>) => Promise<T>,
    private readonly keys: MongoIdempotencyKeys,
  ) {}

  /** With a key: K1 claim, then the registration (its commit point carries the key), K2 settle in its plan (mongo-idempotency.ts). */
  async registerVersion(version: NewModelVersion, audit: (stored: ModelVersion) => AuditDraft, idempotency: IdempotencyClaim | null = null): Promise<ModelVersion> {
    return this.session(async (session) => {
      if (!idempotency) return this.registerOnce(version, audit, null, session);
      const keyId = await this.keys.claim(idempotency, { resultKind: 'version', pointerId: null }, true, session);
      try {
        return await this.registerOnce(version, audit, { keyId, resultId: version.id }, session);
      } catch (err) {
        // A refusal (id taken, too busy) wrote nothing: give the key back. Any other error may have
        // come after the insert applied: the claim stays for recovery, which looks for the version.
        if (err instanceof ConflictError) await this.keys.release(keyId, version.id, session).catch(() => {});
        throw err;
      }
    });
  }

  private async registerOnce(
    version: NewModelVersion, audit: (stored: ModelVersion) => AuditDraft, idempotency: PendingMarker['idempotency'] | null, session: ClientSession,
  ): Promise<ModelVersion> {
    for (let attempt = 1; ; attempt++) {
      const [top] = await this.steps.find<{ number: number }>(maxNumberQuery(version.modelName), session);
      const stored: ModelVersion = { ...version, ...lineageOf(version), number: (top?.number ?? 0) + 1, legalHold: null, purgedAt: null };
      const draft = audit(stored);
      const marker: PendingMarker = { id: draft.id, op: 'register', phase: 'committed', audit: draftToDoc(draft), ...(idempotency && { idempotency }) };
      const doc = versionToDoc(stored, marker, new Date());
      try {
        await this.steps.insert(COLLECTIONS.versions, doc, session);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        // Which unique index refused it, from the error (a follow-up read at majority could miss a
        // concurrent insert of the same id that is not majority-committed yet); the read only for
        // a server that does not say.
        const keyPattern = duplicateKeyPattern(err);
        const idTaken = keyPattern !== null
          ? Object.keys(keyPattern).join() === '_id'
          : (await this.steps.findById(COLLECTIONS.versions, version.id, session, { _id: 1 })) !== null;
        if (idTaken) throw new ConflictError(`Model version ${version.id} already exists`);
        // Another process took this number first: read the new maximum and try the next one.
        if (attempt >= WRITE_ATTEMPTS) throw new ConflictError(`Too many concurrent registrations for "${version.modelName}"; try again`);
        await backoff(attempt);
        continue;
      }
      await this.steps.finish(COLLECTIONS.versions, doc, { auditAppended: false }, session); // R3..R6
      return stored;
    }
  }

  async updateModel(name: string, patch: ModelPatch, audit: AuditDraft): Promise<Model | null> {
    const marker: PendingMarker = { id: audit.id, op: 'update', phase: 'committed', audit: draftToDoc(audit) };
    const written = await this.steps.markedWrite<ModelDoc>(
      COLLECTIONS.models,
      name,
      () => this.steps.findAndUpdate<ModelDoc>(markedUpdate(COLLECTIONS.models, name, modelPatchSet(patch), marker)),
      `Model "${name}"`,
      async () => {
        // A registration may have stopped before creating the model document: finish it, then look again.
        const pending = await this.steps.find<VersionDoc>(pendingQuery(COLLECTIONS.versions));
        if (!pending.some((d) => d.modelName === name)) return false;
        await this.steps.settle(COLLECTIONS.versions, { modelName: name }, undefined, 'all');
        return true;
      },
    );
    return written ? docToModel(written.doc) : null;
  }

  async transitionVersion(
    id: string,
    change: { from: readonly VersionStatus[]; to: VersionStatus; failureReason: string | null; requireUndeployed: boolean; requireNoHold?: boolean },
    audit: AuditDraft,
  ): Promise<TransitionResult> {
    const noHold = change.requireNoHold ?? false;
    const marker = (phase: PendingMarker['phase']): PendingMarker => ({ id: audit.id, op: 'transition', phase, audit: draftToDoc(audit) });
    return this.session(async (session) => {
      for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
        const doc = await this.steps.findById<VersionDoc>(COLLECTIONS.versions, id, session);
        if (!doc) return { kind: 'not-found' };
        if (doc.pending) {
          await this.steps.unblock(COLLECTIONS.versions, doc, attempt, session);
          continue;
        }
        if (!change.from.includes(doc.status)) return { kind: 'wrong-status', version: docToVersion(doc) };
        // The hold is checked again by the write's filter: a hold set after this read makes it match nothing (and retry).
        if (noHold && doc.legalHold) return { kind: 'on-hold', version: docToVersion(doc) };
        let committed: VersionDoc | null;
        if (!change.requireUndeployed) {
          committed = await this.steps.findAndUpdate<VersionDoc>(transitionDirect(id, doc, change, marker('committed'), noHold), session);
        } else {
          const release = () => this.steps.update(releaseIntent(COLLECTIONS.versions, id, audit.id), session);
          try {
            // T1 inside the try: if its reply is lost after it applied, the reservation is released at once, not after the lease.
            if (!(await this.steps.findAndUpdate<VersionDoc>(transitionIntent(id, doc, marker('intent'), noHold), session))) continue;
            const environments = await this.environmentsNaming(id, session);
            if (environments.length > 0) {
              await release();
              return { kind: 'deployed', version: docToVersion(doc), environments };
            }
            committed = await this.steps.findAndUpdate<VersionDoc>(transitionCommit(id, audit.id, change), session);
          } catch (err) {
            // An error (not a crash) before the decision: give the version back at once rather than
            // leave it reserved for the lease. releaseIntent matches only an undecided reservation.
            await release().catch(() => {});
            throw err;
          }
        }
        if (!committed) continue;
        await this.steps.finish(COLLECTIONS.versions, committed, { auditAppended: false }, session); // T2..T4
        return { kind: 'ok', version: docToVersion(committed) };
      }
      throw new ConflictError(`Version ${id} is being changed by another request; try again`);
    });
  }

  /**
   * Environments whose pointer names the version, or where a move to it is reserved (stale
   * reservations are aborted first). Reserved moves are read FIRST: a move whose marker is gone by
   * then committed before this read, so the later read of committed pointers (same causally
   * consistent session) sees it. Read the other way round, a move could commit and clear its
   * marker between the two reads and be missed by both.
   */
  private async environmentsNaming(versionId: string, session: ClientSession): Promise<string[]> {
    const envs = new Set<string>();
    for (const p of await this.steps.find<PointerDoc>(pendingQuery(COLLECTIONS.pointers), session)) {
      if (p.pending?.versionId !== versionId) continue;
      if (p.pending.phase === 'intent' && (await this.steps.complete(COLLECTIONS.pointers, p, {}, session))) continue;
      envs.add(p.environment);
    }
    for (const p of await this.steps.find<PointerDoc>(pointersForVersionsQuery([versionId]), session)) envs.add(p.environment);
    return [...envs].sort();
  }

  async updateVersionMetadata(id: string, patch: { description?: string | null; tags?: string[] }, audit: AuditDraft): Promise<ModelVersion | null> {
    const marker: PendingMarker = { id: audit.id, op: 'update', phase: 'committed', audit: draftToDoc(audit) };
    const set: Record<string, unknown> = {};
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.tags !== undefined) set.tags = patch.tags;
    const written = await this.steps.markedWrite<VersionDoc>(
      COLLECTIONS.versions,
      id,
      () => this.steps.findAndUpdate<VersionDoc>(markedUpdate(COLLECTIONS.versions, id, set, marker)),
      `Version ${id}`,
    );
    return written ? docToVersion(written.doc) : null;
  }
}
