import type { Document } from 'mongodb';
import type { AuditRef, LegalHold, ModelVersion, VersionStatus } from '../../domain/model.js';
import type { ModelPatch } from '../registry.store.js';
import { COLLECTIONS, type CollectionName, type PendingMarker, metricDocId } from './mongo-documents.js';

/**
 * Every update the Mongo store sends, as pure data (the reads are in mongo-queries.ts). Each is a
 * single-document conditional write by `_id` (or, for `syncMetricsUpdate`, the version's metric
 * documents): the conditions are what make each step of docs/production-mongodb.md safe to race.
 * test/unit/mongo-queries.test.ts evaluates them with mingo and checks their index use.
 */

export interface UpdateSpec {
  collection: CollectionName;
  filter: Document;
  /** Update operators, or an update pipeline (leases: conditions on the server's clock). */
  update: Document | Document[];
  upsert?: boolean;
  index: string;
  residual?: Readonly<Record<string, string>>;
}

const ONE_DOC = 'at most one document (the filter names its _id)';
const NOT_PENDING = { pending: { $exists: false } } as const;
/** Not on legal hold: null or absent (versions from before holds existed). */
const NO_HOLD = { legalHold: null } as const;

// ---- versions and models ----

/** Registration, step 3: the model exists and counts the version (idempotent, order-free). */
export function modelUpsert(v: Pick<ModelVersion, 'modelName' | 'number' | 'createdAt'>): UpdateSpec {
  return {
    collection: COLLECTIONS.models,
    filter: { _id: v.modelName },
    update: { $min: { createdAt: v.createdAt }, $max: { versionCount: v.number }, $setOnInsert: { description: null } },
    upsert: true,
    index: '_id_',
  };
}

/** Registration, step 4: one ranking document per metric, inserted once (a late replay changes nothing). */
export function metricUpserts(v: Pick<ModelVersion, 'id' | 'modelName' | 'number' | 'metrics'>, verified: boolean): UpdateSpec[] {
  return v.metrics.map((m) => ({
    collection: COLLECTIONS.versionMetrics,
    filter: { _id: metricDocId(v.id, m.name) },
    update: { $setOnInsert: { versionId: v.id, modelName: v.modelName, name: m.name, value: m.value, number: v.number, verified, statusRev: 0 } },
    upsert: true,
    index: '_id_',
  }));
}

/** After a status change: `verified` follows the status; a stale (lower statusRev) write matches nothing. */
export function syncMetricsUpdate(versionId: string, verified: boolean, statusRev: number): UpdateSpec {
  return {
    collection: COLLECTIONS.versionMetrics,
    filter: { versionId, statusRev: { $lt: statusRev } },
    update: { $set: { verified, statusRev } },
    index: 'metrics_version',
    residual: { statusRev: "evaluated over this version's metrics only" },
  };
}

/** A status change without preconditions on other documents: decided and marked in one write. */
export function transitionDirect(
  id: string, current: { status: VersionStatus; statusRev: number }, change: { to: VersionStatus; failureReason: string | null }, marker: PendingMarker,
  noHold = false,
): UpdateSpec {
  return {
    collection: COLLECTIONS.versions,
    filter: { _id: id, status: current.status, statusRev: current.statusRev, ...NOT_PENDING, ...(noHold && NO_HOLD) },
    update: { $set: { status: change.to, failureReason: change.failureReason, pending: marker }, $currentDate: { pendingAt: true }, $inc: { statusRev: 1 } },
    index: '_id_',
    residual: { status: ONE_DOC, statusRev: ONE_DOC, pending: ONE_DOC, ...(noHold && { legalHold: ONE_DOC }) },
  };
}

/** A status change that must first check other documents (requireUndeployed): reserve the version. */
export function transitionIntent(id: string, current: { status: VersionStatus; statusRev: number }, marker: PendingMarker, noHold = false): UpdateSpec {
  return {
    collection: COLLECTIONS.versions,
    filter: { _id: id, status: current.status, statusRev: current.statusRev, ...NOT_PENDING, ...(noHold && NO_HOLD) },
    update: { $set: { pending: marker }, $currentDate: { pendingAt: true } },
    index: '_id_',
    residual: { status: ONE_DOC, statusRev: ONE_DOC, pending: ONE_DOC, ...(noHold && { legalHold: ONE_DOC }) },
  };
}

