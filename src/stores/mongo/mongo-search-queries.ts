import type { Document } from 'mongodb';
import type { SearchPosition, VersionSearch } from '../../domain/version-search.js';
import { type SearchDriver, filterPairs, numberDriver, searchDriver } from '../search-plan.js';
import { COLLECTIONS } from './mongo-documents.js';
import type { CountSpec, FindSpec } from './mongo-queries.js';

/**
 * The reads of searchVersions (plan: ../search-plan.ts, docs/queries.md). The driver's condition
 * is the index prefix; every other condition is residual: checked on the documents of that one
 * index range, in the same query. test/unit/mongo-search-queries.test.ts evaluates them with mingo
 * against a brute-force reference; test/unit/mongo-queries.test.ts checks their index fit.
 */

const RESIDUAL = "checked on the documents of the driver's index range (docs/queries.md)";
const KEYSET = 'skips only the ties at the cursor position already given (at most one page)';

const DRIVER_INDEX: Record<Exclude<SearchDriver['kind'], 'metric'>, string> = {
  created: 'versions_model_created_number',
  label: 'versions_model_label_number',
  tag: 'versions_model_tag_number',
  dataset: 'versions_model_dataset_number',
  creator: 'versions_model_creator_number',
  status: 'versions_model_status_number',
  number: 'versions_model_number',
};

function driverCondition(d: SearchDriver): Document {
  switch (d.kind) {
    case 'label': return { labelPairs: d.pair };
    case 'tag': return { tags: d.tag };
    case 'dataset': return { datasetVersion: d.value };
    case 'creator': return { createdBy: d.value };
    case 'status': return { status: d.status };
    default: return {};
  }
}

/** The residual conditions (everything but the driver's equality), with the fields they touch. */
function residual(search: VersionSearch, d: SearchDriver, withOrderMetric: boolean): { filter: Document; fields: string[] } {
  const f = search.filter;
  const and: Document[] = [];
  if (f.statuses && d.kind !== 'status') and.push({ status: { $in: f.statuses } });
  for (const t of f.tags) if (!(d.kind === 'tag' && d.tag === t)) and.push({ tags: t });
  for (const p of filterPairs(search)) if (!(d.kind === 'label' && d.pair === p)) and.push({ labelPairs: p });
  if (f.datasetVersion !== null && d.kind !== 'dataset') and.push({ datasetVersion: f.datasetVersion });
  if (f.createdBy !== null && d.kind !== 'creator') and.push({ createdBy: f.createdBy });
  if (d.kind !== 'created') {
    if (f.createdAfter) and.push({ createdAt: { $gte: f.createdAfter } });
    if (f.createdBefore) and.push({ createdAt: { $lt: f.createdBefore } });
  }
  if (f.metric) {
    const value: Document = { ...(f.metric.gte !== null && { $gte: f.metric.gte }), ...(f.metric.lte !== null && { $lte: f.metric.lte }) };
    and.push({ metrics: { $elemMatch: { name: f.metric.name, ...(Object.keys(value).length > 0 && { value }) } } });
  }
  if (withOrderMetric && search.order.metric) and.push({ 'metrics.name': search.order.metric });
  return and.length === 0 ? { filter: {}, fields: [] } : { filter: { $and: and }, fields: ['$and'] };
}

/** The created-time range of a CREATED_AT walk (index key, not residual). */
function createdRange(search: VersionSearch): Document {
  const f = search.filter;
  const range: Document = { ...(f.createdAfter && { $gte: f.createdAfter }), ...(f.createdBefore && { $lt: f.createdBefore }) };
  return Object.keys(range).length === 0 ? {} : { createdAt: range };
}

/** A page (limit first + 1) and the count, for orders by NUMBER and CREATED_AT: one query on the versions. */
export function searchVersionsQuery(search: VersionSearch, after: SearchPosition | null, limit: number): { page: FindSpec; count: CountSpec } {
  const d = searchDriver(search);
  if (d.kind === 'metric') throw new Error('an order by metric walks version_metrics: searchMetricQuery');
  const dir = search.order.direction === 'ASC' ? 1 : -1;
  const rest = residual(search, d, false);
  const base: Document = { modelName: search.modelName, ...driverCondition(d), ...(d.kind === 'created' ? createdRange(search) : {}), ...rest.filter };
  const reasons: Record<string, string> = Object.fromEntries(rest.fields.map((k) => [k, RESIDUAL]));
  let page: Document = base;
  if (after?.by === 'NUMBER') page = { ...base, number: { [dir === 1 ? '$gt' : '$lt']: after.number } };
  if (after?.by === 'CREATED_AT') {
    const at = new Date(after.createdAt);
    const bound = { ...(base.createdAt as Document | undefined), [dir === 1 ? '$gte' : '$lte']: at };
    page = { ...base, createdAt: bound, $nor: [{ createdAt: at, number: { [dir === 1 ? '$lte' : '$gte']: after.number } }] };
    reasons.$nor = KEYSET;
  }
  const sort: Record<string, 1 | -1> = d.kind === 'created' ? { createdAt: dir, number: dir } : { number: dir };
  const index = DRIVER_INDEX[d.kind];
  return {
    page: { collection: COLLECTIONS.versions, filter: page, sort, limit, index, ...(Object.keys(reasons).length > 0 && { residual: reasons }) },
    count: { collection: COLLECTIONS.versions, filter: base, index, ...(rest.fields.length > 0 && { residual: { $and: RESIDUAL } }) },
  };
}

/** An order by METRIC, step 1: a batch of (version, value) from the metric index, from the position on. */
export function searchMetricQuery(search: VersionSearch, after: { value: number; number: number } | null, batch: number): FindSpec {
  const d = searchDriver(search);
  if (d.kind !== 'metric') throw new Error('searchMetricQuery is for orders by metric');
  const dir = search.order.direction === 'ASC' ? 1 : -1;
  const value: Document = { ...(d.gte !== null && { $gte: d.gte }), ...(d.lte !== null && { $lte: d.lte }) };
  if (after) value[dir === 1 ? '$gte' : '$lte'] = after.value;
  const filter: Document = { modelName: search.modelName, name: d.name, ...(Object.keys(value).length > 0 && { value }) };
  if (after) filter.$nor = [{ value: after.value, number: { [dir === 1 ? '$lte' : '$gte']: after.number } }];
  return {
    collection: COLLECTIONS.versionMetrics, filter, sort: { value: dir, number: dir }, limit: batch, index: 'metrics_search',
    ...(after && { residual: { $nor: KEYSET } }),
  };
}

/** Step 2: those versions (by `_id`) that pass the rest of the filter. */
export function searchMetricVersionsQuery(search: VersionSearch, ids: readonly string[]): FindSpec {
  const rest = residual(search, { kind: 'number' }, false);
  return {
    collection: COLLECTIONS.versions, filter: { _id: { $in: [...ids] }, ...rest.filter }, index: '_id_',
    ...(rest.fields.length > 0 && { residual: { $and: 'checked on the batch of versions the metric index gave (at most one batch)' } }),
  };
}

/** The count of an order by METRIC: the versions having the metric that pass the filter, on the walk an order by number would take. */
export function searchMetricCountQuery(search: VersionSearch): CountSpec {
  const d = numberDriver(search);
  const rest = residual(search, d, true);
  return {
    collection: COLLECTIONS.versions, filter: { modelName: search.modelName, ...driverCondition(d), ...rest.filter }, index: DRIVER_INDEX[d.kind as Exclude<SearchDriver['kind'], 'metric'>],
    ...(rest.fields.length > 0 && { residual: { $and: RESIDUAL } }),
  };
}
