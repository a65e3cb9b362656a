import type { Document } from 'mongodb';
import type { ModelVersion, SortDirection, VersionStatus } from '../domain/model.js';
import type { AuditFilter } from './registry.store.js';
import { COLLECTIONS, type CollectionName, type PendingMarker, metricDocId } from './mongo-documents.js';
import { PENDING_FILTER, pendingIndexName } from './mongo-indexes.js';

/**
 * Every filter, sort and update the Mongo store sends, as pure data. Each spec names the index that
 * serves it (sent as `hint` unless the index is partial: the planner picks a partial index from the
 * predicate, and a hint would be refused if it could not). Filter fields outside the index are
 * listed in `residual` with the reason they stay bounded. test/unit/mongo-queries.test.ts evaluates
 * these with mingo (meaning) and against MONGO_INDEXES (coverage).
 */

type SortSpec = Record<string, 1 | -1>;

export interface FindSpec {
  collection: CollectionName;
  filter: Document;
  sort?: SortSpec;
  limit?: number;
  index: string;
  residual?: Readonly<Record<string, string>>;
  /** Set when the index range is scanned and then sorted: why the range stays bounded. */
  inMemorySort?: string;
}

export interface CountSpec {
  collection: CollectionName;
  filter: Document;
  index: string;
  residual?: Readonly<Record<string, string>>;
}

export interface UpdateSpec {
  collection: CollectionName;
  filter: Document;
  update: Document;
  upsert?: boolean;
  index: string;
  residual?: Readonly<Record<string, string>>;
}

const ONE_DOC = 'at most one document (the filter names its _id)';
const NOT_PENDING = { pending: { $exists: false } } as const;

// ---- models ----

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** listModels: by name (the `_id` index); `search` is a substring, matched on index keys. */
export function listModelsQuery(search: string | null, afterName: string | null, first: number): { page: FindSpec; count: CountSpec } {
  const byName: Document = search === null ? {} : { $regex: escapeRegex(search) };
  const countFilter = search === null ? {} : { _id: byName };
  const pageFilter = afterName === null ? countFilter : { _id: { ...byName, $gt: afterName } };
  return {
    page: { collection: COLLECTIONS.models, filter: pageFilter, sort: { _id: 1 }, limit: first + 1, index: '_id_' },
    count: { collection: COLLECTIONS.models, filter: countFilter, index: '_id_' },
  };
}

// ---- versions ----

/** The model's highest number: the next registration takes it + 1. */
export function maxNumberQuery(modelName: string): FindSpec {
  return { collection: COLLECTIONS.versions, filter: { modelName }, sort: { number: -1 }, limit: 1, index: 'versions_model_number' };
}

export function listVersionsQuery(
  filter: { modelName: string; status: VersionStatus | null }, afterNumber: number | null, first: number,
): { page: FindSpec; count: CountSpec } {
  const base: Document = filter.status === null ? { modelName: filter.modelName } : { modelName: filter.modelName, status: filter.status };
  const index = filter.status === null ? 'versions_model_number' : 'versions_model_status_number';
  const pageFilter = afterNumber === null ? base : { ...base, number: { $lt: afterNumber } };
  return {
    page: { collection: COLLECTIONS.versions, filter: pageFilter, sort: { number: -1 }, limit: first + 1, index },
    count: { collection: COLLECTIONS.versions, filter: base, index },
  };
}

export function latestVersionQuery(modelName: string, status: VersionStatus | null): FindSpec {
  return { ...listVersionsQuery({ modelName, status }, null, 0).page, limit: 1 };
}

/** rankVersions, first part: verified versions having the metric, best first, from one index. */
export function rankQuery(q: { modelName: string; metric: string; direction: SortDirection; limit: number }): FindSpec {
  const value = q.direction === 'ASC' ? 1 : -1;
  return {
    collection: COLLECTIONS.versionMetrics,
    filter: { modelName: q.modelName, name: q.metric, verified: true },
    sort: { value, number: -1 },
    limit: q.limit,
    index: q.direction === 'ASC' ? 'metrics_rank_asc' : 'metrics_rank_desc',
  };
}

/**
 * rankVersions, second part (only when fewer than `limit` versions have the metric): versions in
 * `statuses` lacking it, higher number first. The `metrics.name` test skips only versions that
 * have the metric, and there are fewer than `limit` of those, so the scan is O(limit).
 */
export function unrankedQuery(q: { modelName: string; metric: string; statuses: readonly VersionStatus[]; limit: number }): FindSpec {
  return {
    collection: COLLECTIONS.versions,
    filter: { modelName: q.modelName, status: { $in: [...q.statuses] }, 'metrics.name': { $ne: q.metric } },
    sort: { number: -1 },
    limit: q.limit,
    index: 'versions_model_status_number',
    residual: { 'metrics.name': 'skips fewer than `limit` versions (those having the metric)' },
  };
}

