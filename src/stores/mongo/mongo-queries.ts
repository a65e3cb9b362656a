import type { Document } from 'mongodb';
import type { SortDirection, VersionStatus } from '../../domain/model.js';
import { scopeAllows, scopeRange } from '../../domain/token.js';
import type { AuditFilter } from '../registry.store.js';
import { COLLECTIONS, type CollectionName } from './mongo-documents.js';
import { PENDING_FILTER, pendingIndexName } from './mongo-indexes.js';

/**
 * Every read the Mongo store sends, as pure data (updates: mongo-updates.ts). Each spec names the index that
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
  /** Only these fields (a covered query when they are all in the index). */
  projection?: Document;
  /** Overrides the database's read concern for this read (the audit head: local; pointer reads: optionally linearizable). */
  readConcern?: 'local' | 'linearizable';
}

export interface CountSpec {
  collection: CollectionName;
  filter: Document;
  index: string;
  residual?: Readonly<Record<string, string>>;
}

// ---- models ----

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A token's model scope as conditions on a name field: the exact name, or the half-open range of a prefix. */
function scopeConditions(scope: string): Document {
  const range = scopeRange(scope);
  return 'exact' in range ? { $eq: range.exact } : { $gte: range.from, $lt: range.to };
}

/** listModels: by name (the `_id` index): the scope is a range of it, `search` a regex matched on index keys. */
export function listModelsQuery(
  filter: { search: string | null; scope?: string | null }, afterName: string | null, first: number,
): { page: FindSpec; count: CountSpec } {
  const byName: Document = {
    ...(filter.search !== null && { $regex: escapeRegex(filter.search) }),
    ...(filter.scope && scopeConditions(filter.scope)),
  };
  const countFilter = Object.keys(byName).length === 0 ? {} : { _id: byName };
  const pageFilter = afterName === null ? countFilter : { _id: { ...byName, $gt: afterName } };
  return {
    page: { collection: COLLECTIONS.models, filter: pageFilter, sort: { _id: 1 }, limit: first + 1, index: '_id_' },
    count: { collection: COLLECTIONS.models, filter: countFilter, index: '_id_' },
  };
}

// ---- versions ----

