import { InvalidArgumentError } from './errors.js';
import { type Labels, checkLabels } from './lineage.js';
import { LIMITS } from './limits.js';
import { type ModelVersion, type SortDirection, VERSION_STATUSES, type VersionStatus } from './model.js';
import { metricValue } from './policy.js';
import { checkFiniteNumber, checkMetricName, checkTags, checkText } from './validation.js';

/**
 * modelVersions(filter, orderBy): the search over one model's versions, as plain data. Every part
 * of the filter must hold (AND); within `statuses` any (OR); `tags` and `labels` must all be present.
 */
export interface VersionFilter {
  statuses: VersionStatus[] | null;
  tags: string[];
  labels: Labels;
  datasetVersion: string | null;
  /** Inclusive. */
  createdAfter: Date | null;
  /** Exclusive. */
  createdBefore: Date | null;
  createdBy: string | null;
  /** Versions having the metric, within the bounds (inclusive) given. */
  metric: { name: string; gte: number | null; lte: number | null } | null;
}

export type VersionOrderField = 'NUMBER' | 'CREATED_AT' | 'METRIC';

/**
 * NUMBER: by number. CREATED_AT: by registration time, ties by number in the same direction.
 * METRIC: by the metric's value, ties by number in the same direction; versions lacking the
 * metric are left out (a ranking with holes is not a ranking).
 */
export interface VersionOrder {
  by: VersionOrderField;
  metric: string | null;
  direction: SortDirection;
}

export interface VersionSearch {
  modelName: string;
  filter: VersionFilter;
  order: VersionOrder;
}

/** The position of a version in an order: the keyset the cursors carry. */
export type SearchPosition =
  | { by: 'NUMBER'; number: number }
  | { by: 'CREATED_AT'; createdAt: number; number: number }
  | { by: 'METRIC'; value: number; number: number };

export const EMPTY_FILTER: VersionFilter = {
  statuses: null, tags: [], labels: {}, datasetVersion: null, createdAfter: null, createdBefore: null, createdBy: null, metric: null,
};
export const DEFAULT_ORDER: VersionOrder = { by: 'NUMBER', metric: null, direction: 'DESC' };

export interface VersionFilterInput {
  statuses?: string[] | null;
  tags?: string[] | null;
  labels?: unknown;
  datasetVersion?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  createdBy?: string | null;
  metric?: { name: string; gte?: number | null; lte?: number | null } | null;
}

export function checkVersionFilter(field: string, input: VersionFilterInput | null | undefined): VersionFilter {
  if (!input) return EMPTY_FILTER;
  let statuses: VersionStatus[] | null = null;
  if (input.statuses) {
    if (input.statuses.length === 0) throw new InvalidArgumentError(`${field}.statuses`, 'must list at least one status (or be left out)');
    for (const s of input.statuses) if (!(VERSION_STATUSES as readonly string[]).includes(s)) throw new InvalidArgumentError(`${field}.statuses`, `unknown status ${s}`);
    statuses = [...new Set(input.statuses as VersionStatus[])].sort();
  }
  const tags = input.tags ? [...new Set(checkTags(`${field}.tags`, input.tags))] : [];
  const labels = checkLabels(`${field}.labels`, input.labels);
  const createdAfter = input.createdAfter ?? null;
  const createdBefore = input.createdBefore ?? null;
  let metric: VersionFilter['metric'] = null;
  if (input.metric) {
    const gte = input.metric.gte ?? null;
    const lte = input.metric.lte ?? null;
    if (gte !== null) checkFiniteNumber(`${field}.metric.gte`, gte);
    if (lte !== null) checkFiniteNumber(`${field}.metric.lte`, lte);
    metric = { name: checkMetricName(`${field}.metric.name`, input.metric.name), gte, lte };
  }
  return {
    statuses,
    tags,
    labels,
    datasetVersion: input.datasetVersion == null ? null : checkText(`${field}.datasetVersion`, input.datasetVersion, LIMITS.datasetVersionChars),
    createdAfter,
    createdBefore,
    createdBy: input.createdBy == null ? null : checkText(`${field}.createdBy`, input.createdBy, 200),
    metric,
  };
}

export function checkVersionOrder(
  field: string, input: { by?: string | null; metric?: string | null; direction?: string | null } | null | undefined, primaryMetric: string,
): VersionOrder {
  if (!input) return DEFAULT_ORDER;
  const by = (input.by ?? 'NUMBER') as VersionOrderField;
  if (!['NUMBER', 'CREATED_AT', 'METRIC'].includes(by)) throw new InvalidArgumentError(`${field}.by`, `unknown order ${String(by)}`);
  const direction = (input.direction ?? 'DESC') as SortDirection;
  if (by !== 'METRIC' && input.metric != null) throw new InvalidArgumentError(`${field}.metric`, 'is only for by: METRIC');
  const metric = by === 'METRIC' ? checkMetricName(`${field}.metric`, input.metric ?? primaryMetric) : null;
  return { by, metric, direction };
}

/** A version's position in an order (the metric's value must exist for METRIC). */
export function positionOf(v: ModelVersion, order: VersionOrder): SearchPosition {
  if (order.by === 'NUMBER') return { by: 'NUMBER', number: v.number };
  if (order.by === 'CREATED_AT') return { by: 'CREATED_AT', createdAt: v.createdAt.getTime(), number: v.number };
  return { by: 'METRIC', value: metricValue(v.metrics, order.metric!) ?? Number.NaN, number: v.number };
}
