import type { StagedGroup } from '../../artifacts/artifact.store.js';
import { AuditAction } from '../../domain/audit-actions.js';
import type { ModelVersion } from '../../domain/model.js';
import type { ServiceDeps } from '../service-deps.js';

/** Versions looked at per run; the next run takes the rest. */
export const CLEANUP_BATCH = 100;

export interface ExpiredUpload {
  version: ModelVersion;
  /** When the last upload URLs issued for it expired. */
  uploadUrlsExpiredAt: Date;
}

export interface OrphanedStaging {
  group: StagedGroup;
  reason: string;
}

export interface CleanupPlan {
  /**
   * Now minus the upload URL lifetime and the grace time: versions whose last upload URLs were
   * issued, and staged bytes written, before this instant count as abandoned.
   */
  cutoff: Date;
  expiredUploads: ExpiredUpload[];
  orphanedStaging: OrphanedStaging[];
}

/**
 * What the cleanup would do now: versions still PENDING_UPLOAD whose last upload URLs expired
 * more than the grace time ago, and staged bytes no version will ever complete (a version that is
 * no longer pending, one that does not exist, a cut-off write), older than the same cutoff.
 * Reads only.
 */
export async function planCleanup(deps: ServiceDeps, graceSeconds: number): Promise<CleanupPlan> {
  const now = deps.now();
  const ttlMs = deps.settings.uploadUrlTtlSeconds * 1000;
  // A URL issued at t expires at t + ttl: versions registered before the cutoff are candidates,
  // unless fresh URLs were issued for them since.
  const cutoff = new Date(now.getTime() - graceSeconds * 1000 - ttlMs);
  const candidates = await deps.store.stalePendingVersions(cutoff, CLEANUP_BATCH);
  const expiredUploads: ExpiredUpload[] = [];
  for (const version of candidates) {
    const lastIssued = await lastUploadUrls(deps, version, cutoff);
    if (lastIssued === null) expiredUploads.push({ version, uploadUrlsExpiredAt: new Date(version.createdAt.getTime() + ttlMs) });
  }
  const orphanedStaging: OrphanedStaging[] = [];
  for await (const group of deps.artifacts.listStaged()) {
    if (group.lastModified >= cutoff) continue;
    const reason = await orphanReason(deps, group, expiredUploads);
    if (reason !== null) orphanedStaging.push({ group, reason });
    if (orphanedStaging.length >= CLEANUP_BATCH) break;
  }
  return { cutoff, expiredUploads, orphanedStaging };
}

/** The newest UPLOAD_URLS_ISSUED event for the version after `after`, or null. */
export async function lastUploadUrls(deps: ServiceDeps, version: ModelVersion, after: Date): Promise<Date | null> {
  let cursor: string | null = null;
  do {
    const page = await deps.store.listAuditEvents(
      { modelName: version.modelName, actor: null, action: AuditAction.uploadUrlsIssued, since: after, until: null },
      { first: 100, after: cursor },
    );
    const hit = page.items.find((e) => e.node.versionId === version.id);
    if (hit) return hit.node.occurredAt;
    cursor = page.hasNextPage ? (page.items.at(-1)?.cursor ?? null) : null;
  } while (cursor !== null);
  return null;
}

async function orphanReason(deps: ServiceDeps, group: StagedGroup, expiring: readonly ExpiredUpload[]): Promise<string | null> {
  if (group.versionId === null) return 'an upload cut off before its end';
  if (expiring.some((e) => e.version.id === group.versionId)) return null; // discarded with its version
  const version = await deps.store.getVersion(group.versionId);
  if (version === null || version.modelName !== group.modelName) return 'no such version';
  return version.status === 'PENDING_UPLOAD' ? null : `the version is ${version.status}`;
}
