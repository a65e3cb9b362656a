import { randomUUID } from 'node:crypto';
import { ConflictError, FailedPreconditionError, InvalidArgumentError, NotFoundError, type RegistryError } from '../domain/errors.js';
import { DEFAULT_ENVIRONMENT, DEFAULT_PRIMARY_METRIC, LIMITS } from '../domain/limits.js';
import type { Actor, Deployment, DeploymentPointer, ModelVersion } from '../domain/model.js';
import { type ImprovementPolicy, improvementShortfall } from '../domain/policy.js';
import {
  checkEnvironment, checkFiniteNumber, checkMetricName, checkModelName, checkOptionalText, checkVersionIdFormat,
} from '../domain/validation.js';
import { type IdempotencyRecord, checkIdempotencyKey, idempotencyFingerprint } from '../domain/idempotency.js';
import type { AccessService } from './access.service.js';
import { type ClaimFor as Claim, IdempotentRequests, NO_KEY } from './idempotency/idempotent-requests.js';
import { AuditAction, type ServiceDeps, auditDraft } from './service-deps.js';
import { notFound } from './version.service.js';
import { effectivePolicy } from './governance/policy.service.js';

export interface PromoteCommand {
  versionId: string;
  environment?: string | null;
  reason?: string | null;
  /** An id: that version must be deployed now. Absent or null: no check (a typed client sends null for "unset"). */
  expectedCurrentVersionId?: string | null;
  /** true: nothing may be deployed now. Not together with expectedCurrentVersionId. */
  expectNothingDeployed?: boolean | null;
  /** `metric` absent or null: the model's primaryMetric. */
  requireImprovement?: { metric?: string | null; minRatio: number } | null;
  /** Same key and input within 24 h: the same deployment (or the same refusal). */
  idempotencyKey?: string | null;
}

export interface UndeployCommand {
  modelName: string;
  environment?: string | null;
  /** That version must be live now (CONFLICT otherwise). */
  expectedCurrentVersionId?: string | null;
  reason?: string | null;
  idempotencyKey?: string | null;
}

export interface RollbackCommand {
  modelName: string;
  environment?: string | null;
  toVersionId?: string | null;
  reason?: string | null;
  idempotencyKey?: string | null;
}

/** Retries of a promotion that lost a compare-and-set race without an expectation of its own. */
const PROMOTE_ATTEMPTS = 5;

/**
 * Promotion and rollback: a compare-and-set on the (model, environment) pointer. A refusal of an
 * existing version is recorded as a FAILED deployment with a PROMOTION_REFUSED audit event, and
 * the error is then thrown to the caller; nothing else changes.
 */
