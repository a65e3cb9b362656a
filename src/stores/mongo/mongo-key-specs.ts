import type { IdempotencyClaim } from '../../domain/idempotency.js';
import { COLLECTIONS, type KeyDoc, keyDocId } from './mongo-documents.js';
import type { CountSpec, FindSpec } from './mongo-queries.js';
import type { UpdateSpec } from './mongo-updates.js';

/**
 * The reads and writes of `idempotency_keys` (mongo-idempotency.ts), as pure data like
 * mongo-queries.ts and mongo-updates.ts; checked by test/unit/mongo-queries.test.ts.
 */
const ONE_DOC = 'at most one document (the filter names its _id)';
const UNSETTLED = { unsettledAt: { $exists: true } } as const;
export const UNSETTLED_KEYS_INDEX = 'idempotency_keys_unsettled';

/**
 * Claims the key: inserts it, or replaces a settled record that expired by the claim's time. A
 * record that holds the key (unexpired, or unsettled) does not match, so the upsert collides on
 * `_id` (E11000): the key is taken. `unsettled`: the claim is made before the write it names and
 * settled after it (server time in `unsettledAt`); otherwise it is written settled.
 */
export function claimKeyUpdate(c: IdempotencyClaim, where: Pick<KeyDoc, 'resultKind' | 'pointerId'>, unsettled: boolean): UpdateSpec {
  const fields: Omit<KeyDoc, '_id' | 'unsettledAt'> = {
    modelName: c.modelName, key: c.key, operation: c.operation, fingerprint: c.fingerprint, resultId: c.resultId, refusalCode: c.refusalCode,
    resultKind: where.resultKind, pointerId: where.pointerId, createdAt: c.createdAt, expiresAt: c.expiresAt,
  };
  return {
    collection: COLLECTIONS.idempotencyKeys,
    filter: { _id: keyDocId(c.modelName, c.key), expiresAt: { $lte: c.createdAt }, unsettledAt: { $exists: false } },
    update: unsettled ? { $set: fields, $currentDate: { unsettledAt: true } } : { $set: fields },
    upsert: true,
    index: '_id_',
    residual: { expiresAt: ONE_DOC, unsettledAt: ONE_DOC },
  };
}

/** The write a claim names has committed: the record is settled (idempotent; only that claim's record). */
export function settleKeyUpdate(keyId: string, resultId: string): UpdateSpec {
  return {
    collection: COLLECTIONS.idempotencyKeys, filter: { _id: keyId, resultId, ...UNSETTLED }, update: { $unset: { unsettledAt: '' } }, index: '_id_',
    residual: { resultId: ONE_DOC, unsettledAt: ONE_DOC },
  };
}

/** The owner gives its claim up: its write certainly did not happen (and now cannot). */
export function releaseKeyFilter(keyId: string, resultId: string): FindSpec {
  return { collection: COLLECTIONS.idempotencyKeys, filter: { _id: keyId, resultId, ...UNSETTLED }, index: '_id_', residual: { resultId: ONE_DOC, unsettledAt: ONE_DOC } };
}

/** Recovery removes a claim whose write never happened, only once it is older than the lease (server clock). */
export function abortStaleKeyFilter(keyId: string, resultId: string, leaseMs: number): FindSpec {
  return {
    collection: COLLECTIONS.idempotencyKeys,
    filter: { _id: keyId, resultId, ...UNSETTLED, $expr: { $lte: ['$unsettledAt', { $subtract: ['$$NOW', leaseMs] }] } },
    index: '_id_',
    residual: { resultId: ONE_DOC, unsettledAt: ONE_DOC, $expr: ONE_DOC },
  };
}

/** Unsettled claims (normally none): start-up recovery, over the partial index. */
export function unsettledKeysQuery(): FindSpec {
  return { collection: COLLECTIONS.idempotencyKeys, filter: { ...UNSETTLED }, index: UNSETTLED_KEYS_INDEX };
}

/** Unsettled claims older than `cutoff`, for unfinishedWrites. */
export function unsettledKeysCountQuery(cutoff: Date): CountSpec {
  return { collection: COLLECTIONS.idempotencyKeys, filter: { unsettledAt: { ...UNSETTLED.unsettledAt, $lt: cutoff } }, index: UNSETTLED_KEYS_INDEX };
}
