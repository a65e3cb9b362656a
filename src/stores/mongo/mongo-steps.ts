import { type ClientSession, type Collection, type Db, type Document, MongoServerError } from 'mongodb';
import { sealEvent } from '../../audit/hash-chain.js';
import { ConflictError } from '../../domain/errors.js';
import type { AuditDraft, AuditEvent } from '../../domain/model.js';
import { VERIFIED_STATUSES } from '../../domain/model.js';
import {
  type AuditDoc, COLLECTIONS, type CollectionName, type CounterDoc, type DeploymentDoc, type PendingMarker, type VersionDoc,
  auditToDoc, docToAudit, docToDraft,
} from './mongo-documents.js';
import { findIndex } from './mongo-indexes.js';
import { type CountSpec, type DistinctSpec, type FindSpec, auditHeadQuery, pendingQuery } from './mongo-queries.js';
import {
  type UpdateSpec, abortStaleIntent, anchorAudit, clearMarker, metricUpserts, modelUpsert, nextDeploymentSeq, syncMetricsUpdate,
} from './mongo-updates.js';
import { type FoundPending, type RecoveryStep, planRecovery } from './mongo-recovery.js';

const AUDIT_APPEND_ATTEMPTS = 200;
/** Attempts of a write that keeps meeting concurrent writers of the same document before it reports a conflict. */
export const WRITE_ATTEMPTS = 50;

/** A document that may carry a pending marker. */
export interface MarkedDoc {
  _id: string;
  pending?: PendingMarker;
}

/** Duplicate key (E11000), from a single write or a bulk write. */
export function isDuplicateKey(err: unknown): boolean {
  if (!(err instanceof MongoServerError)) return false;
  if (err.code === 11000) return true;
  const writeErrors = (err as { writeErrors?: { code?: number }[] }).writeErrors;
  return Array.isArray(writeErrors) && writeErrors.some((w) => w.code === 11000);
}

/** Jittered exponential backoff, at most ~100 ms. */
export function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(100, 2 ** Math.min(attempt, 7));
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const isVerified = (status: VersionDoc['status']): boolean => VERIFIED_STATUSES.includes(status);

/**
 * The Mongo store's building blocks: runs the query specs of mongo-queries.ts, appends to the audit
 * chain, and executes recovery plans. Shared by the operations' own code paths and by recovery, so
 * both take exactly the same steps.
 */
export class MongoSteps {
  private readonly collections = new Map<string, Collection<Document>>();

  constructor(readonly db: Db, readonly intentLeaseMs: number) {}

  col<T extends Document>(name: CollectionName): Collection<T> {
    let c = this.collections.get(name);
    if (!c) {
      c = this.db.collection(name);
      this.collections.set(name, c);
    }
    return c as unknown as Collection<T>;
  }

  /** The index named by a spec, as a hint; none for partial indexes (chosen by predicate, see mongo-queries.ts). */
  private hint(collection: CollectionName, index: string): { hint?: string } {
    const spec = findIndex(collection, index);
    if (!spec) throw new Error(`query names undeclared index ${collection}.${index}`);
    return spec.partialFilterExpression ? {} : { hint: index };
  }

  async find<T extends Document>(spec: FindSpec, session?: ClientSession): Promise<T[]> {
    const cursor = this.col(spec.collection).find(spec.filter, {
      session, ...this.hint(spec.collection, spec.index), ...(spec.sort && { sort: spec.sort }), ...(spec.limit !== undefined && { limit: spec.limit }),
    });
    return (await cursor.toArray()) as unknown as T[];
  }

  async count(spec: CountSpec, session?: ClientSession): Promise<number> {
    return this.col(spec.collection).countDocuments(spec.filter, { session, ...this.hint(spec.collection, spec.index) });
  }

  /** Distinct values (no hint: the spec's index is the only one led by the field, see mongo-queries.ts). */
  async distinct(spec: DistinctSpec, session?: ClientSession): Promise<string[]> {
    return (await this.col(spec.collection).distinct(spec.field, spec.filter, { session })) as string[];
  }

  /** updateOne (or updateMany when `many`); returns the number of documents matched. */
  async update(spec: UpdateSpec, session?: ClientSession, many = false): Promise<number> {
    const options = { session, ...(spec.upsert && { upsert: true }) };
    const c = this.col(spec.collection);
    const r = many ? await c.updateMany(spec.filter, spec.update, options) : await c.updateOne(spec.filter, spec.update, options);
    return r.matchedCount + r.upsertedCount;
  }

  /** deleteOne by a spec's filter (leases only: nothing else in the registry is ever deleted). */
  async remove(spec: FindSpec, session?: ClientSession): Promise<number> {
    return (await this.col(spec.collection).deleteOne(spec.filter, { session })).deletedCount;
  }

