import { randomUUID } from 'node:crypto';
import { ConflictError, FailedPreconditionError, InvalidArgumentError, NotFoundError, RegistryError } from '../../domain/errors.js';
import { type PromotionRequest, type PromotionStatus, PROMOTION_STATUSES, effectiveStatus } from '../../domain/governance.js';
import { DEFAULT_ENVIRONMENT, LIMITS } from '../../domain/limits.js';
import type { Deployment, Page } from '../../domain/model.js';
import { promotionRequestKey } from '../../domain/idempotency.js';
import type { Principal } from '../../domain/token.js';
import type { AuditActionName } from '../../domain/audit-actions.js';
import { checkEnvironment, checkModelName, checkOptionalText, checkPageSize, checkVersionIdFormat } from '../../domain/validation.js';
import type { AccessService } from '../access.service.js';
import type { DeploymentService, PromoteCommand } from '../deployment.service.js';
import { AuditAction, type ServiceDeps, auditDraft } from '../service-deps.js';
import { effectivePolicy } from './policy.service.js';

const DEFAULT_TTL_SECONDS = 7 * 24 * 3600;
/** Re-reads after a lost compare-and-set (another approver wrote first) before giving up with CONFLICT. */
const CAS_ATTEMPTS = 5;

/**
 * Promotions that need approvals (an environment policy with requiredApprovals > 0): request,
 * approve (two-person rule: never the requester, never an earlier approver), reject, cancel.
 * The last approval executes the promotion with the compare-and-set captured at request time:
 * if the environment moved meanwhile, the request ends CONFLICT and nothing is deployed. Every
 * step is one compare-and-set on the request's revision with its audit event.
 */
