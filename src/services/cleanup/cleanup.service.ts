import { randomUUID } from 'node:crypto';
import { ConflictError } from '../../domain/errors.js';
import type { Actor } from '../../domain/model.js';
import type { AccessService } from '../access.service.js';
import { type ServiceDeps, AuditAction, auditDraft } from '../service-deps.js';
import { completionLeaseName } from '../completion/completion.service.js';
import { deleteVersionArtifacts } from '../retention/artifact-deletion.js';
import { type CleanupPlan, lastUploadUrls, planCleanup } from './cleanup-plan.js';

export interface CleanupSettings {
  /** Between two background runs; 0: no background runs (the mutation still works). */
  intervalMs: number;
  /** How long after its upload URLs expired a PENDING_UPLOAD version is left alone (a client may still complete it). */
  graceSeconds: number;
}

export interface CleanupOutcome extends CleanupPlan {
  failedVersions: string[];
  removedStagingBytes: number;
}

/** The cleanup runs in one process at a time: this lease, renewed by each run. */
const LEASE = 'cleanup:abandoned-uploads';
const LEASE_TTL_MS = 5 * 60_000;
/** The name abandoned versions are failed under in the audit log. */
const CLEANUP_ACTOR: Actor = { name: 'system:cleanup', tokenId: 'system', role: 'admin', modelScope: null };

/**
 * The cleanup of abandoned uploads. Versions still PENDING_UPLOAD past their upload URLs' expiry
 * plus a grace time become FAILED ("upload expired", audited) and their staged bytes are removed;
 * staged bytes no version will complete are removed too. Runs every `intervalMs` in the process
 * holding the lease, or on demand (`runCleanup`); `cleanupPlan` shows what it would do.
 */
export class CleanupService {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
    private readonly settings: CleanupSettings,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  async plan(principal: Actor): Promise<CleanupPlan> {
    this.access.check(principal, 'admin', 'read the cleanup plan');
    this.access.requireUnscoped(principal, 'the cleanup plan');
    return planCleanup(this.deps, this.settings.graceSeconds);
  }

  async run(principal: Actor): Promise<CleanupOutcome> {
    await this.access.require(principal, 'admin', null, 'run the cleanup of abandoned uploads');
    try {
      return await this.underLease();
    } catch (err) {
      throw err instanceof CleanupBusy ? new ConflictError(err.message) : err;
    }
  }

  start(): void {
    if (this.settings.intervalMs <= 0 || this.stopped) return;
    const tick = () => {
      this.running = this.underLease()
        .catch((err: unknown) => { if (!(err instanceof CleanupBusy)) this.onError(err); })
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(tick, this.settings.intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, this.settings.intervalMs).unref();
  }

  /** No new run starts; a run in progress finishes its current step and the lease is freed. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One run under the lease; a holder of its own, so that a second run in this process is refused as one elsewhere is. */
  private async underLease(): Promise<CleanupOutcome> {
    const holder = `cleanup-${randomUUID()}`;
    if (!(await this.deps.store.acquireLease(LEASE, holder, LEASE_TTL_MS))) throw new CleanupBusy();
    try {
      return await this.execute(await planCleanup(this.deps, this.settings.graceSeconds), holder);
    } finally {
      await this.deps.store.releaseLease(LEASE, holder);
    }
  }

  private async execute(plan: CleanupPlan, holder: string): Promise<CleanupOutcome> {
    const failedVersions: string[] = [];
    for (const { version, uploadUrlsExpiredAt } of plan.expiredUploads) {
      // Renewed as the run goes: a long run keeps others out; a run that lost it stops.
      if (this.stopped || !(await this.deps.store.acquireLease(LEASE, holder, LEASE_TTL_MS))) break;
      // A completion in progress holds this lease: it decides, not the cleanup.
      const completion = completionLeaseName(version.id);
      if (!(await this.deps.store.acquireLease(completion, holder, LEASE_TTL_MS))) continue;
      try {
        // Fresh upload URLs issued since the plan was made: the client is still at it.
        if ((await lastUploadUrls(this.deps, version, plan.cutoff)) !== null) continue;
        const result = await this.deps.store.transitionVersion(
          version.id,
          { from: ['PENDING_UPLOAD'], to: 'FAILED', failureReason: 'upload expired', requireUndeployed: false },
          auditDraft(this.deps, CLEANUP_ACTOR, AuditAction.versionFailed, { modelName: version.modelName, versionId: version.id }, {
            failureReason: 'upload expired', uploadUrlsExpiredAt: uploadUrlsExpiredAt.toISOString(),
          }),
        );
        if (result.kind !== 'ok') continue; // completed or archived meanwhile
        failedVersions.push(version.id);
        await deleteVersionArtifacts(this.deps, result.version, 'failed');
      } finally {
        await this.deps.store.releaseLease(completion, holder);
      }
    }
    let removedStagingBytes = 0;
    for (const { group } of plan.orphanedStaging) {
      if (this.stopped || !(await this.deps.store.acquireLease(LEASE, holder, LEASE_TTL_MS))) break;
      await this.deps.artifacts.removeStaged(group);
      removedStagingBytes += group.bytes;
    }
    return { ...plan, failedVersions, removedStagingBytes };
  }
}

/** Another process holds the cleanup lease. */
export class CleanupBusy extends Error {
  constructor() {
    super('the cleanup is running in another process; try again later');
  }
}
