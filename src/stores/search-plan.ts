import { labelPair } from '../domain/lineage.js';
import type { VersionSearch } from '../domain/version-search.js';

/**
 * Which index a search walks (the "driver"), the same choice on both engines (docs/queries.md):
 * - order METRIC: the per-(version, metric) index (model, metric name, value, number), bounded by
 *   the filter's range when the filter names the same metric;
 * - order CREATED_AT: (model, createdAt, number), bounded by createdAfter / createdBefore;
 * - order NUMBER: the most selective equality the filter gives, each an index ending in number:
 *   a label, else a tag, else the dataset version, else the creator, else one status, else (model, number).
 * Every other condition is checked on the rows of that walk (residual), in the same query.
 */
export type SearchDriver =
  | { kind: 'metric'; name: string; gte: number | null; lte: number | null }
  | { kind: 'created' }
  | { kind: 'label'; pair: string }
  | { kind: 'tag'; tag: string }
  | { kind: 'dataset'; value: string }
  | { kind: 'creator'; value: string }
  | { kind: 'status'; status: string }
  | { kind: 'number' };

export function searchDriver(search: VersionSearch): SearchDriver {
  const { filter: f, order } = search;
  if (order.by === 'METRIC') {
    const same = f.metric !== null && f.metric.name === order.metric;
    return { kind: 'metric', name: order.metric!, gte: same ? f.metric!.gte : null, lte: same ? f.metric!.lte : null };
  }
  if (order.by === 'CREATED_AT') return { kind: 'created' };
  return numberDriver(search);
}

/** The driver of an order by number (also what a count of a metric order walks on MongoDB). */
export function numberDriver(search: VersionSearch): SearchDriver {
  const f = search.filter;
  const [firstLabel] = Object.entries(f.labels);
  if (firstLabel) return { kind: 'label', pair: labelPair(firstLabel[0], firstLabel[1]) };
  if (f.tags.length > 0) return { kind: 'tag', tag: f.tags[0]! };
  if (f.datasetVersion !== null) return { kind: 'dataset', value: f.datasetVersion };
  if (f.createdBy !== null) return { kind: 'creator', value: f.createdBy };
  if (f.statuses !== null && f.statuses.length === 1) return { kind: 'status', status: f.statuses[0]! };
  return { kind: 'number' };
}

/** The labels as "key=value" pairs, the form both engines index. */
export function filterPairs(search: VersionSearch): string[] {
  return Object.entries(search.filter.labels).map(([k, v]) => labelPair(k, v));
}
