import { FailedPreconditionError, NotFoundError } from '../../domain/errors.js';
import { LIMITS } from '../../domain/limits.js';
import type { Actor, ModelVersion } from '../../domain/model.js';
import { DEFAULT_RETENTION_DAYS, legalHoldRefusal, purgeRefusal, retentionEnds } from '../../domain/retention.js';
import { checkText, checkVersionIdFormat } from '../../domain/validation.js';
import type { AccessService } from '../access.service.js';
import { AuditAction, type ServiceDeps, auditDraft } from '../service-deps.js';
import { notFound } from '../version.service.js';
import { deleteVersionArtifacts } from './artifact-deletion.js';

/**
 * Legal hold and purge (docs/operations.md, "Retention and legal hold"). Both are registry-wide
 * administration: unscoped admins only. A purge is recorded in the store (purgedAt + audit event)
 * BEFORE any byte is deleted, so a crash in between leaves a recorded purge that calling purge
 * again finishes, never bytes gone without a record.
 */
export class RetentionService {
  readonly retentionDays: number;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
    /** Told of a version this process purges (the download cache drops it). */
    private readonly onPurged: (versionId: string) => void = () => {},
  ) {
    this.retentionDays = deps.settings.retentionDays ?? DEFAULT_RETENTION_DAYS;
  }

  async setLegalHold(versionId: string, on: boolean, reason: string, actor: Actor): Promise<ModelVersion> {
    await this.access.require(actor, 'admin', null, on ? 'set legal holds' : 'release legal holds');
    checkVersionIdFormat('versionId', versionId);
    const why = checkText('reason', reason, LIMITS.reasonChars);
    const version = await this.deps.store.getVersion(versionId);
    if (!version) throw new NotFoundError(notFound(versionId));
    if (on === (version.legalHold !== null)) return version; // already as asked: nothing written
    const now = this.deps.now();
    const target = { modelName: version.modelName, versionId: version.id };
    const updated = await this.deps.store.setLegalHold(
      version.id,
      on ? { reason: why, setBy: actor.name, setAt: now } : null,
      auditDraft(this.deps, actor, on ? AuditAction.legalHoldSet : AuditAction.legalHoldReleased, target, {
        reason: why,
        ...(!on && { heldSince: version.legalHold!.setAt.toISOString(), heldFor: version.legalHold!.reason }),
      }),
    );
    if (!updated) throw new NotFoundError(notFound(versionId));
    return updated;
  }

  /** Deletes the artifacts of an ARCHIVED version past retention and not on hold; metadata and audit stay. */
  async purge(versionId: string, reason: string, actor: Actor): Promise<ModelVersion> {
    await this.access.require(actor, 'admin', null, 'purge model versions');
    checkVersionIdFormat('versionId', versionId);
    const why = checkText('reason', reason, LIMITS.reasonChars);
    const version = await this.deps.store.getVersion(versionId);
    if (!version) throw new NotFoundError(notFound(versionId));
    const now = this.deps.now();
    let purged = version;
    if (version.purgedAt === null) {
      const refusal = purgeRefusal(version, this.retentionDays, now);
      if (refusal !== null) throw new FailedPreconditionError(refusal);
      const result = await this.deps.store.markVersionPurged(
        version.id,
        now,
        auditDraft(this.deps, actor, AuditAction.versionPurged, { modelName: version.modelName, versionId: version.id }, {
          reason: why,
          retentionDays: this.retentionDays,
          retentionEndedAt: retentionEnds(version, this.retentionDays).toISOString(),
          artifacts: version.artifacts.map((a) => ({ path: a.path, sizeBytes: a.sizeBytes, sha256: a.sha256 })),
        }),
      );
      switch (result.kind) {
        case 'not-found':
          throw new NotFoundError(notFound(versionId));
        case 'wrong-status':
          throw new FailedPreconditionError(`Version ${version.id} is ${result.version.status}; only ARCHIVED versions can be purged`);
        case 'on-hold':
          throw new FailedPreconditionError(legalHoldRefusal(version.id, 'purged', result.version.legalHold?.reason ?? ''));
        case 'marked':
        case 'already-purged':
          purged = result.version;
      }
    }
    this.onPurged(purged.id);
    // A hold set on a purge that was cut off keeps whatever bytes are left, until it is released.
    if (purged.legalHold) throw new FailedPreconditionError(legalHoldRefusal(purged.id, 'purged', purged.legalHold.reason));
    // Recorded: now (or again, finishing an earlier purge cut off here) the bytes go. `discard` of
    // an object already gone is a no-op, so this step can be repeated.
    await deleteVersionArtifacts(this.deps, purged, 'purged');
    return purged;
  }
}
