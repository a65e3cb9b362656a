import type { ClientSession } from 'mongodb';
import { ConflictError } from '../../domain/errors.js';
import type { AuditDraft, Deployment, DeploymentPointer, VersionStatus } from '../../domain/model.js';
import type { MoveResult } from '../registry.store.js';
import {
  COLLECTIONS, type DeploymentDoc, type PendingMarker, type PointerDoc, type VersionDoc, deploymentToDoc, docToPointer, draftToDoc, keyDocId, pointerKey,
} from './mongo-documents.js';
import { type FindSpec, byIdsQuery } from './mongo-queries.js';
import { commitPointer, releaseIntent, reservePointer } from './mongo-updates.js';
import { type MongoSteps, WRITE_ATTEMPTS, isDuplicateKey } from './mongo-steps.js';
import type { IdempotencyClaim } from '../../domain/idempotency.js';
import type { MongoIdempotencyKeys } from './mongo-idempotency.js';

/** The deployment writes of MongoRegistryStore (steps and crash points: see the top of mongo-registry.store.ts). */
export class MongoDeploymentWrites {
  constructor(
    private readonly steps: MongoSteps,
    private readonly session: <T>(fn: (s: ClientSession) => Promise<T>) => Promise<T>,
    private readonly keys: MongoIdempotencyKeys,
    /** Read concern of the public pointer reads (null: the database's). */
    private readonly pointerReadConcern: 'linearizable' | null = null,
  ) {}

  /** getPointer(s), pointersForVersions: with the configured pointer read concern, then settled. */
  async readPointers(spec: FindSpec): Promise<DeploymentPointer[]> {
    const docs = await this.steps.find<PointerDoc>(this.pointerReadConcern ? { ...spec, readConcern: this.pointerReadConcern } : spec);
    return this.settledPointers(docs);
  }

  /**
   * The pointers as committed, each with its move finished: a committed move younger than the
   * grace period is waited for (its owner is finishing it), an older one finished here, so no
   * reader sees a pointer without its deployment and event.
   */
  async settledPointers(docs: Iterable<PointerDoc>, session?: ClientSession): Promise<DeploymentPointer[]> {
    const out: DeploymentPointer[] = [];
    for (const d of docs) {
      const settled = await this.steps.settled(COLLECTIONS.pointers, d, session, 'wait');
      const p = settled && docToPointer(settled);
      if (p) out.push(p);
    }
    return out;
  }

  /**
   * With a key, K1 (the claim) comes after M2 and before the commit M3, and the pointer marker
   * names the key so that the move's plan settles it (mongo-idempotency.ts has why that order).
   */
  async moveDeploymentPointer(deployment: Deployment, expectedRevision: number | null, audit: AuditDraft, idempotency: IdempotencyClaim | null = null): Promise<MoveResult> {
    const key = pointerKey(deployment.modelName, deployment.environment);
    return this.session(async (session): Promise<MoveResult> => {
      const conflict = async (): Promise<MoveResult> => ({
        kind: 'conflict', current: (await this.settledPointers(await this.steps.find<PointerDoc>(byIdsQuery(COLLECTIONS.pointers, [key]), session), session))[0] ?? null,
      });
      if (expectedRevision !== null && expectedRevision < 1) return conflict();
      const revision = (expectedRevision ?? 0) + 1;
      const stored: Deployment = { ...deployment, status: 'SUCCEEDED', revision };
      const seq = await this.steps.nextDeploymentSeq(session); // M0
      const keyed = idempotency && { keyId: keyDocId(idempotency.modelName, idempotency.key), resultId: deployment.id };
      const marker: PendingMarker = {
        id: audit.id, op: 'move', phase: 'intent', audit: draftToDoc(audit), versionId: deployment.versionId, deployment: deploymentToDoc(stored, seq),
        ...(keyed && { idempotency: keyed }),
      };
      const release = () => this.steps.update(releaseIntent(COLLECTIONS.pointers, key, marker.id), session);
      let claimed = false;
      let committed: PointerDoc | null;
      try {
        if (!(await this.reservePointer(key, deployment, expectedRevision, marker, session))) return conflict(); // M1
        const status = await this.readyForDeployment(deployment, session); // M2
        if (status !== 'READY') {
          await release();
          return status === 'busy' ? conflict() : { kind: 'version-not-ready', status };
        }
        if (idempotency) {
          await this.keys.claim(idempotency, { resultKind: 'deployment', pointerId: key }, true, session); // K1
          claimed = true;
        }
        committed = await this.steps.findAndUpdate<PointerDoc>(
          commitPointer(key, marker.id, { versionId: deployment.versionId, deploymentId: deployment.id, revision }), session,
        ); // M3
      } catch (err) {
        // An error (not a crash) before the decision, including one on the reservation itself (whose
        // reply may be lost after it applied): free the pointer at once rather than leave it reserved
        // for the lease. releaseIntent matches only our own undecided reservation, so it is harmless
        // if the reservation never applied or M3 did.
        await release().catch(() => {});
        // Our claim goes back unless M3 may have applied (then the move's plan, or recovery, settles it).
        if (keyed && claimed && !(await this.mayHaveMoved(key, marker.id, deployment.id, session))) {
          await this.keys.release(keyed.keyId, keyed.resultId, session).catch(() => {});
        }
        throw err;
      }
      if (!committed) {
        // Our reservation was aborted: M3 can no longer apply, so the claim is given back.
        if (keyed) await this.keys.release(keyed.keyId, keyed.resultId, session);
        return conflict();
      }
      const event = await this.steps.finish(COLLECTIONS.pointers, committed, { auditAppended: false, deploymentStored: false }, session); // M4..M6
      const pointer: DeploymentPointer = { ...docToPointer(committed)!, audit: event && { sequence: event.sequence, hash: event.hash } };
      return { kind: 'moved', deployment: stored, pointer };
    });
  }

