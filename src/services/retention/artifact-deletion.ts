import type { ModelVersion } from '../../domain/model.js';
import { DEFAULT_RETENTION_DAYS, purgeRefusal } from '../../domain/retention.js';
import type { ServiceDeps } from '../service-deps.js';
import { artifactTarget } from '../version.service.js';

/**
 * The ONLY way services delete a version's artifacts (test/unit/retention-guard.test.ts checks
 * that no other service calls `artifacts.discard`). Bytes of a verified version (READY or
 * ARCHIVED) are never deleted, except by a purge that is already recorded in the store
 * (`purgedAt` set) of an ARCHIVED version past retention and not on hold.
 *
 * - `failed`: a version the caller has just moved to FAILED (verification failed, upload expired):
 *   its bytes were never verified, so retention does not cover them.
 * - `purged`: the version as the store recorded its purge.
 */
export async function deleteVersionArtifacts(
  deps: Pick<ServiceDeps, 'artifacts' | 'now' | 'settings'>,
  version: ModelVersion,
  why: 'failed' | 'purged',
): Promise<void> {
  const refusal = deletionRefusal(version, why, deps.settings.retentionDays ?? DEFAULT_RETENTION_DAYS, deps.now());
  if (refusal !== null) throw new Error(`refusing to delete the artifacts of version ${version.id}: ${refusal}`);
  await deps.artifacts.discard(version.artifacts.map((a) => artifactTarget(version, a)));
}

function deletionRefusal(version: ModelVersion, why: 'failed' | 'purged', retentionDays: number, now: Date): string | null {
  if (why === 'failed') return version.status === 'FAILED' ? null : `it is ${version.status}, not FAILED`;
  if (version.purgedAt === null) return 'its purge is not recorded';
  return purgeRefusal(version, retentionDays, now);
}