export function byIdsQuery(collection: CollectionName, ids: readonly string[]): FindSpec {
  return { collection, filter: { _id: { $in: [...ids] } }, index: '_id_' };
}

export function statusCountQuery(status: VersionStatus): CountSpec {
  return { collection: COLLECTIONS.versions, filter: { status }, index: 'versions_status' };
}

/** Documents with a pending marker (optionally of one model): the partial `*_pending` index. */
export function pendingQuery(collection: CollectionName, scope: { modelName?: string; versionId?: string } = {}): FindSpec {
  const filter: Document = { ...PENDING_FILTER };
  const residual: Record<string, string> = {};
  if (scope.modelName !== undefined) {
    filter.modelName = scope.modelName;
    residual.modelName = 'evaluated over pending documents only';
  }
  if (scope.versionId !== undefined) {
    filter['pending.versionId'] = scope.versionId;
    residual['pending.versionId'] = 'evaluated over pending documents only';
  }
  return { collection, filter, index: pendingIndexName(collection), residual };
}

// ---- version writes ----

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
): UpdateSpec {
  return {
    collection: COLLECTIONS.versions,
    filter: { _id: id, status: current.status, statusRev: current.statusRev, ...NOT_PENDING },
    update: { $set: { status: change.to, failureReason: change.failureReason, pending: marker }, $currentDate: { pendingAt: true }, $inc: { statusRev: 1 } },
    index: '_id_',
    residual: { status: ONE_DOC, statusRev: ONE_DOC, pending: ONE_DOC },
  };
}