  /** False only when our move certainly did not commit and cannot any more (our reservation is gone, the pointer names another deployment). */
  private async mayHaveMoved(key: string, markerId: string, deploymentId: string, session: ClientSession): Promise<boolean> {
    const p = await this.steps.findById<PointerDoc>(COLLECTIONS.pointers, key, session).catch(() => undefined);
    if (p === undefined) return true;
    if (p?.pending?.id === markerId) return true;
    return p?.deploymentId === deploymentId;
  }

  private async reservePointer(
    key: string, target: Deployment, expectedRevision: number | null, marker: PendingMarker, session: ClientSession,
  ): Promise<boolean> {
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        if (await this.steps.findAndUpdate(reservePointer(key, target, expectedRevision, marker), session)) return true;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err; // upsert lost to an existing document: look at it below
      }
      const current = await this.steps.findById<PointerDoc>(COLLECTIONS.pointers, key, session);
      if (!current?.pending) {
        if ((current?.revision ?? 0) !== (expectedRevision ?? 0)) return false;
        continue;
      }
      // Another move is pending: finish a committed one (the revision then decides); an intent is a live competitor unless stale.
      const resolved = await this.steps.complete(COLLECTIONS.pointers, current, {}, session);
      if (!resolved) return false;
    }
    return false;
  }

  /** The version's status for deployment; 'busy' while a status change of it stays undecided. */
  private async readyForDeployment(d: Deployment, session: ClientSession): Promise<VersionStatus | null | 'busy'> {
    // An undeploy puts no version in place: nothing to check (an archive racing it sees the pointer still naming its version, and refuses).
    if (d.versionId === null) return 'READY';
    for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
      const v = await this.steps.findById<VersionDoc>(COLLECTIONS.versions, d.versionId, session);
      if (!v || v.modelName !== d.modelName) return null;
      if (v.status !== 'READY') return v.status;
      if (v.pending?.op !== 'transition') return 'READY';
      await this.steps.unblock(COLLECTIONS.versions, v, attempt, session);
    }
    return 'busy';
  }

  async recordRefusedDeployment(deployment: Deployment, audit: AuditDraft, idempotency: IdempotencyClaim | null = null): Promise<Deployment> {
    const stored: Deployment = { ...deployment, status: 'FAILED', revision: null };
    const keyId = idempotency && (await this.keys.claim(idempotency, { resultKind: 'deployment', pointerId: null }, true)); // K1
    const marker: PendingMarker = {
      id: audit.id, op: 'refused', phase: 'committed', audit: draftToDoc(audit), ...(keyId && { idempotency: { keyId, resultId: deployment.id } }),
    };
    try {
      const doc: DeploymentDoc = { ...deploymentToDoc(stored, await this.steps.nextDeploymentSeq()), pending: marker, pendingAt: new Date() };
      try {
        await this.steps.insert(COLLECTIONS.deployments, doc);
      } catch (err) {
        if (isDuplicateKey(err)) throw new ConflictError(`Deployment ${deployment.id} already exists`);
        throw err;
      }
      await this.steps.finish(COLLECTIONS.deployments, doc, { auditAppended: false });
    } catch (err) {
      // Refused by a duplicate id: nothing written, the key goes back. Otherwise recovery decides.
      if (keyId && err instanceof ConflictError) await this.keys.release(keyId, deployment.id).catch(() => {});
      throw err;
    }
    return stored;
  }
}