export class PromotionRequestService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
    private readonly deployments: DeploymentService,
  ) {}

  async request(cmd: PromoteCommand, actor: Principal): Promise<PromotionRequest> {
    checkVersionIdFormat('input.versionId', cmd.versionId);
    const environment = checkEnvironment('input.environment', cmd.environment ?? DEFAULT_ENVIRONMENT);
    const reason = checkOptionalText('input.reason', cmd.reason, LIMITS.reasonChars);
    if (cmd.expectedCurrentVersionId != null) checkVersionIdFormat('input.expectedCurrentVersionId', cmd.expectedCurrentVersionId);
    if (cmd.requireImprovement != null || cmd.idempotencyKey != null) {
      throw new InvalidArgumentError('input', 'a request takes versionId, environment, reason and expectedCurrentVersionId/expectNothingDeployed; the improvement rule is the environment policy\'s');
    }
    const version = await this.deps.store.getVersion(cmd.versionId);
    if (!version) throw new NotFoundError(`Version ${cmd.versionId} does not exist`);
    await this.access.requireById(actor, 'deploy', version.modelName, 'request promotions', `Version ${cmd.versionId} does not exist`);
    await this.access.requireEnvironment(actor, version.modelName, environment, 'request promotions');
    const policy = await effectivePolicy(this.deps.store, version.modelName, environment);
    if (!policy || policy.requiredApprovals === 0) {
      throw new FailedPreconditionError(`${environment} of "${version.modelName}" needs no approvals: use promoteModelVersion`);
    }
    if (version.status !== 'READY') throw new FailedPreconditionError(`Version ${version.id} is ${version.status}; only READY versions can be deployed`);
    if (cmd.expectNothingDeployed && cmd.expectedCurrentVersionId != null) {
      throw new InvalidArgumentError('input.expectNothingDeployed', 'give either expectedCurrentVersionId or expectNothingDeployed, not both');
    }
    const pointer = await this.deps.store.getPointer(version.modelName, environment);
    // The compare-and-set the execution will use: what the requester saw (or named), captured now.
    const expected = cmd.expectNothingDeployed ? null : (cmd.expectedCurrentVersionId ?? pointer?.versionId ?? null);
    const now = this.deps.now();
    const ttl = this.deps.settings.promotionRequestTtlSeconds ?? DEFAULT_TTL_SECONDS;
    const r: PromotionRequest = {
      id: randomUUID(), modelName: version.modelName, versionId: version.id, environment, requestedBy: actor.name, requestedByTokenId: actor.tokenId,
      requestedAt: now, expiresAt: new Date(now.getTime() + ttl * 1000), reason, expectedCurrentVersionId: expected,
      requiredApprovals: policy.requiredApprovals, status: 'PENDING', approvals: [], decidedBy: null, decisionComment: null, decidedAt: null,
      deploymentId: null, revision: 1,
    };
    return this.deps.store.createPromotionRequest(r, this.audit(actor, AuditAction.promotionRequested, r, {
      expectedCurrentVersionId: expected, requiredApprovals: r.requiredApprovals, expiresAt: r.expiresAt.toISOString(), reason,
    }));
  }

  async approve(requestId: string, comment: string | null | undefined, actor: Principal): Promise<PromotionRequest> {
    const text = checkOptionalText('comment', comment, LIMITS.reasonChars);
    for (let attempt = 1; attempt <= CAS_ATTEMPTS; attempt++) {
      const r = await this.load(requestId, actor, 'approve promotions');
      // An approved request whose execution was cut off (a crash) is finished by the next approve call.
      if (r.status === 'APPROVED') return this.execute(r, actor);
      await this.requirePending(r, actor);
      if (r.requestedByTokenId === actor.tokenId) await this.access.deny(actor, r.modelName, 'approve promotions', 'the requester may not approve their own promotion request (two-person rule)');
      if (r.approvals.some((a) => a.tokenId === actor.tokenId)) await this.access.deny(actor, r.modelName, 'approve promotions', 'this principal has already approved this request');
      const policy = await effectivePolicy(this.deps.store, r.modelName, r.environment);
      if (policy?.allowedActors && !policy.allowedActors.includes(actor.name) && !policy.allowedActors.includes(actor.tokenId)) {
        await this.access.deny(actor, r.modelName, 'approve promotions', `only ${policy.allowedActors.join(', ')} may approve promotions in ${r.environment}`);
      }
      const approvals = [...r.approvals, { actor: actor.name, tokenId: actor.tokenId, at: this.deps.now(), comment: text }];
      const status: PromotionStatus = approvals.length >= r.requiredApprovals ? 'APPROVED' : 'PENDING';
      const next = await this.deps.store.updatePromotionRequest({ ...r, approvals, status }, r.revision,
        this.audit(actor, AuditAction.promotionApproved, r, { approvals: approvals.length, requiredApprovals: r.requiredApprovals, comment: text }));
      if (!next) continue; // another approver (or a cancel) wrote first: look again
      return next.status === 'APPROVED' ? this.execute(next, actor) : next;
    }
    throw new ConflictError(`Promotion request ${requestId} is changing under heavy contention; try again`);
  }

  reject(requestId: string, comment: string | null | undefined, actor: Principal): Promise<PromotionRequest> {
    return this.decide(requestId, comment, actor, 'REJECTED', AuditAction.promotionRejected, 'reject promotions');
  }

  cancel(requestId: string, comment: string | null | undefined, actor: Principal): Promise<PromotionRequest> {
    return this.decide(requestId, comment, actor, 'CANCELLED', AuditAction.promotionCancelled, 'cancel promotions');
  }

  async list(
    principal: Principal, args: { modelName: string; status?: string | null; first: number; after: string | null },
  ): Promise<Page<PromotionRequest>> {
    checkModelName('modelName', args.modelName);
    this.access.requireVisible(principal, args.modelName);
    const status = args.status ?? null;
    if (status !== null && !PROMOTION_STATUSES.includes(status as PromotionStatus)) throw new InvalidArgumentError('status', `must be one of ${PROMOTION_STATUSES.join(', ')}`);
    const page = await this.deps.store.listPromotionRequests(
      { modelName: args.modelName, status: status as PromotionStatus | null, now: this.deps.now() },
      { first: checkPageSize('first', args.first), after: args.after },
    );
    return { ...page, items: page.items.map((i) => ({ ...i, node: this.shown(i.node) })) };
  }

  async get(principal: Principal, id: string): Promise<PromotionRequest | null> {
    const r = await this.deps.store.getPromotionRequest(id);
    return r && this.access.canSee(principal, r.modelName) ? this.shown(r) : null;
  }

  deployment(r: PromotionRequest): Promise<Deployment | null> {
    return r.deploymentId ? this.deps.store.getDeployments([r.deploymentId]).then((d) => d[0] ?? null) : Promise.resolve(null);
  }

  /** As clients see it: a PENDING request past its expiry is EXPIRED (recorded when next touched). */
  private shown(r: PromotionRequest): PromotionRequest {
    return { ...r, status: effectiveStatus(r, this.deps.now()) };
  }

  private async decide(
    requestId: string, comment: string | null | undefined, actor: Principal, status: 'REJECTED' | 'CANCELLED', action: AuditActionName, operation: string,
  ): Promise<PromotionRequest> {
    const text = checkOptionalText('comment', comment, LIMITS.reasonChars);
    for (let attempt = 1; attempt <= CAS_ATTEMPTS; attempt++) {
      const r = await this.load(requestId, actor, operation);
      await this.requirePending(r, actor);
      const next = await this.deps.store.updatePromotionRequest(
        { ...r, status, decidedBy: actor.name, decisionComment: text, decidedAt: this.deps.now() }, r.revision, this.audit(actor, action, r, { comment: text }),
      );
      if (next) return next;
    }
    throw new ConflictError(`Promotion request ${requestId} is changing under heavy contention; try again`);
  }

  private async load(requestId: string, actor: Principal, operation: string): Promise<PromotionRequest> {
    if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 100) throw new InvalidArgumentError('requestId', 'must be a promotion request id');
    const r = await this.deps.store.getPromotionRequest(requestId);
    if (!r || !this.access.canSee(actor, r.modelName)) throw new NotFoundError(`Promotion request ${requestId} does not exist`);
    await this.access.require(actor, 'deploy', r.modelName, operation);
    await this.access.requireEnvironment(actor, r.modelName, r.environment, operation);
    return r;
  }

  /** Only a PENDING request can be decided; one past its expiry is recorded EXPIRED (once) and refused. */
  private async requirePending(r: PromotionRequest, actor: Principal): Promise<void> {
    if (r.status === 'PENDING' && effectiveStatus(r, this.deps.now()) === 'EXPIRED') {
      await this.deps.store.updatePromotionRequest({ ...r, status: 'EXPIRED' }, r.revision,
        this.audit(actor, AuditAction.promotionRequestExpired, r, { expiresAt: r.expiresAt.toISOString() }));
      throw new FailedPreconditionError(`Promotion request ${r.id} expired at ${r.expiresAt.toISOString()}; request again`);
    }
    if (r.status !== 'PENDING') throw new FailedPreconditionError(`Promotion request ${r.id} is ${r.status}`);
  }

  /**
   * Deploys an APPROVED request as its last approver, with the request's compare-and-set and its
   * own idempotency key (a repeated execution answers with the same deployment or refusal).
   */
  private async execute(r: PromotionRequest, actor: Principal): Promise<PromotionRequest> {
    let outcome: { status: PromotionStatus; deployment: Deployment | null; error: RegistryError | null };
    try {
      const deployment = await this.deployments.promote({
        versionId: r.versionId, environment: r.environment, reason: r.reason ?? `promotion request ${r.id}`,
        ...(r.expectedCurrentVersionId === null ? { expectNothingDeployed: true } : { expectedCurrentVersionId: r.expectedCurrentVersionId }),
        idempotencyKey: promotionRequestKey(r.id),
      }, actor, { viaRequest: true });
      outcome = { status: 'EXECUTED', deployment, error: null };
    } catch (err) {
      if (!(err instanceof ConflictError) && !(err instanceof FailedPreconditionError)) throw err;
      outcome = { status: err instanceof ConflictError ? 'CONFLICT' : 'REJECTED', deployment: null, error: err };
    }
    const action = outcome.status === 'EXECUTED' ? AuditAction.promotionRequestExecuted
      : outcome.status === 'CONFLICT' ? AuditAction.promotionRequestConflict : AuditAction.promotionRejected;
    const next = await this.deps.store.updatePromotionRequest({
      ...r, status: outcome.status, deploymentId: outcome.deployment?.id ?? null,
      ...(outcome.error && { decidedBy: 'registry', decisionComment: outcome.error.message, decidedAt: this.deps.now() }),
    }, r.revision, this.audit(actor, action, r, { deploymentId: outcome.deployment?.id ?? null, failureReason: outcome.error?.message ?? null }));
    // Lost to a concurrent finisher of the same request: its record stands (same deployment, by the key).
    return next ?? (await this.deps.store.getPromotionRequest(r.id))!;
  }

  private audit(actor: Principal, action: AuditActionName, r: PromotionRequest, details: Record<string, import('../../domain/model.js').JsonValue>) {
    return auditDraft(this.deps, actor, action, { modelName: r.modelName, versionId: r.versionId }, { requestId: r.id, environment: r.environment, ...details });
  }
}