/** A status change that must first check other documents (requireUndeployed): reserve the version. */
export function transitionIntent(id: string, current: { status: VersionStatus; statusRev: number }, marker: PendingMarker): UpdateSpec {
  return {
    collection: COLLECTIONS.versions,
    filter: { _id: id, status: current.status, statusRev: current.statusRev, ...NOT_PENDING },
    update: { $set: { pending: marker }, $currentDate: { pendingAt: true } },
    index: '_id_',
    residual: { status: ONE_DOC, statusRev: ONE_DOC, pending: ONE_DOC },
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

/** The last step of every operation: removes its own marker only. */
export function clearMarker(collection: CollectionName, id: string, markerId: string): UpdateSpec {
  return {
    collection, filter: { _id: id, 'pending.id': markerId }, update: { $unset: { pending: '', pendingAt: '' } }, index: '_id_',
    residual: { 'pending.id': ONE_DOC },
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

// ---- deployment pointers ----

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
      $setOnInsert: { modelName: target.modelName, environment: target.environment, versionId: null, deploymentId: null },
    },
    upsert: expectedRevision === null,
    index: '_id_',
    residual: { revision: ONE_DOC, pending: ONE_DOC },
  };
}

/** Promotion/rollback, step 3 (the commit point): the pointer moves, the marker turns `committed`. */
export function commitPointer(key: string, markerId: string, move: { versionId: string; deploymentId: string; revision: number }): UpdateSpec {
  return {
    collection: COLLECTIONS.pointers,
    filter: { _id: key, 'pending.id': markerId, 'pending.phase': 'intent' },
    update: { $set: { versionId: move.versionId, deploymentId: move.deploymentId, revision: move.revision, 'pending.phase': 'committed' } },
    index: '_id_',
    residual: { 'pending.id': ONE_DOC, 'pending.phase': ONE_DOC },
  };
}

export function pointersForVersionsQuery(versionIds: readonly string[]): FindSpec {
  return {
    collection: COLLECTIONS.pointers,
    filter: { versionId: { $in: [...versionIds] } },
    sort: { environment: 1 },
    index: 'pointers_version',
    inMemorySort: 'sorts the pointers of the given versions only (at most one per environment each)',
  };
}

// ---- deployments ----

export function nextDeploymentSeq(): UpdateSpec {
  return { collection: COLLECTIONS.counters, filter: { _id: 'deployments' }, update: { $inc: { value: 1 } }, upsert: true, index: '_id_' };
}

export function listDeploymentsQuery(
  f: { modelName: string; environment: string | null; versionId: string | null; status: 'SUCCEEDED' | 'FAILED' | null },
  afterSeq: number | null,
  first: number,
): { page: FindSpec; count: CountSpec } {
  const base: Document = { modelName: f.modelName };
  if (f.environment !== null) base.environment = f.environment;
  if (f.versionId !== null) base.versionId = f.versionId;
  if (f.status !== null) base.status = f.status;
  let index: string;
  let residual: Record<string, string> | undefined;
  if (f.versionId !== null) {
    index = 'deployments_version_seq';
    const why = "evaluated over this version's deployments only";
    residual = { modelName: why, ...(f.environment !== null && { environment: why }), ...(f.status !== null && { status: why }) };
  } else if (f.environment !== null) {
    index = f.status !== null ? 'deployments_model_env_status_seq' : 'deployments_model_env_seq';
  } else {
    index = f.status !== null ? 'deployments_model_status_seq' : 'deployments_model_seq';
  }
  const pageFilter = afterSeq === null ? base : { ...base, seq: { $lt: afterSeq } };
  return {
    page: { collection: COLLECTIONS.deployments, filter: pageFilter, sort: { seq: -1 }, limit: first + 1, index, ...(residual && { residual }) },
    count: { collection: COLLECTIONS.deployments, filter: base, index, ...(residual && { residual }) },
  };
}

// ---- audit ----

export function auditHeadQuery(): FindSpec {
  return { collection: COLLECTIONS.audit, filter: {}, sort: { sequence: -1 }, limit: 1, index: 'audit_sequence' };
}

export function auditAscendingQuery(afterSequence: number, batch: number): FindSpec {
  return { collection: COLLECTIONS.audit, filter: { sequence: { $gt: afterSequence } }, sort: { sequence: 1 }, limit: batch, index: 'audit_sequence' };
}

/**
 * listAuditEvents. One equality field picks the index (model, else actor, else action); the others
 * and the time range are residual. With only a time range, the `audit_time` range is scanned and
 * sorted by sequence: O(events in the range). Both are bounded by the chosen slice, not the log.
 */
export function listAuditQuery(f: AuditFilter, afterSequence: number | null, first: number): { page: FindSpec; count: CountSpec } {
  const base: Document = {};
  if (f.modelName !== null) base.modelName = f.modelName;
  if (f.actor !== null) base.actor = f.actor;
  if (f.action !== null) base.action = f.action;
  if (f.since !== null || f.until !== null) {
    base.occurredAt = { ...(f.since !== null && { $gte: f.since }), ...(f.until !== null && { $lt: f.until }) };
  }
  const lead = f.modelName !== null ? 'modelName' : f.actor !== null ? 'actor' : f.action !== null ? 'action' : null;
  const index = lead === 'modelName' ? 'audit_model_sequence' : lead === 'actor' ? 'audit_actor_sequence' : lead === 'action' ? 'audit_action_sequence'
    : base.occurredAt !== undefined ? 'audit_time' : 'audit_sequence';
  const residual: Record<string, string> = {};
  for (const k of Object.keys(base)) {
    if (k !== lead && !(index === 'audit_time' && k === 'occurredAt')) residual[k] = `evaluated over the events selected by ${index}`;
  }
  const hasResidual = Object.keys(residual).length > 0;
  const pageFilter = afterSequence === null ? base : { ...base, sequence: { $lt: afterSequence } };
  const page: FindSpec = { collection: COLLECTIONS.audit, filter: pageFilter, sort: { sequence: -1 }, limit: first + 1, index };
  const pageResidual = index === 'audit_time' && afterSequence !== null ? { ...residual, sequence: 'evaluated over the events of the time range' } : residual;
  if (Object.keys(pageResidual).length > 0) page.residual = pageResidual;
  if (index === 'audit_time') page.inMemorySort = 'sorts the events of the requested time range';
  const count: CountSpec = { collection: COLLECTIONS.audit, filter: base, index };
  if (hasResidual) count.residual = residual;
  return { page, count };
}

// ---- api tokens ----

export function tokenByHashQuery(secretHash: string): FindSpec {
  return { collection: COLLECTIONS.tokens, filter: { secretHash }, limit: 1, index: 'tokens_secret' };
}

export function listTokensQuery(): FindSpec {
  return { collection: COLLECTIONS.tokens, filter: {}, sort: { createdAt: -1, _id: -1 }, index: 'tokens_created' };
}

/** Revocation sets `revokedAt` once: the first spec applies only while unset, the second marks an already revoked token. */
export function revokeTokenUpdates(id: string, revokedAt: Date, marker: PendingMarker): [UpdateSpec, UpdateSpec] {
  const first = markedUpdate(COLLECTIONS.tokens, id, { revokedAt }, marker);
  return [
    { ...first, filter: { ...first.filter, revokedAt: null }, residual: { ...first.residual, revokedAt: ONE_DOC } },
    markedUpdate(COLLECTIONS.tokens, id, {}, marker),
  ];
}

export function touchTokenUpdate(id: string, lastUsedAt: Date): UpdateSpec {
  return { collection: COLLECTIONS.tokens, filter: { _id: id }, update: { $max: { lastUsedAt } }, index: '_id_' };
}

/** The owner gives up its own undecided reservation (no lease: it is the owner). */
export function releaseIntent(collection: CollectionName, id: string, markerId: string): UpdateSpec {
  return {
    collection, filter: { _id: id, 'pending.id': markerId, 'pending.phase': 'intent' }, update: { $unset: { pending: '', pendingAt: '' } },
    index: '_id_', residual: { 'pending.id': ONE_DOC, 'pending.phase': ONE_DOC },
  };
}
