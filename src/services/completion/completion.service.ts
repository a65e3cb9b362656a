import { randomUUID } from 'node:crypto';
import { ConflictError, FailedPreconditionError, NotFoundError } from '../../domain/errors.js';
import type { Actor, ModelVersion } from '../../domain/model.js';
import { checkVersionIdFormat } from '../../domain/validation.js';
import type { AccessService } from '../access.service.js';
import { type ServiceDeps, AuditAction, auditDraft } from '../service-deps.js';
import { artifactTarget, notFound } from '../version.service.js';
import { deleteVersionArtifacts } from '../retention/artifact-deletion.js';
import { BackgroundJobs } from './background-jobs.js';
import { type UploadVerification, verificationOf } from './verification.js';
import { type GivenParts, MultipartUploads, type PartsToJoin } from '../multipart/multipart-uploads.js';

/** A check's lease lasts this long without renewal (a killed process frees it then), and is renewed, with its progress, this often. */
const LEASE_TTL_MS = 60_000;
const REPORT_EVERY_MS = 2_000;

/**
 * Completing an upload: every artifact is read back from storage, checked against its declared
 * size and sha256, and made final; then the version is READY or FAILED. One check per version at
 * a time, across processes (a lease in the store, with the check's progress in it).
 *
 * Small versions are checked within the request. Versions larger than `asyncCompletionBytes` in
 * all are checked in the background: the call answers at once with the version still
 * PENDING_UPLOAD, `verification` shows the progress, and the READY / FAILED audit event marks
 * the end. A check cut short (storage error, shutdown, a killed process) leaves the version
 * PENDING_UPLOAD; calling complete again starts it anew.
 */