/** The model's highest number: the next registration takes it + 1. */
export function maxNumberQuery(modelName: string): FindSpec {
  // Covered by the index: only the number is read, never the (possibly large) version document.
  return {
    collection: COLLECTIONS.versions, filter: { modelName }, sort: { number: -1 }, limit: 1, index: 'versions_model_number',
    projection: { _id: 0, number: 1 },
  };
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

/** A version by its number: an equality on the unique (modelName, number) index. */
export function versionByNumberQuery(modelName: string, number: number): FindSpec {
  return { collection: COLLECTIONS.versions, filter: { modelName, number }, limit: 1, index: 'versions_model_number' };
}

export function latestVersionQuery(modelName: string, status: VersionStatus | null): FindSpec {
  return { ...listVersionsQuery({ modelName, status }, null, 0).page, limit: 1 };
}

/** stalePendingVersions: PENDING_UPLOAD versions registered before a time, oldest first (a partial index of pending versions by age). */
export function stalePendingQuery(createdBefore: Date, limit: number): FindSpec {
  return {
    collection: COLLECTIONS.versions,
    filter: { status: 'PENDING_UPLOAD', createdAt: { $lt: createdBefore } },
    sort: { createdAt: 1 },
    limit,
    index: 'versions_pending_by_age',
    residual: { status: 'the partial filter of the index: it holds PENDING_UPLOAD versions only' },
  };
}

/**
 * rankVersions, first part: verified versions having the metric, best first, from one index;
 * after a position (value, number): the range up to its value, less its ties at or above its number.
 */
export function rankQuery(q: { modelName: string; metric: string; direction: SortDirection; limit: number; after?: { value: number; number: number } | null }): FindSpec {
  const value = q.direction === 'ASC' ? 1 : -1;
  const base = { modelName: q.modelName, name: q.metric, verified: true };
  const filter = q.after
    ? { ...base, value: { [q.direction === 'ASC' ? '$gte' : '$lte']: q.after.value }, $nor: [{ value: q.after.value, number: { $gte: q.after.number } }] }
    : base;
  return {
    collection: COLLECTIONS.versionMetrics,
    filter,
    sort: { value, number: -1 },
    limit: q.limit,
    index: q.direction === 'ASC' ? 'metrics_rank_asc' : 'metrics_rank_desc',
    ...(q.after ? { residual: { $nor: 'skips only the ties at the cursor value already given (at most one page)' } } : {}),
  };
}

/**
 * rankVersions, second part (only when fewer than `limit` versions have the metric): versions in
 * `statuses` lacking it, higher number first. The `metrics.name` test skips only versions that
 * have the metric, and there are fewer than `limit` of those, so the scan is O(limit).
 */
export function unrankedQuery(q: { modelName: string; metric: string; statuses: readonly VersionStatus[]; limit: number; beforeNumber?: number | null }): FindSpec {
  const base = { modelName: q.modelName, status: { $in: [...q.statuses] }, 'metrics.name': { $ne: q.metric } };
  return {
    collection: COLLECTIONS.versions,
    filter: q.beforeNumber == null ? base : { ...base, number: { $lt: q.beforeNumber } },
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

/**
 * Every document with a pending marker: the partial `*_pending` index, the only index on `pendingAt`,
 * so the planner has no other candidate. Narrowing (one model, one version) is done on the few
 * documents returned, never in the filter, so no other index can look more attractive.
 */
export function pendingQuery(collection: CollectionName): FindSpec {
  return { collection, filter: { ...PENDING_FILTER }, index: pendingIndexName(collection) };
}

/**
 * Markers older than `cutoff`: writes that committed but are still not finished (or reservations
 * not decided) after the grace period. The partial `*_pending` index (its filter is part of this one).
 */
export function unfinishedCountQuery(collection: CollectionName, cutoff: Date): CountSpec {
  return { collection, filter: { pendingAt: { ...PENDING_FILTER.pendingAt, $lt: cutoff } }, index: pendingIndexName(collection) };
}

// ---- deployment pointers ----

export function pointersForVersionsQuery(versionIds: readonly string[]): FindSpec {
  return {
    collection: COLLECTIONS.pointers,
    filter: { versionId: { $in: [...versionIds] } },
    sort: { environment: 1 },
    index: 'pointers_version',
    inMemorySort: 'sorts the pointers of the given versions only (at most one per environment each)',
  };
}

/** allPointers, one batch: pointers of the models after `afterModel`, in (model, environment) order. */
export function pointersPageQuery(afterModel: string | null, batch: number): FindSpec {
  return {
    collection: COLLECTIONS.pointers,
    filter: afterModel === null ? {} : { modelName: { $gt: afterModel } },
    sort: { modelName: 1, environment: 1 },
    limit: batch,
    index: 'pointers_model_env',
  };
}

/** allPointers, a model cut by a batch boundary: all of its pointers (one per environment). */
export function pointersOfModelQuery(modelName: string): FindSpec {
  return { collection: COLLECTIONS.pointers, filter: { modelName }, sort: { environment: 1 }, index: 'pointers_model_env' };
}

// ---- deployments ----

export function listDeploymentsQuery(
  f: { modelName: string; environment: string | null; versionId: string | null; status: 'SUCCEEDED' | 'FAILED' | null },
  afterSeq: number | null,
  first: number,
): { page: FindSpec; count: DeploymentCount } {
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
  const page: FindSpec = { collection: COLLECTIONS.deployments, filter: pageFilter, sort: { seq: -1 }, limit: first + 1, index, ...(residual && { residual }) };
  if (f.versionId !== null) return { page, count: { collection: COLLECTIONS.deployments, filter: base, index, ...(residual && { residual }) } };
  // SUCCEEDED deployments of a (model, environment) are numbered by the pointer's revision 1..n
  // (one per revision: deployments_revision), so their total is the pointers' revisions; FAILED
  // ones are counted from their own index range. No count over the model's whole history.
  const where: Document = f.environment === null ? { modelName: f.modelName } : { modelName: f.modelName, environment: f.environment };
  return {
    page,
    count: {
      revisions: f.status === 'FAILED' ? null
        : { collection: COLLECTIONS.pointers, filter: where, index: 'pointers_model_env', projection: { _id: 0, revision: 1 } },
      failed: f.status === 'SUCCEEDED' ? null
        : {
          collection: COLLECTIONS.deployments, filter: { ...where, status: 'FAILED' },
          index: f.environment === null ? 'deployments_model_status_seq' : 'deployments_model_env_status_seq',
        },
    },
  };
}

/** A deployment page's total: a count over an index range, or the pointers' revisions plus the FAILED ones. */
export type DeploymentCount = CountSpec | { revisions: FindSpec | null; failed: CountSpec | null };

// ---- audit ----

export function auditHeadQuery(): FindSpec {
  return { collection: COLLECTIONS.audit, filter: {}, sort: { sequence: -1 }, limit: 1, index: 'audit_sequence' };
}

/** One event by its sequence (the upgrade's anchoring of older tokens). */
export function auditBySequenceQuery(sequence: number): FindSpec {
  return { collection: COLLECTIONS.audit, filter: { sequence }, limit: 1, index: 'audit_sequence' };
}

export function auditAscendingQuery(afterSequence: number, batch: number): FindSpec {
  return { collection: COLLECTIONS.audit, filter: { sequence: { $gt: afterSequence } }, sort: { sequence: 1 }, limit: batch, index: 'audit_sequence' };
}

export interface DistinctSpec {
  collection: CollectionName;
  field: string;
  filter: Document;
  index: string;
}

/** The model names in the audit log that a prefix scope allows: a DISTINCT_SCAN of `audit_model_sequence`, O(names). */
export function auditScopeNamesQuery(scope: string): DistinctSpec {
  return { collection: COLLECTIONS.audit, field: 'modelName', filter: { modelName: scopeConditions(scope) }, index: 'audit_model_sequence' };
}

/**
 * The models an audit query is limited to: null for none; otherwise the names (possibly none) that
 * both `modelName` and the token scope allow. `namesInScope` is the answer of auditScopeNamesQuery,
 * needed only for a prefix scope without a model name.
 */
export function auditModelNames(f: Pick<AuditFilter, 'modelName' | 'modelScope'>, namesInScope: readonly string[] | null): string[] | null {
  const scope = f.modelScope ?? null;
  if (scope === null) return f.modelName === null ? null : [f.modelName];
  if (f.modelName !== null) return scopeAllows(scope, f.modelName) ? [f.modelName] : [];
  const range = scopeRange(scope);
  if ('exact' in range) return [range.exact];
  if (namesInScope === null) throw new Error('a prefix scope needs the model names in scope (auditScopeNamesQuery)');
  return [...namesInScope];
}

/**
 * Above this many model names, a prefix scope is not sent as `modelName $in names`: the planner
 * merge-sorts at most ~200 index ranges by sequence (internalQueryMaxScansToExplode); past that it
 * would sort every in-scope event. The scope's name range is then a residual instead.
 */
export const MAX_MERGED_MODEL_NAMES = 100;

/**
 * listAuditEvents, with the model restriction resolved by auditModelNames. One equality field picks
 * the index: models (one name, or `$in` of the names in scope, merge-sorted by sequence), else
 * actor, else action; the others are residual. Without any of them (only a time range, a wide
 * prefix scope given as `modelRange`, a hidden prefix) the page walks `audit_sequence` newest
 * first with the rest as residual: O(page + events skipped), never a sort of a whole range.
 * Counts use the narrowest index range: the names or the scope's range of `audit_model_sequence`,
 * the time range of `audit_time`, or the head's sequence when nothing filters.
 */
export function listAuditQuery(
  f: Omit<AuditFilter, 'modelName' | 'modelScope'>, modelNames: readonly string[] | null, afterSequence: number | null, first: number,
  modelRange: { from: string; to: string } | null = null,
): { page: FindSpec; count: AuditCount } {
  const base: Document = {};
  const hidden = f.hiddenActionPrefix || null;
  if (modelNames !== null) base.modelName = modelNames.length === 1 ? modelNames[0] : { $in: [...modelNames] };
  else if (modelRange !== null) base.modelName = { $gte: modelRange.from, $lt: modelRange.to };
  if (f.actor !== null) base.actor = f.actor;
  if (f.action !== null) base.action = hidden !== null && f.action.startsWith(hidden) ? { $in: [] } : f.action;
  else if (hidden !== null) base.action = { $not: actionPrefixRange(hidden) };
  if (f.since !== null || f.until !== null) {
    base.occurredAt = { ...(f.since !== null && { $gte: f.since }), ...(f.until !== null && { $lt: f.until }) };
  }
  const lead = modelNames !== null ? 'modelName' : f.actor !== null ? 'actor' : f.action !== null ? 'action' : null;
  const index = lead === 'modelName' ? 'audit_model_sequence' : lead === 'actor' ? 'audit_actor_sequence' : lead === 'action' ? 'audit_action_sequence'
    : 'audit_sequence';
  const residualOf = (idx: string, leading: string | null): Record<string, string> => {
    const r: Record<string, string> = {};
    for (const k of Object.keys(base)) if (k !== leading) r[k] = `evaluated over the events selected by ${idx}`;
    if (idx === 'audit_sequence') {
      for (const k of Object.keys(r)) r[k] = 'evaluated while walking the chain newest first: O(page + events skipped)';
    }
    return r;
  };
  const residual = residualOf(index, lead);
  const pageFilter = afterSequence === null ? base : { ...base, sequence: { $lt: afterSequence } };
  const page: FindSpec = { collection: COLLECTIONS.audit, filter: pageFilter, sort: { sequence: -1 }, limit: first + 1, index };
  if (Object.keys(residual).length > 0) page.residual = residual;
  // Without a filter (a hidden prefix aside), the gap-free chain's head sequence is the total: less
  // the hidden events, counted from their own index range. No count over the whole log.
  const unfiltered = modelNames === null && modelRange === null && f.actor === null && f.action === null && f.since === null && f.until === null;
  if (unfiltered) return { page, count: { fromHead: true, minus: hidden === null ? null : hiddenActionsCountQuery(hidden) } };
  // A count needs no order: the narrowest range among the scope's names, the time range, or the page's index.
  const countIndex = lead !== null ? index : modelRange !== null ? 'audit_model_sequence' : base.occurredAt !== undefined ? 'audit_time' : index;
  const countLead = lead ?? (countIndex === 'audit_model_sequence' ? 'modelName' : countIndex === 'audit_time' ? 'occurredAt' : null);
  const count: CountSpec = { collection: COLLECTIONS.audit, filter: base, index: countIndex };
  const countResidual = residualOf(countIndex, countLead);
  if (Object.keys(countResidual).length > 0) count.residual = countResidual;
  return { page, count };
}

/** The actions starting with `prefix`: a range of action strings (actions are ASCII names). */
function actionPrefixRange(prefix: string): Document {
  return { $gte: prefix, $lt: `${prefix}\uffff` };
}

/** How many events a hidden action prefix leaves out of the whole log: a range of `audit_action_sequence`. */
export function hiddenActionsCountQuery(prefix: string): CountSpec {
  return { collection: COLLECTIONS.audit, filter: { action: actionPrefixRange(prefix) }, index: 'audit_action_sequence' };
}

/** A page's total: a count over an index range, or the chain's head sequence less a count of hidden events. */
export type AuditCount = CountSpec | { fromHead: true; minus: CountSpec | null };

// ---- api tokens ----

export function tokenByHashQuery(secretHash: string): FindSpec {
  return { collection: COLLECTIONS.tokens, filter: { secretHash }, limit: 1, index: 'tokens_secret' };
}

export function listTokensQuery(): FindSpec {
  return { collection: COLLECTIONS.tokens, filter: {}, sort: { createdAt: -1, _id: -1 }, index: 'tokens_created' };
}