export class DeploymentService {
  private readonly idempotent: IdempotentRequests;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
  ) {
    this.idempotent = new IdempotentRequests(deps);
  }

  /** `viaRequest`: the execution of an approved promotion request (the environment's approvals are met). */
  async promote(cmd: PromoteCommand, actor: Actor, opts: { viaRequest?: boolean } = {}): Promise<Deployment> {
    checkVersionIdFormat('input.versionId', cmd.versionId);
    const environment = checkEnvironment('input.environment', cmd.environment ?? DEFAULT_ENVIRONMENT);
    const reason = checkOptionalText('input.reason', cmd.reason, LIMITS.reasonChars);
    const expected = expectedCurrent(cmd);
    const policy = cmd.requireImprovement ? checkPolicy(cmd.requireImprovement) : null;
    const key = checkIdempotencyKey('input.idempotencyKey', cmd.idempotencyKey, { registry: opts.viaRequest === true });
    const version = await this.deps.store.getVersion(cmd.versionId);
    if (!version) throw new NotFoundError(notFound(cmd.versionId));
    await this.access.requireById(actor, 'deploy', version.modelName, 'promote versions', notFound(cmd.versionId));
    await this.access.requireEnvironment(actor, version.modelName, environment, 'promote');
    const envPolicy = await effectivePolicy(this.deps.store, version.modelName, environment);
    if (envPolicy && envPolicy.requiredApprovals > 0 && !opts.viaRequest) {
      throw new FailedPreconditionError(
        `${environment} of "${version.modelName}" needs ${envPolicy.requiredApprovals} approval(s): ask with requestPromotion(input), then another principal approves with approvePromotion(requestId)`,
      );
    }
    const input = { versionId: version.id, environment, reason, expectedCurrentVersionId: expected, policy };
    // The environment's improvement rule applies to every promotion there, whatever the caller passed.
    const rules = [policy, envPolicy?.requireImprovement ?? null].filter((p): p is { metric: string | null; minRatio: number } => p !== null);
    return this.idempotent.run(
      key === null ? null : { modelName: version.modelName, key, operation: 'PROMOTE', fingerprint: idempotencyFingerprint('PROMOTE', input) },
      (record) => this.replay(record),
      async (claim) => this.promoteNew(expected, version, environment, reason, await Promise.all(rules.map((r) => this.withMetric(r, version.modelName))), claim, actor),
    );
  }

  /** The policy's metric, or the model's primaryMetric when the caller gave none. */
  private async withMetric(policy: { metric: string | null; minRatio: number }, modelName: string): Promise<ImprovementPolicy> {
    if (policy.metric !== null) return { metric: policy.metric, minRatio: policy.minRatio };
    const model = await this.deps.store.getModel(modelName);
    return { metric: model?.primaryMetric ?? DEFAULT_PRIMARY_METRIC, minRatio: policy.minRatio };
  }

  /** `expected`: undefined, no check; null, nothing may be deployed; an id, that version must be deployed. */
  private async promoteNew(
    expected: string | null | undefined, version: ModelVersion, environment: string, reason: string | null, policies: ImprovementPolicy[],
    claim: Claim, actor: Actor,
  ): Promise<Deployment> {
    for (let attempt = 1; ; attempt++) {
      const pointer = await this.deps.store.getPointer(version.modelName, environment);
      // A refusal that a retry could overcome (a lost race, a version still waiting for its files) is
      // answered without claiming the key: only refusals that follow from the input are remembered.
      const refuse = (error: RegistryError, remember = true) => this.refuse('PROMOTE', version, environment, pointer, reason, error, actor, remember ? claim : NO_KEY);
      if (expected !== undefined && (pointer?.versionId ?? null) !== expected) {
        const wanted = expected === null ? 'nothing was expected there (expectNothingDeployed)' : `${expected} was expected (expectedCurrentVersionId)`;
        return refuse(new ConflictError(`${environment} of "${version.modelName}" runs ${pointer?.versionId ?? 'nothing'}, but ${wanted}`));
      }
      if (pointer?.versionId === version.id) {
        // Already there: the answer is the deployment that put it there (the key remembers it).
        const existing = claim(pointer.deploymentId);
        if (existing) await this.deps.store.claimIdempotencyKey(existing);
        return this.deployment(pointer.deploymentId);
      }
      if (version.status !== 'READY') {
        return refuse(new FailedPreconditionError(`Version ${version.id} is ${version.status}; only READY versions can be deployed`), version.status !== 'PENDING_UPLOAD');
      }
      if (policies.length > 0) {
        const current = pointer?.versionId ? await this.deps.store.getVersion(pointer.versionId) : null;
        for (const policy of policies) {
          const shortfall = improvementShortfall(policy, version, current);
          if (shortfall) return refuse(new FailedPreconditionError(`Improvement policy not met: ${shortfall}`));
        }
      }
      const deployment = this.newDeployment('PROMOTE', version, environment, pointer, reason, actor, null);
      const result = await this.deps.store.moveDeploymentPointer(
        deployment,
        pointer?.revision ?? null,
        auditDraft(this.deps, actor, AuditAction.versionPromoted, { modelName: version.modelName, versionId: version.id }, {
          environment,
          deploymentId: deployment.id,
          previousVersionId: deployment.previousVersionId,
          reason,
          policy: policies[0] ? { metric: policies[0].metric, minRatio: policies[0].minRatio } : null,
          ...(policies.length > 1 && { policies: policies.map((p) => ({ metric: p.metric, minRatio: p.minRatio })) }),
          ...keyDetail(claim),
        }),
        claim(deployment.id),
      );
      if (result.kind === 'moved') return result.deployment;
      if (result.kind === 'version-not-ready') {
        return refuse(new FailedPreconditionError(`Version ${version.id} is ${result.status ?? 'gone'}; only READY versions can be deployed`), result.status !== 'PENDING_UPLOAD');
      }
      if (expected !== undefined || attempt >= PROMOTE_ATTEMPTS) {
        // With an expected version the answer follows from the input; without, the race was lost.
        return refuse(new ConflictError(`${environment} of "${version.modelName}" changed while promoting ${version.id}; try again`), expected !== undefined);
      }
    }
  }

  async rollback(cmd: RollbackCommand, actor: Actor): Promise<Deployment> {
    await this.access.require(actor, 'deploy', cmd.modelName, 'roll back deployments');
    const modelName = checkModelName('input.modelName', cmd.modelName);
    const environment = checkEnvironment('input.environment', cmd.environment ?? DEFAULT_ENVIRONMENT);
    const reason = checkOptionalText('input.reason', cmd.reason, LIMITS.reasonChars);
    await this.access.requireEnvironment(actor, modelName, environment, 'roll back');
    if (cmd.toVersionId) checkVersionIdFormat('input.toVersionId', cmd.toVersionId);
    const key = checkIdempotencyKey('input.idempotencyKey', cmd.idempotencyKey);
    if (!(await this.deps.store.getModel(modelName))) throw new NotFoundError(`Model "${modelName}" does not exist`);
    const input = { modelName, environment, reason, toVersionId: cmd.toVersionId ?? null };
    return this.idempotent.run(
      key === null ? null : { modelName, key, operation: 'ROLLBACK', fingerprint: idempotencyFingerprint('ROLLBACK', input) },
      (record) => this.replay(record),
      (claim) => this.rollbackNew(cmd, modelName, environment, reason, claim, actor),
    );
  }

  private async rollbackNew(cmd: RollbackCommand, modelName: string, environment: string, reason: string | null, claim: Claim, actor: Actor): Promise<Deployment> {
    const explicit = cmd.toVersionId ? await this.deps.store.getVersion(cmd.toVersionId) : null;
    if (cmd.toVersionId && (!explicit || explicit.modelName !== modelName)) {
      throw new NotFoundError(`Model "${modelName}" has no version ${cmd.toVersionId}`);
    }
    const pointer = await this.deps.store.getPointer(modelName, environment);
    if (!pointer) {
      const error = new FailedPreconditionError(`Nothing to roll back: "${modelName}" has no deployment in ${environment}`);
      if (explicit) return this.refuse('ROLLBACK', explicit, environment, null, reason, error, actor, claim);
      throw error;
    }
    const current = await this.deployment(pointer.deploymentId);
    // After an undeploy the pointer names no version: the rollback puts back the one live before it.
    const currentVersion = pointer.versionId === null ? null : await this.deps.store.getVersion(pointer.versionId);
    if (pointer.versionId !== null && !currentVersion) throw new Error(`pointer names missing version ${pointer.versionId}`);

    let target: ModelVersion;
    let restored: Deployment;
    if (explicit) {
      target = explicit;
      if (target.id === pointer.versionId) {
        return this.refuse('ROLLBACK', target, environment, pointer, reason, new FailedPreconditionError(`Version ${target.id} is already deployed in ${environment}`), actor, claim);
      }
      const earlier = await this.deps.store.listDeployments({ modelName, environment, versionId: target.id, status: 'SUCCEEDED' }, { first: 1, after: null });
      const found = earlier.items[0]?.node;
      if (!found) {
        const error = new FailedPreconditionError(`Version ${target.id} was never deployed in ${environment}; promote it instead`);
        return this.refuse('ROLLBACK', target, environment, pointer, reason, error, actor, claim);
      }
      restored = found;
    } else {
      // Repeated rollbacks walk back through history: a rollback's own predecessor is the one
      // before the deployment it restored.
      const base = current.action === 'ROLLBACK' && current.restoredDeploymentId ? await this.deployment(current.restoredDeploymentId) : current;
      if (!base.priorDeploymentId) {
        const error = new FailedPreconditionError(`Nothing to roll back to: ${pointer.versionId} is the first version deployed in ${environment}`);
        if (!currentVersion) throw error;
        return this.refuse('ROLLBACK', currentVersion, environment, pointer, reason, error, actor, claim);
      }
      restored = await this.deployment(base.priorDeploymentId);
      if (restored.versionId === null) {
        throw new FailedPreconditionError(`Nothing to roll back to: ${environment} of "${modelName}" was empty (undeployed) before; name a version with toVersionId`);
      }
      const v = await this.deps.store.getVersion(restored.versionId);
      if (!v) throw new Error(`deployment ${restored.id} names missing version ${restored.versionId}`);
      target = v;
    }
    if (target.status !== 'READY') {
      const error = new FailedPreconditionError(`Cannot roll back to ${target.id}: it is ${target.status}; only READY versions can be deployed`);
      return this.refuse('ROLLBACK', target, environment, pointer, reason, error, actor, claim);
    }
    const deployment = this.newDeployment('ROLLBACK', target, environment, pointer, reason, actor, restored.id);
    const result = await this.deps.store.moveDeploymentPointer(
      deployment,
      pointer.revision,
      auditDraft(this.deps, actor, AuditAction.versionRolledBack, { modelName, versionId: target.id }, {
        environment,
        deploymentId: deployment.id,
        previousVersionId: pointer.versionId,
        restoredDeploymentId: restored.id,
        reason,
        ...keyDetail(claim),
      }),
      claim(deployment.id),
    );
    if (result.kind === 'moved') return result.deployment;
    if (result.kind === 'conflict') {
      // A lost race: refused, but not remembered under the key, so that a retry may succeed.
      const error = new ConflictError(`${environment} of "${modelName}" changed while rolling back; look at the deployment history and try again`);
      return this.refuse('ROLLBACK', target, environment, pointer, reason, error, actor, NO_KEY);
    }
    const error = new FailedPreconditionError(`Cannot roll back to ${target.id}: it is ${result.status ?? 'gone'}`);
    return this.refuse('ROLLBACK', target, environment, pointer, reason, error, actor, claim);
  }

  /**
   * Empties the environment: an UNDEPLOY deployment (no version), by compare-and-set on the
   * pointer, which keeps its revision. The version taken down may then be archived; a rollback
   * puts it back.
   */
  async undeploy(cmd: UndeployCommand, actor: Actor): Promise<Deployment> {
    const modelName = checkModelName('input.modelName', cmd.modelName);
    const environment = checkEnvironment('input.environment', cmd.environment ?? DEFAULT_ENVIRONMENT);
    const reason = checkOptionalText('input.reason', cmd.reason, LIMITS.reasonChars);
    const expected = cmd.expectedCurrentVersionId == null ? null : checkVersionIdFormat('input.expectedCurrentVersionId', cmd.expectedCurrentVersionId);
    const key = checkIdempotencyKey('input.idempotencyKey', cmd.idempotencyKey);
    await this.access.require(actor, 'deploy', modelName, 'undeploy');
    await this.access.requireEnvironment(actor, modelName, environment, 'undeploy');
    if (!(await this.deps.store.getModel(modelName))) throw new NotFoundError(`Model "${modelName}" does not exist`);
    return this.idempotent.run(
      key === null ? null : { modelName, key, operation: 'UNDEPLOY', fingerprint: idempotencyFingerprint('UNDEPLOY', { modelName, environment, reason, expected }) },
      (record) => this.replay(record),
      async (claim) => {
        const pointer = await this.deps.store.getPointer(modelName, environment);
        if (!pointer?.versionId) throw new FailedPreconditionError(`Nothing to undeploy: "${modelName}" runs nothing in ${environment}`);
        if (expected !== null && pointer.versionId !== expected) {
          throw new ConflictError(`${environment} of "${modelName}" runs ${pointer.versionId}, but ${expected} was expected (expectedCurrentVersionId)`);
        }
        const deployment: Deployment = {
          id: randomUUID(), modelName, environment, action: 'UNDEPLOY', status: 'SUCCEEDED', versionId: null, previousVersionId: pointer.versionId,
          reason, failureReason: null, deployedAt: this.deps.now(), deployedBy: actor.name, revision: null, priorDeploymentId: pointer.deploymentId,
          restoredDeploymentId: null,
        };
        const result = await this.deps.store.moveDeploymentPointer(deployment, pointer.revision,
          auditDraft(this.deps, actor, AuditAction.modelUndeployed, { modelName, versionId: null }, {
            environment, deploymentId: deployment.id, previousVersionId: pointer.versionId, reason, ...keyDetail(claim),
          }),
          claim(deployment.id));
        if (result.kind === 'moved') return result.deployment;
        throw new ConflictError(`${environment} of "${modelName}" changed while undeploying; look at the deployment history and try again`);
      },
    );
  }

  private newDeployment(
    action: Deployment['action'], version: ModelVersion, environment: string, pointer: DeploymentPointer | null,
    reason: string | null, actor: Actor, restoredDeploymentId: string | null,
  ): Deployment {
    return {
      id: randomUUID(),
      modelName: version.modelName,
      environment,
      action,
      status: 'SUCCEEDED',
      versionId: version.id,
      previousVersionId: pointer?.versionId ?? null,
      reason,
      failureReason: null,
      deployedAt: this.deps.now(),
      deployedBy: actor.name,
      revision: null,
      priorDeploymentId: pointer?.deploymentId ?? null,
      restoredDeploymentId,
    };
  }

  /**
   * A retry of a keyed promotion or rollback: the deployment it made, or, for a refusal (a FAILED
   * deployment), the same refusal again: the same code and message, nothing written.
   */
  private async replay(record: IdempotencyRecord): Promise<Deployment> {
    const d = await this.deployment(record.resultId);
    if (d.status === 'SUCCEEDED') return d;
    const message = d.failureReason ?? 'Refused';
    throw record.refusalCode === 'CONFLICT' ? new ConflictError(message) : new FailedPreconditionError(message);
  }

  /** Records the refusal (with the request's key), then throws `error`. */
  private async refuse(
    action: Deployment['action'], version: ModelVersion, environment: string, pointer: DeploymentPointer | null,
    reason: string | null, error: RegistryError, actor: Actor, claim: Claim = NO_KEY,
  ): Promise<never> {
    const d: Deployment = { ...this.newDeployment(action, version, environment, pointer, reason, actor, null), status: 'FAILED', failureReason: error.message };
    await this.deps.store.recordRefusedDeployment(
      d,
      auditDraft(this.deps, actor, AuditAction.promotionRefused, { modelName: version.modelName, versionId: version.id }, {
        environment,
        action,
        deploymentId: d.id,
        code: error.code,
        failureReason: error.message,
        reason,
        ...keyDetail(claim),
      }),
      claim(d.id, error.code),
    );
    throw error;
  }

  private async deployment(id: string): Promise<Deployment> {
    const [d] = await this.deps.store.getDeployments([id]);
    if (!d) throw new Error(`deployment ${id} is missing from the store`);
    return d;
  }
}