export class CompletionService {
  private readonly jobs = new BackgroundJobs();
  private readonly multipart: MultipartUploads;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
    /** Told when a background check stops early (`stoppedByShutdown`: a clean stop, not a failure). */
    private readonly onBackgroundStop: (versionId: string, err: unknown, stoppedByShutdown: boolean) => void = () => {},
  ) {
    this.multipart = new MultipartUploads(deps);
  }

  /**
   * `parts`: the ETags of artifacts uploaded in parts (else the parts are listed from storage);
   * their parts are checked to cover each artifact before anything is written, and joined first
   * thing in the check.
   */
  async complete(versionId: string, actor: Actor, parts: readonly GivenParts[] | null = null): Promise<ModelVersion> {
    checkVersionIdFormat('versionId', versionId);
    const version = await this.deps.store.getVersion(versionId);
    if (!version) throw new NotFoundError(notFound(versionId));
    await this.access.requireById(actor, 'publish', version.modelName, 'complete uploads', notFound(versionId));
    if (version.status === 'READY') return version;
    if (version.status !== 'PENDING_UPLOAD') throw notPending(version);
    const joins = await this.multipart.partsToJoin(version, parts, (a) => artifactTarget(version, a));
    const check: Check = { version, actor, holder: randomUUID(), startedAt: new Date(), joins };
    const total = totalBytes(version);
    const started = await this.deps.store.acquireLease(completionLeaseName(version.id), check.holder, LEASE_TTL_MS, progress(0, total, check.startedAt));
    if (total <= this.deps.settings.asyncCompletionBytes) {
      if (!started) throw new ConflictError(`Version ${version.id} is being completed by another request; try again shortly`);
      return this.checkUnderLease(check, undefined);
    }
    // Large: the check runs on (here, or in whichever request already started it); the caller follows `verification`.
    if (started) await this.startInBackground(check);
    return version;
  }

  private async startInBackground(check: Check): Promise<void> {
    const started = this.jobs.start(
      (signal) => this.checkUnderLease(check, signal).then(() => undefined),
      (err, stoppedByShutdown) => this.onBackgroundStop(check.version.id, err, stoppedByShutdown),
    );
    // Shutting down: nothing runs; free the lease so that a completion elsewhere need not wait for it to expire.
    if (!started) await this.deps.store.releaseLease(completionLeaseName(check.version.id), check.holder);
  }

  /** The progress of a PENDING_UPLOAD version's check; null for any other status. */
  async verification(version: ModelVersion): Promise<UploadVerification | null> {
    if (version.status !== 'PENDING_UPLOAD') return null;
    return verificationOf(totalBytes(version), await this.deps.store.getLease(completionLeaseName(version.id)));
  }

  /** Stops every background check (they leave their versions PENDING_UPLOAD) and waits for them. */
  stop(): Promise<void> {
    return this.jobs.stop();
  }

  private async checkUnderLease({ version, actor, holder, startedAt, joins }: Check, signal: AbortSignal | undefined): Promise<ModelVersion> {
    const name = completionLeaseName(version.id);
    const total = totalBytes(version);
    let done = 0;
    let current = 0;
    // Losing the lease (the store was unreachable past its expiry, or the process stalled) stops
    // the check: another completion may have taken over, and two must never run at once.
    const lost = new AbortController();
    const stop = signal ? AbortSignal.any([signal, lost.signal]) : lost.signal;
    const report = setInterval(() => {
      this.deps.store.acquireLease(name, holder, LEASE_TTL_MS, progress(done + current, total, startedAt)).then(
        (held) => {
          if (!held) lost.abort(new ConflictError(`Version ${version.id}: this completion lost its lease to another; try again`));
        },
        () => {
          // Retried at the next report; the lease lasts many reports.
        },
      );
    }, REPORT_EVERY_MS);
    report.unref();
    try {
      const failures: string[] = [];
      for (const a of version.artifacts) {
        current = 0;
        // Parts first (multipart uploads): joined into the staging object that finalize checks as a single upload.
        await this.multipart.join(artifactTarget(version, a), joins.get(a.path), stop);
        const outcome = await this.deps.artifacts.finalize(artifactTarget(version, a), a.sha256, { signal: stop, onProgress: (n) => (current = n) });
        done += a.sizeBytes;
        current = 0;
        if (!outcome.ok) failures.push(outcome.reason);
      }
      stop.throwIfAborted();
      return await this.record(version, actor, failures);
    } finally {
      clearInterval(report);
      await this.deps.store.releaseLease(name, holder).catch(() => {
        // It then simply expires.
      });
    }
  }

  private async record(version: ModelVersion, actor: Actor, failures: string[]): Promise<ModelVersion> {
    const ok = failures.length === 0;
    const failureReason = ok ? null : failures.join('; ');
    const result = await this.deps.store.transitionVersion(
      version.id,
      { from: ['PENDING_UPLOAD'], to: ok ? 'READY' : 'FAILED', failureReason, requireUndeployed: false },
      auditDraft(this.deps, actor, ok ? AuditAction.versionReady : AuditAction.versionFailed, { modelName: version.modelName, versionId: version.id },
        ok ? { artifacts: version.artifacts.length } : { failureReason }),
    );
    if (result.kind === 'not-found') throw new NotFoundError(notFound(version.id));
    if (result.kind !== 'ok') {
      // Someone else completed it meanwhile.
      if (result.version.status === 'READY') return result.version;
      throw notPending(result.version);
    }
    // Only after FAILED is recorded: a concurrent successful completion must never lose its files.
    if (!ok) await deleteVersionArtifacts(this.deps, result.version, 'failed');
    return result.version;
  }
}

/** One completion's check: of which version, for whom, under which lease holder, since when. */
interface Check {
  version: ModelVersion;
  actor: Actor;
  holder: string;
  startedAt: Date;
  /** Parts to join first, per artifact path (multipart uploads). */
  joins: Map<string, PartsToJoin>;
}

/** The lease a version's completion holds while it checks the files (the cleanup takes it too before failing a version). */
export function completionLeaseName(versionId: string): string {
  return `complete:${versionId}`;
}

function totalBytes(version: ModelVersion): number {
  return version.artifacts.reduce((sum, a) => sum + a.sizeBytes, 0);
}

function progress(bytesVerified: number, bytesTotal: number, startedAt: Date) {
  return { bytesVerified, bytesTotal, startedAt: startedAt.toISOString(), updatedAt: new Date().toISOString() };
}

function notPending(version: ModelVersion): FailedPreconditionError {
  return new FailedPreconditionError(`Version ${version.id} is ${version.status}; only PENDING_UPLOAD versions can be completed`);
}
