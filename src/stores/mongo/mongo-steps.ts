import type { ClientSession, Db } from 'mongodb';
import { sealEvent } from '../../audit/hash-chain.js';
import { ConflictError } from '../../domain/errors.js';
import type { AuditDraft, AuditEvent } from '../../domain/model.js';
import { VERIFIED_STATUSES } from '../../domain/model.js';
import {
  type AuditDoc, COLLECTIONS, type CollectionName, type CounterDoc, type DeploymentDoc, type PendingMarker, type VersionDoc,
  auditToDoc, docToAudit, docToDraft,
} from './mongo-documents.js';
import { MongoAccess, isDuplicateKey } from './mongo-access.js';
import { auditHeadQuery, pendingQuery } from './mongo-queries.js';
import {
  abortStaleIntent, anchorAudit, clearMarker, metricUpserts, modelUpsert, nextDeploymentSeq, syncMetricsUpdate,
} from './mongo-updates.js';
import { type FoundPending, type RecoveryStep, planRecovery } from './mongo-recovery.js';
import { settleKeyUpdate } from './mongo-key-specs.js';

export { isDuplicateKey } from './mongo-access.js';

/** The collections whose documents can carry a pending marker, in the order recovery settles them. */
export const PENDING_COLLECTIONS: readonly CollectionName[] = [
  COLLECTIONS.versions, COLLECTIONS.models, COLLECTIONS.pointers, COLLECTIONS.deployments, COLLECTIONS.tokens, COLLECTIONS.webhooks,
  COLLECTIONS.environmentPolicies, COLLECTIONS.promotionRequests,
];

const AUDIT_APPEND_ATTEMPTS = 200;
/** Attempts of a write that keeps meeting concurrent writers of the same document before it reports a conflict. */
export const WRITE_ATTEMPTS = 50;

/** A write the store could not finish: reported (logged by the caller of connect), never thrown at a reader. */
export interface StoreProblem {
  /** incomplete: the owner's own steps after its commit point failed (the write stands; recovery finishes it).
   *  unfinishable: settling another operation's marker failed; the marker is skipped and left for later. */
  kind: 'incomplete' | 'unfinishable';
  collection: CollectionName;
  id: string;
  markerId: string;
  op: string;
  error: unknown;
}

export interface StepsOptions {
  /** Server-side bound on every command (maxTimeMS). */
  maxTimeMS: number;
  /** Reservations (intents) older than this may be aborted by recovery. */
  intentLeaseMs: number;
  /**
   * Read paths leave a committed marker younger than this to its owner, which is normally
   * finishing it right now (they wait for it, or skip it); older ones are finished by whoever reads.
   */
  settleGraceMs: number;
  onProblem?: (problem: StoreProblem) => void;
}

/** A document that may carry a pending marker. */
export interface MarkedDoc {
  _id: string;
  pending?: PendingMarker;
  pendingAt?: Date;
}

/** How a read treats committed markers of other operations: finish them all, finish only old ones (skip young), or wait for young ones. */
export type SettleMode = 'all' | 'old' | 'wait';

/** Jittered exponential backoff, at most ~100 ms. */
export function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(100, 2 ** Math.min(attempt, 7));
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const isVerified = (status: VersionDoc['status']): boolean => VERIFIED_STATUSES.includes(status);

/**
 * The Mongo store's building blocks on top of MongoAccess: appends to the audit chain, and runs
 * recovery plans. Shared by the operations' own code paths and by recovery, so both take exactly
 * the same steps.
 */
export class MongoSteps extends MongoAccess {
  readonly intentLeaseMs: number;
  readonly settleGraceMs: number;
  private readonly reported = new Set<string>();

  constructor(db: Db, private readonly options: StepsOptions) {
    super(db, options.maxTimeMS);
    this.intentLeaseMs = options.intentLeaseMs;
    this.settleGraceMs = options.settleGraceMs;
  }

