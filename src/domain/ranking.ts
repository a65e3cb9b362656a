import type { ModelVersion, SortDirection } from './model.js';
import { metricValue } from './policy.js';

/**
 * The ranking order of compareVersions: by the metric in `direction`, ties broken by the higher
 * version number; versions lacking the metric last, higher number first. Stores that rank from an
 * index must give the same order.
 */
export function compareByMetric(metric: string, direction: SortDirection): (a: ModelVersion, b: ModelVersion) => number {
  return (a, b) => {
    const va = metricValue(a.metrics, metric);
    const vb = metricValue(b.metrics, metric);
    if (va === null || vb === null) return va === vb ? b.number - a.number : va === null ? 1 : -1;
    if (va !== vb) return direction === 'ASC' ? va - vb : vb - va;
    return b.number - a.number;
  };
}

/** Where a ranking page ended: the last version's value of the metric (null: it lacked it) and its number. */
export interface RankPosition {
  value: number | null;
  number: number;
}

/** True for a version that comes after `position` in the order of compareByMetric (for keyset pages). */
export function ranksAfter(metric: string, direction: SortDirection, position: RankPosition): (v: ModelVersion) => boolean {
  const order = compareByMetric(metric, direction);
  const at = { metrics: position.value === null ? [] : [{ name: metric, value: position.value }], number: position.number } as unknown as ModelVersion;
  return (v) => order(at, v) < 0;
}
