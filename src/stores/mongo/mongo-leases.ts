import type { JsonObject } from '../../domain/model.js';
import type { Lease } from '../registry.store.js';
import { COLLECTIONS, type LeaseDoc } from './mongo-documents.js';
import type { FindSpec } from './mongo-queries.js';
import type { UpdateSpec } from './mongo-updates.js';
import { type MongoSteps, isDuplicateKey } from './mongo-steps.js';

/**
 * Leases: one document per name in `leases`, `{ _id: name, holder, expiresAt }`, expiry by the
 * SERVER's clock ($$NOW), so every registry process agrees on it.
 *
 * MongoDB refuses `$expr` in the filter of an upsert, so the condition (free, expired, or already
 * ours) lives in the update pipeline instead: the upsert by `_id` always matches or inserts that
 * one document, and each field keeps its value unless the condition holds. The caller holds the
 * lease exactly when the document, as the update left it, names it. A new name is inserted as
 * `{ _id }` alone: the condition says so explicitly (`$type` "missing") rather than relying on
 * how a missing field compares with a date.
 */
export function acquireLeaseUpdate(name: string, holder: string, ttlMs: number, details?: JsonObject | null): UpdateSpec {
  const free = { $or: [{ $eq: [{ $type: '$holder' }, 'missing'] }, { $lte: ['$expiresAt', '$$NOW'] }, { $eq: ['$holder', holder] }] };
  // Details given (or null) replace the stored ones; left out, a renewal keeps them, a new holder starts with none.
  const ownRenewal = { $eq: ['$holder', holder] };
  const newDetails = details === undefined ? { $cond: [ownRenewal, '$details', null] } : { $literal: details };
  return {
    collection: COLLECTIONS.leases,
    filter: { _id: name },
    update: [
      {
        $set: {
          details: { $cond: [free, newDetails, '$details'] },
          holder: { $cond: [free, holder, '$holder'] },
          expiresAt: { $cond: [free, { $add: ['$$NOW', ttlMs] }, '$expiresAt'] },
        },
      },
    ],
    upsert: true,
    index: '_id_',
  };
}

/** Release: removes the lease only if `holder` still holds it (expired or not). */
export function releaseLeaseFilter(name: string, holder: string): FindSpec {
  return { collection: COLLECTIONS.leases, filter: { _id: name, holder }, index: '_id_', residual: { holder: 'at most one document (the filter names its _id)' } };
}

/** A lease that has not expired by the server's clock. */
export function liveLeaseQuery(name: string): FindSpec {
  return {
    collection: COLLECTIONS.leases,
    filter: { _id: name, $expr: { $gt: ['$expiresAt', '$$NOW'] } },
    limit: 1,
    index: '_id_',
    residual: { $expr: 'at most one document (the filter names its _id)' },
  };
}

export async function getMongoLease(steps: MongoSteps, name: string): Promise<Lease | null> {
  const [doc] = await steps.find<LeaseDoc>(liveLeaseQuery(name));
  return doc ? { name: doc._id, holder: doc.holder, expiresAt: doc.expiresAt, details: doc.details ?? null } : null;
}

export async function acquireMongoLease(steps: MongoSteps, name: string, holder: string, ttlMs: number, details?: JsonObject | null): Promise<boolean> {
  try {
    const doc = await steps.findAndUpdate<LeaseDoc>(acquireLeaseUpdate(name, holder, ttlMs, details));
    return doc?.holder === holder;
  } catch (err) {
    // Two first-ever upserts of the same name: the loser's insert collides, and the winner holds it.
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

export async function releaseMongoLease(steps: MongoSteps, name: string, holder: string): Promise<void> {
  await steps.remove(releaseLeaseFilter(name, holder));
}