/** Sets or releases (null) a version's legal hold with its audit marker, on a document with no unfinished write. */
export function legalHoldUpdate(id: string, hold: LegalHold | null, marker: PendingMarker): UpdateSpec {
  return markedUpdate(COLLECTIONS.versions, id, { legalHold: hold }, marker);
}

/**
 * Records a purge: only on the ARCHIVED version at the status revision that was read, not on hold,
 * not purged yet, with no unfinished write; the marker carries the MODEL_VERSION_PURGED event.
 */
export function purgeMarkUpdate(id: string, statusRev: number, purgedAt: Date, marker: PendingMarker): UpdateSpec {
  return {
    collection: COLLECTIONS.versions,
    filter: { _id: id, status: 'ARCHIVED', statusRev, ...NO_HOLD, purgedAt: null, ...NOT_PENDING },
    update: { $set: { purgedAt, pending: marker }, $currentDate: { pendingAt: true } },
    index: '_id_',
    residual: { status: ONE_DOC, statusRev: ONE_DOC, legalHold: ONE_DOC, purgedAt: ONE_DOC, pending: ONE_DOC },
  };
}

/** Commits a reserved status change; matches nothing if recovery aborted the reservation meanwhile. */
export function transitionCommit(id: string, markerId: string, change: { to: VersionStatus; failureReason: string | null }): UpdateSpec {
  return {
    collection: COLLECTIONS.versions,
    filter: { _id: id, 'pending.id': markerId, 'pending.phase': 'intent' },
    update: { $set: { status: change.to, failureReason: change.failureReason, 'pending.phase': 'committed' }, $inc: { statusRev: 1 } },
    index: '_id_',
    residual: { 'pending.id': ONE_DOC, 'pending.phase': ONE_DOC },
  };
}

/** The $set of a model change: only the fields the patch gives. */
export function modelPatchSet(patch: ModelPatch): Document {
  const set: Document = {};
  if (patch.description !== undefined) set.description = patch.description;
  if (patch.primaryMetric !== undefined) set.primaryMetric = patch.primaryMetric;
  return set;
}

/** A metadata/description change with its audit marker, on a document with no unfinished write. */
export function markedUpdate(collection: CollectionName, id: string, set: Document, marker: PendingMarker): UpdateSpec {
  return {
    collection,
    filter: { _id: id, ...NOT_PENDING },
    update: { $set: { ...set, pending: marker }, $currentDate: { pendingAt: true } },
    index: '_id_',
    residual: { pending: ONE_DOC },
  };
}

// ---- markers ----

/**
 * The audit step's last part for rows anchored in the chain (pointers, tokens): the row names the
 * event its pending write appended. Only while that write's committed marker is still there, so it
 * is idempotent, and a late replay can never anchor a row that a later write has changed since
 * (a later write needs the marker cleared first, and the marker is cleared only after this).
 */
export function anchorAudit(collection: CollectionName, id: string, markerId: string, ref: AuditRef): UpdateSpec {
  return {
    collection,
    filter: { _id: id, 'pending.id': markerId, 'pending.phase': 'committed' },
    update: { $set: { audit: { sequence: ref.sequence, hash: ref.hash } } },
    index: '_id_',
    residual: { 'pending.id': ONE_DOC, 'pending.phase': ONE_DOC },
  };
}

/** The last step of every operation: removes its own marker only. */
export function clearMarker(collection: CollectionName, id: string, markerId: string): UpdateSpec {
  return {
    collection, filter: { _id: id, 'pending.id': markerId }, update: { $unset: { pending: '', pendingAt: '' } }, index: '_id_',
    residual: { 'pending.id': ONE_DOC },
  };
}

