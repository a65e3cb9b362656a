/**
 * Retention and legal hold: pure rules, no I/O. A version's artifacts are under retention for
 * `retentionDays` counted from the version's createdAt (its registration; immutable, so every
 * process computes the same date). Nothing under retention or on legal hold is deleted by any API.
 */
import type { ModelVersion } from './model.js';

const DAY_MS = 86_400_000;

/** The first instant at which the version's artifacts may be purged. */
export function retentionEnds(version: Pick<ModelVersion, 'createdAt'>, retentionDays: number): Date {
  return new Date(version.createdAt.getTime() + retentionDays * DAY_MS);
}

/** Why the version's artifacts cannot be purged at `now`, written for the client; null when they can. */
export function purgeRefusal(
  version: Pick<ModelVersion, 'id' | 'status' | 'createdAt' | 'legalHold'>, retentionDays: number, now: Date,
): string | null {
  if (version.status !== 'ARCHIVED') return `Version ${version.id} is ${version.status}; only ARCHIVED versions can be purged`;
  if (version.legalHold) return legalHoldRefusal(version.id, 'purged', version.legalHold.reason);
  const ends = retentionEnds(version, retentionDays);
  if (now.getTime() < ends.getTime()) return `Version ${version.id} is under retention until ${ends.toISOString()}; it cannot be purged before then`;
  return null;
}

export function legalHoldRefusal(versionId: string, what: 'archived' | 'purged', reason: string): string {
  return `Version ${versionId} is on legal hold ("${reason}"); it cannot be ${what} until the hold is released`;
}

/** Seven years (7 × 365 + 2 leap days): REGISTRY_RETENTION_DAYS when not set. */
export const DEFAULT_RETENTION_DAYS = 2557;
