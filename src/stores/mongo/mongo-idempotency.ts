import type { ClientSession } from 'mongodb';
import { type IdempotencyClaim, type IdempotencyRecord, type IdempotentOperation, IdempotencyKeyTakenError } from '../../domain/idempotency.js';
import { COLLECTIONS, type DeploymentDoc, type KeyDoc, type PointerDoc, type VersionDoc, keyDocId } from './mongo-documents.js';
import { abortStaleKeyFilter, claimKeyUpdate, releaseKeyFilter, settleKeyUpdate, unsettledKeysCountQuery, unsettledKeysQuery } from './mongo-key-specs.js';
import { type MongoSteps, isDuplicateKey } from './mongo-steps.js';

/**
 * Idempotency keys on MongoDB, without multi-document transactions. A keyed write:
 *
 *   K1 claim the key document, unsettled, naming the write's result id (a duplicate `_id` of an
 *      unexpired record: the key is taken, nothing else is written)
 *   …  the write itself, whose commit point carries `pending.idempotency` = { keyId, resultId }
 *   K2 settle the key (a step of the write's recovery plan, before its marker is cleared)
 *
 * Moves reserve the pointer (M1) and check the version (M2) BEFORE K1, and commit (M3) after it.
 * So a crash leaves either a committed write whose plan settles its key, or an unsettled claim
 * whose write did not commit. Recovery removes such a claim only once it is older than the intent
 * lease, and only after making sure its write cannot commit any more: for a move, by aborting the
 * pointer reservation first (the owner's commit is conditional on it), then by looking for the
 * deployment. Registrations and refused deployments commit by an insert, which nothing can fence:
 * an owner that stalls longer than the lease between K1 and its insert could still insert after
 * recovery removed its claim (the version then stands without a key). A crash cannot do that.
 */
export class MongoIdempotencyKeys {
  constructor(private readonly steps: MongoSteps) {}

  /** K1. Returns the key document's id. IdempotencyKeyTakenError if an unexpired (or live unsettled) record holds it. */
  async claim(c: IdempotencyClaim, where: Pick<KeyDoc, 'resultKind' | 'pointerId'>, unsettled: boolean, session?: ClientSession): Promise<string> {
    const id = keyDocId(c.modelName, c.key);
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await this.steps.update(claimKeyUpdate(c, where, unsettled), session);
        return id;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      // Taken, unless it is an expired claim whose write never happened (recovery removes it; then try again).
      const current = await this.steps.findById<KeyDoc>(COLLECTIONS.idempotencyKeys, id, session);
      if (current && !(current.unsettledAt && (await this.resolve(current, session)) === 'removed')) break;
    }
    throw new IdempotencyKeyTakenError(c.modelName, c.key);
  }

  /** The owner gives its claim up when its write certainly did not happen. */
  async release(keyId: string, resultId: string, session?: ClientSession): Promise<void> {
    await this.steps.remove(releaseKeyFilter(keyId, resultId), session);
  }

  async get(modelName: string, key: string, now: Date): Promise<IdempotencyRecord | null> {
    let doc = await this.steps.findById<KeyDoc>(COLLECTIONS.idempotencyKeys, keyDocId(modelName, key));
    if (doc?.unsettledAt && (await this.resolve(doc)) !== 'live') doc = await this.steps.findById<KeyDoc>(COLLECTIONS.idempotencyKeys, doc._id);
    if (!doc || doc.expiresAt.getTime() <= now.getTime()) return null;
    return {
      modelName: doc.modelName, key: doc.key, operation: doc.operation as IdempotentOperation, fingerprint: doc.fingerprint, resultId: doc.resultId,
      refusalCode: doc.refusalCode, createdAt: doc.createdAt, expiresAt: doc.expiresAt, settled: !doc.unsettledAt,
    };
  }

  /** Start-up recovery: every unsettled claim settled or (if stale and its write never happened) removed. */
  async recoverAll(): Promise<void> {
    for (const doc of await this.steps.find<KeyDoc>(unsettledKeysQuery())) await this.resolve(doc);
  }

  async unfinished(cutoff: Date): Promise<number> {
    return this.steps.count(unsettledKeysCountQuery(cutoff));
  }

  /**
   * Settles an unsettled claim whose write committed (settling is idempotent, and the write's own
   * plan, run by its owner or recovery, finishes the rest), removes one whose write did not and
   * cannot any more (only past the lease), or leaves a live one ('live').
   */
  private async resolve(doc: KeyDoc, session?: ClientSession): Promise<'settled' | 'removed' | 'live'> {
    const settle = async () => {
      await this.steps.update(settleKeyUpdate(doc._id, doc.resultId), session);
      return 'settled' as const;
    };
    if (doc.resultKind === 'deployment' && doc.pointerId !== null) {
      // The fence: the move commits only on its own reservation. A live one: leave the claim to its owner.
      const pointer = await this.steps.findById<PointerDoc>(COLLECTIONS.pointers, doc.pointerId, session);
      if (pointer?.pending?.deployment?._id === doc.resultId) {
        if (pointer.pending.phase === 'committed') return settle();
        // Aborted only past the lease (then the move can never commit); otherwise it is live.
        if (!(await this.steps.complete(COLLECTIONS.pointers, pointer, {}, session))) return 'live';
      }
    }
    const collection = doc.resultKind === 'version' ? COLLECTIONS.versions : COLLECTIONS.deployments;
    if (await this.steps.findById<VersionDoc | DeploymentDoc>(collection, doc.resultId, session, { _id: 1 })) return settle();
    if (doc.unsettledAt && Date.now() - doc.unsettledAt.getTime() < this.steps.intentLeaseMs) return 'live';
    return (await this.steps.remove(abortStaleKeyFilter(doc._id, doc.resultId, this.steps.intentLeaseMs), session)) > 0 ? 'removed' : 'live';
  }
}