/** The request's idempotency key in its audit event, if it has one. */
function keyDetail(claim: Claim): { idempotencyKey?: string } {
  return claim.key === null ? {} : { idempotencyKey: claim.key };
}

function checkPolicy(p: { metric?: string | null; minRatio: number }): { metric: string | null; minRatio: number } {
  const metric = p.metric == null ? null : checkMetricName('input.requireImprovement.metric', p.metric);
  const minRatio = checkFiniteNumber('input.requireImprovement.minRatio', p.minRatio);
  if (minRatio < 0) throw new InvalidArgumentError('input.requireImprovement.minRatio', 'must not be negative');
  return { metric, minRatio };
}

/** The compare-and-set a promotion asks for: undefined (none), null (nothing deployed) or a version id. */
function expectedCurrent(cmd: Pick<PromoteCommand, 'expectedCurrentVersionId' | 'expectNothingDeployed'>): string | null | undefined {
  const id = cmd.expectedCurrentVersionId ?? null;
  if (cmd.expectNothingDeployed && id !== null) {
    throw new InvalidArgumentError('input.expectNothingDeployed', 'give either expectedCurrentVersionId or expectNothingDeployed, not both');
  }
  if (cmd.expectNothingDeployed) return null;
  return id === null ? undefined : checkVersionIdFormat('input.expectedCurrentVersionId', id);
}