/** The owner gives up its own undecided reservation (no lease: it is the owner). */
export function releaseIntent(collection: CollectionName, id: string, markerId: string): UpdateSpec {
  return {
    collection, filter: { _id: id, 'pending.id': markerId, 'pending.phase': 'intent' }, update: { $unset: { pending: '', pendingAt: '' } },
    index: '_id_', residual: { 'pending.id': ONE_DOC, 'pending.phase': ONE_DOC },
  };
}

/**
 * Recovery's abort of an undecided reservation, only once it is older than the lease (server clock).
 * Conditional on the phase: if the owner committed meanwhile, this matches nothing; if this wins,
 * the owner's commit (conditional on its intent) matches nothing. Exactly one of them applies.
 */
export function abortStaleIntent(collection: CollectionName, id: string, markerId: string, leaseMs: number): UpdateSpec {
  return {
    collection,
    filter: {
      _id: id, 'pending.id': markerId, 'pending.phase': 'intent',
      $expr: { $lte: ['$pendingAt', { $subtract: ['$$NOW', leaseMs] }] },
    },
    update: { $unset: { pending: '', pendingAt: '' } },
    index: '_id_',
    residual: { 'pending.id': ONE_DOC, 'pending.phase': ONE_DOC, $expr: ONE_DOC },
  };
}

// ---- deployment pointers and deployments ----

/**
 * Promotion/rollback, step 1: reserve the pointer at `expectedRevision` (null: none yet; then the
 * placeholder with revision 0 is created if missing). Matches nothing (or collides on `_id` when
 * upserting) if the revision moved or another move is pending: the caller reports a conflict.
 */
export function reservePointer(
  key: string, target: { modelName: string; environment: string }, expectedRevision: number | null, marker: PendingMarker,
): UpdateSpec {
  return {
    collection: COLLECTIONS.pointers,
    filter: { _id: key, revision: expectedRevision ?? 0, ...NOT_PENDING },
    update: {
      $set: { pending: marker },
      $currentDate: { pendingAt: true },
      $setOnInsert: { modelName: target.modelName, environment: target.environment, versionId: null, deploymentId: null, audit: null },
    },
    upsert: expectedRevision === null,
    index: '_id_',
    residual: { revision: ONE_DOC, pending: ONE_DOC },
  };
}

/**
 * Promotion/rollback, step 3 (the commit point): the pointer moves, the marker turns `committed`,
 * and the pointer names no audit event until the move's own event anchors it (anchorAudit).
 */
export function commitPointer(key: string, markerId: string, move: { versionId: string | null; deploymentId: string; revision: number }): UpdateSpec {
  return {
    collection: COLLECTIONS.pointers,
    filter: { _id: key, 'pending.id': markerId, 'pending.phase': 'intent' },
    update: { $set: { versionId: move.versionId, deploymentId: move.deploymentId, revision: move.revision, audit: null, 'pending.phase': 'committed' } },
    index: '_id_',
    residual: { 'pending.id': ONE_DOC, 'pending.phase': ONE_DOC },
  };
}

export function nextDeploymentSeq(): UpdateSpec {
  return { collection: COLLECTIONS.counters, filter: { _id: 'deployments' }, update: { $inc: { value: 1 } }, upsert: true, index: '_id_' };
}

// ---- api tokens ----

/**
 * Revocation sets `revokedAt` once: the first spec applies only while unset, the second marks an
 * already revoked token. Either way the row's anchor is cleared until the revocation event anchors it.
 */
export function revokeTokenUpdates(id: string, revokedAt: Date, marker: PendingMarker): [UpdateSpec, UpdateSpec] {
  const first = markedUpdate(COLLECTIONS.tokens, id, { revokedAt, audit: null }, marker);
  return [
    { ...first, filter: { ...first.filter, revokedAt: null }, residual: { ...first.residual, revokedAt: ONE_DOC } },
    markedUpdate(COLLECTIONS.tokens, id, { audit: null }, marker),
  ];
}

export function touchTokenUpdate(id: string, lastUsedAt: Date): UpdateSpec {
  return { collection: COLLECTIONS.tokens, filter: { _id: id }, update: { $max: { lastUsedAt } }, index: '_id_' };
}