  private report(problem: StoreProblem): void {
    const key = `${problem.kind}:${problem.collection}/${problem.id}:${problem.markerId}`;
    if (this.reported.has(key)) return;
    if (this.reported.size > 10_000) this.reported.clear();
    this.reported.add(key);
    this.options.onProblem?.(problem);
  }

  async nextDeploymentSeq(session?: ClientSession): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        const doc = await this.findAndUpdate<CounterDoc>(nextDeploymentSeq(), session);
        if (doc) return doc.value;
      } catch (err) {
        // Two first-ever upserts of the counter: the loser retries as an update.
        if (!isDuplicateKey(err) || attempt >= 3) throw err;
      }
    }
  }

  /**
   * Appends at the head of the chain. The unique `sequence` index serialises writers: a writer that
   * sealed after a stale head collides and seals again after the new head. The unique `_id` (the
   * event id) makes the append idempotent: if the event is already in the chain, it is returned.
   * The head is read with LOCAL read concern: a majority read would wait for the previous append to
   * be majority-committed before the next writer could even seal. That is safe: if the head read
   * is later rolled back, our insert (which follows it in the primary's oplog) is rolled back with
   * it and so is never majority-acknowledged; the error sends us round again.
   */
  async appendAudit(draft: AuditDraft, session?: ClientSession): Promise<AuditEvent> {
    for (let attempt = 1; ; attempt++) {
      const [head] = await this.find<AuditDoc>({ ...auditHeadQuery(), readConcern: 'local' }, session);
      const event = sealEvent(draft, head ? { sequence: head.sequence, hash: head.hash } : null);
      try {
        await this.insert(COLLECTIONS.audit, auditToDoc(event), session);
        return event;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const existing = await this.findById<AuditDoc>(COLLECTIONS.audit, draft.id, session);
      if (existing) return docToAudit(existing);
      if (attempt >= AUDIT_APPEND_ATTEMPTS) throw new ConflictError('The audit log is too busy to append; try again');
      await backoff(attempt);
    }
  }

  /**
   * Finishes the pending operation on `doc` (the document as it is after its commit point) by
   * running its recovery plan. Returns false when the marker is an intent that is still within its
   * lease: it belongs to a live operation and is left alone.
   */
  async complete(
    collection: CollectionName, doc: MarkedDoc, known: Pick<FoundPending, 'auditAppended' | 'deploymentStored'> = {}, session?: ClientSession,
  ): Promise<boolean> {
    return (await this.runPlan(collection, doc, known, session)).finished;
  }

  /**
   * The owner's steps after its OWN commit point: the same plan, returning the audit event it
   * appended (which anchored rows name). The commit point has applied, so the write stands whatever
   * happens next: a failure here is reported (kind `incomplete`) and the owner returns its committed
   * result with a null event, never an error a caller could take for "not done" and retry. The
   * marker stays; the next process that meets it (a write on that document, a read once the grace
   * period has passed, recovery at start-up) finishes it.
   */
  async finish(
    collection: CollectionName, doc: MarkedDoc, known: Pick<FoundPending, 'auditAppended' | 'deploymentStored'> = {}, session?: ClientSession,
  ): Promise<AuditEvent | null> {
    try {
      return (await this.runPlan(collection, doc, known, session)).event;
    } catch (error) {
      const marker = doc.pending!;
      this.report({ kind: 'incomplete', collection, id: doc._id, markerId: marker.id, op: marker.op, error });
      return null;
    }
  }

  private async runPlan(
    collection: CollectionName, doc: MarkedDoc, known: Pick<FoundPending, 'auditAppended' | 'deploymentStored'>, session?: ClientSession,
  ): Promise<{ finished: boolean; event: AuditEvent | null }> {
    const marker = doc.pending;
    if (!marker) return { finished: true, event: null };
    const state: { event: AuditEvent | null } = { event: null };
    for (const step of planRecovery({ collection, marker, ...known })) {
      if (!(await this.run(step, collection, doc, state, session))) return { finished: false, event: null };
    }
    return { finished: true, event: state.event };
  }

  private async run(
    step: RecoveryStep, collection: CollectionName, doc: MarkedDoc, state: { event: AuditEvent | null }, session?: ClientSession,
  ): Promise<boolean> {
    const marker = doc.pending!;
    switch (step) {
      case 'abort-stale-intent':
        return (await this.update(abortStaleIntent(collection, doc._id, marker.id, this.intentLeaseMs), session)) > 0;
      case 'upsert-model':
        await this.retryOnDuplicate(() => this.update(modelUpsert(doc as unknown as VersionDoc), session));
        return true;
      case 'insert-metrics': {
        const v = doc as unknown as VersionDoc;
        const ops = metricUpserts({ id: v._id, modelName: v.modelName, number: v.number, metrics: v.metrics }, isVerified(v.status));
        await this.retryOnDuplicate(() => this.bulkUpsert(ops, session));
        return true;
      }
      case 'sync-metrics': {
        const v = doc as unknown as VersionDoc;
        await this.update(syncMetricsUpdate(v._id, isVerified(v.status), v.statusRev), session, true);
        return true;
      }
      case 'insert-deployment':
        await this.insertDeployment(marker.deployment as DeploymentDoc, session);
        return true;
      case 'append-audit':
        state.event = await this.appendAudit(docToDraft(marker.audit), session);
        return true;
      case 'anchor-audit': {
        const stored = state.event ? null : await this.findById<AuditDoc>(COLLECTIONS.audit, marker.id, session);
        const event = state.event ?? (stored && docToAudit(stored));
        if (!event) throw new Error(`the audit event ${marker.id} of a committed write is missing`);
        state.event = event;
        await this.update(anchorAudit(collection, doc._id, marker.id, event), session);
        return true;
      }
      case 'settle-key':
        await this.update(settleKeyUpdate(marker.idempotency!.keyId, marker.idempotency!.resultId), session);
        return true;
      case 'clear-marker':
        await this.update(clearMarker(collection, doc._id, marker.id), session);
        return true;
    }
  }

  /**
   * A committed move's deployment, inserted by id. A duplicate key is "already done" only if it is
   * on `_id`; one on `deployments_revision` means another deployment holds this revision (a broken
   * invariant: the marker cannot be finished). Read from the error's keyPattern, not from a
   * follow-up read that a failover could answer from a node that has not seen the insert.
   */
  private async insertDeployment(d: DeploymentDoc, session?: ClientSession): Promise<void> {
    try {
      await this.insert(COLLECTIONS.deployments, d, session);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const keyPattern = duplicateKeyPattern(err);
      if (keyPattern !== null && Object.keys(keyPattern).join() === '_id') return;
      if (keyPattern !== null) {
        throw new Error(`deployment revision ${d.revision} of ${d.modelName}/${d.environment} is taken by another deployment (${JSON.stringify(keyPattern)})`);
      }
      // A server that does not say which index (older than 4.4 is refused by the driver; kept for safety): look the id up.
      if (!(await this.findById(COLLECTIONS.deployments, d._id, session, { _id: 1 }))) {
        throw new Error(`deployment revision ${d.revision} of ${d.modelName}/${d.environment} is taken by another deployment`);
      }
    }
  }

  private async retryOnDuplicate<T>(write: () => Promise<T>): Promise<T> {
    // Concurrent upserts of the same new _id may collide once; the retry finds the document.
    try {
      return await write();
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      return write();
    }
  }

  /**
   * Finishes committed operations found pending in `collection` (optionally of one model) and
   * aborts stale intents. `old`: markers younger than the grace period are left to their owner.
   * A marker that cannot be finished is reported and skipped: one bad marker never fails the reader.
   */
  async settle(collection: CollectionName, scope: { modelName?: string } = {}, session?: ClientSession, mode: SettleMode = 'old'): Promise<void> {
    const docs = await this.find<MarkedDoc & { modelName?: string }>(pendingQuery(collection), session);
    for (const d of docs) {
      if (scope.modelName !== undefined && d.modelName !== scope.modelName) continue;
      if (mode !== 'all' && d.pending?.phase === 'committed' && this.young(d)) {
        if (mode === 'wait') await this.settled(collection, d, session, 'wait');
        continue;
      }
      await this.completeOrReport(collection, d, session);
    }
  }

  /** Start-up recovery (everything, whatever its age), and before reads of the audit log (`old`). */
  async settleAll(session?: ClientSession, mode: SettleMode = 'all'): Promise<void> {
    for (const c of PENDING_COLLECTIONS) {
      await this.settle(c, {}, session, mode);
    }
  }

  private young(doc: MarkedDoc): boolean {
    return doc.pendingAt instanceof Date && Date.now() - doc.pendingAt.getTime() < this.settleGraceMs;
  }

  private async completeOrReport(collection: CollectionName, doc: MarkedDoc, session?: ClientSession): Promise<boolean> {
    try {
      return await this.complete(collection, doc, {}, session);
    } catch (error) {
      const marker = doc.pending!;
      this.report({ kind: 'unfinishable', collection, id: doc._id, markerId: marker.id, op: marker.op, error });
      return false;
    }
  }

  /**
   * A single-document write with its audit event. `write` is a conditional update that leaves a
   * committed marker (null: it matched nothing); the write is then finished and its document
   * returned, with the event the finish appended. A document carrying another operation's marker
   * is unblocked first and the write tried again; a missing document gives null, unless `missing`
   * says to look again.
   */
  async markedWrite<T extends MarkedDoc>(
    collection: CollectionName,
    id: string,
    write: () => Promise<T | null>,
    what: string,
    missing: () => Promise<boolean> = async () => false,
  ): Promise<{ doc: T; event: AuditEvent | null } | null> {
    for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
      const doc = await write();
      if (doc) return { doc, event: await this.finish(collection, doc, { auditAppended: false }) };
      const current = await this.findById<MarkedDoc>(collection, id);
      if (current) await this.unblock(collection, current, attempt);
      else if (!(await missing())) return null;
    }
    throw new ConflictError(`${what} is being changed by another request; try again`);
  }

  /**
   * The document as its last committed write left it, with that write finished. A committed marker
   * younger than the grace period is its owner's to finish: `wait` polls for it to go (and finishes
   * it once the grace period is over), `all` finishes it at once. A marker that cannot be finished
   * is reported and the document returned as committed. An intent changes nothing visible.
   */
  async settled<T extends MarkedDoc>(collection: CollectionName, doc: T, session?: ClientSession, mode: 'wait' | 'all' = 'wait'): Promise<T | null> {
    let current: T | null = doc;
    for (let round = 1; round <= 200 && current?.pending?.phase === 'committed'; round++) {
      if (mode === 'wait' && this.young(current)) {
        await backoff(round);
      } else if (!(await this.completeOrReport(collection, current, session))) {
        return current;
      }
      current = await this.findById<T>(collection, current._id, session);
    }
    return current;
  }

  /**
   * Makes way for a write that found `doc` carrying another operation's marker: a committed one is
   * finished, a stale intent aborted, a live intent waited for (briefly; the caller retries).
   */
  async unblock(collection: CollectionName, doc: MarkedDoc, attempt: number, session?: ClientSession): Promise<void> {
    if (!(await this.complete(collection, doc, {}, session))) await backoff(attempt);
  }
}

/** The index key of a duplicate-key error (E11000), as the server reports it (4.4+), or null. */
export function duplicateKeyPattern(err: unknown): Record<string, unknown> | null {
  const e = err as { keyPattern?: unknown; writeErrors?: { err?: { keyPattern?: unknown }; keyPattern?: unknown }[]; errorResponse?: { keyPattern?: unknown } };
  const pattern = e.keyPattern ?? e.errorResponse?.keyPattern;
  return pattern !== null && typeof pattern === 'object' ? (pattern as Record<string, unknown>) : null;
}