  async findAndUpdate<T extends Document>(spec: UpdateSpec, session?: ClientSession): Promise<T | null> {
    const r = await this.col(spec.collection).findOneAndUpdate(spec.filter, spec.update, {
      session, returnDocument: 'after', ...(spec.upsert && { upsert: true }),
    });
    return r as unknown as T | null;
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
   */
  async appendAudit(draft: AuditDraft, session?: ClientSession): Promise<AuditEvent> {
    const audit = this.col<AuditDoc>(COLLECTIONS.audit);
    for (let attempt = 1; ; attempt++) {
      const [head] = await this.find<AuditDoc>(auditHeadQuery(), session);
      const event = sealEvent(draft, head ? { sequence: head.sequence, hash: head.hash } : null);
      try {
        await audit.insertOne(auditToDoc(event), { session });
        return event;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const existing = await audit.findOne({ _id: draft.id }, { session });
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
   * The owner's finishing steps after its own commit point: the same plan, returning the audit
   * event it appended (or found), which anchored rows (pointers, tokens) now name.
   */
  async finish(
    collection: CollectionName, doc: MarkedDoc, known: Pick<FoundPending, 'auditAppended' | 'deploymentStored'> = {}, session?: ClientSession,
  ): Promise<AuditEvent | null> {
    return (await this.runPlan(collection, doc, known, session)).event;
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
        if (ops.length > 0) {
          await this.retryOnDuplicate(() =>
            this.col(COLLECTIONS.versionMetrics).bulkWrite(
              ops.map((o) => ({ updateOne: { filter: o.filter, update: o.update, upsert: true } })),
              { session, ordered: false },
            ),
          );
        }
        return true;
      }
      case 'sync-metrics': {
        const v = doc as unknown as VersionDoc;
        await this.update(syncMetricsUpdate(v._id, isVerified(v.status), v.statusRev), session, true);
        return true;
      }
      case 'insert-deployment': {
        const d = marker.deployment as DeploymentDoc;
        try {
          await this.col<DeploymentDoc>(COLLECTIONS.deployments).insertOne(d, { session });
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          const existing = await this.col<DeploymentDoc>(COLLECTIONS.deployments).findOne({ _id: d._id }, { session });
          if (!existing) throw new Error(`deployment revision ${d.revision} of ${d.modelName}/${d.environment} is taken by another deployment`);
        }
        return true;
      }
      case 'append-audit':
        state.event = await this.appendAudit(docToDraft(marker.audit), session);
        return true;
      case 'anchor-audit': {
        const event = state.event ?? (await this.auditEventById(marker.id, session));
        if (!event) throw new Error(`the audit event ${marker.id} of a committed write is missing`);
        state.event = event;
        await this.update(anchorAudit(collection, doc._id, marker.id, event), session);
        return true;
      }
      case 'clear-marker':
        await this.update(clearMarker(collection, doc._id, marker.id), session);
        return true;
    }
  }

  private async auditEventById(id: string, session?: ClientSession): Promise<AuditEvent | null> {
    const doc = await this.col<AuditDoc>(COLLECTIONS.audit).findOne({ _id: id }, { session });
    return doc ? docToAudit(doc) : null;
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

  /** Finishes every committed operation found pending in `collection` (optionally of one model); aborts stale intents. */
  async settle(collection: CollectionName, scope: { modelName?: string } = {}, session?: ClientSession): Promise<void> {
    const docs = await this.find<MarkedDoc & { modelName?: string }>(pendingQuery(collection), session);
    for (const d of docs) {
      if (scope.modelName === undefined || d.modelName === scope.modelName) await this.complete(collection, d, {}, session);
    }
  }

  /** Start-up recovery, and before reads of the audit log. */
  async settleAll(session?: ClientSession): Promise<void> {
    for (const c of [COLLECTIONS.versions, COLLECTIONS.models, COLLECTIONS.pointers, COLLECTIONS.deployments, COLLECTIONS.tokens]) {
      await this.settle(c, {}, session);
    }
  }

  /**
   * A single-document write with its audit event. `write` is a conditional update that leaves a
   * committed marker (null: it matched nothing); the write is then finished and its document
   * returned. A document carrying another operation's marker is unblocked first and the write
   * tried again; a missing document gives null, unless `missing` says to look again.
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
      const current = (await this.col<MarkedDoc>(collection).findOne({ _id: id })) as MarkedDoc | null;
      if (current) await this.unblock(collection, current, attempt);
      else if (!(await missing())) return null;
    }
    throw new ConflictError(`${what} is being changed by another request; try again`);
  }

  /**
   * The document as its last committed write left it, with that write finished: a committed
   * marker on it is completed first, then the document is read again (a few rounds, in case
   * further writes commit meanwhile). An intent changes nothing visible and is left alone.
   */
  async settled<T extends MarkedDoc>(collection: CollectionName, doc: T, session?: ClientSession): Promise<T | null> {
    let current: T | null = doc;
    for (let round = 0; round < 5 && current?.pending?.phase === 'committed'; round++) {
      await this.complete(collection, current, {}, session);
      current = (await this.col<MarkedDoc>(collection).findOne({ _id: current._id }, { session })) as T | null;
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
