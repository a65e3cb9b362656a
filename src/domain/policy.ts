import type { Metric } from './model.js';

export interface ImprovementPolicy {
  metric: string;
  minRatio: number;
}

/**
 * Promotion policy: the candidate passes if candidate.metric >= production.metric * minRatio,
 * or if nothing is deployed. A deployed version lacking the metric fails the check: the policy
 * cannot be shown to hold. Returns the reason it fails, or null when it passes.
 */
export function improvementShortfall(
  policy: ImprovementPolicy,
  candidate: { id: string; metrics: readonly Metric[] },
  current: { id: string; metrics: readonly Metric[] } | null,
): string | null {
  const value = metricValue(candidate.metrics, policy.metric);
  if (value === null) return `candidate ${candidate.id} has no metric "${policy.metric}"`;
  if (current === null) return null;
  const base = metricValue(current.metrics, policy.metric);
  if (base === null) return `deployed version ${current.id} has no metric "${policy.metric}" to compare against`;
  const required = base * policy.minRatio;
  if (value >= required) return null;
  return `${policy.metric} ${value} of ${candidate.id} is below the required ${required} (${current.id}'s ${base} × minRatio ${policy.minRatio})`;
}

export function metricValue(metrics: readonly Metric[], name: string): number | null {
  for (const m of metrics) if (m.name === name) return m.value;
  return null;
}
