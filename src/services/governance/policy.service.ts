import { InvalidArgumentError, NotFoundError } from '../../domain/errors.js';
import { ANY_MODEL, type EnvironmentPolicy } from '../../domain/governance.js';
import { DEFAULT_ENVIRONMENT } from '../../domain/limits.js';
import type { Principal } from '../../domain/token.js';
import { checkEnvironment, checkFiniteNumber, checkMetricName, checkModelName, checkText } from '../../domain/validation.js';
import type { RegistryStore } from '../../stores/registry.store.js';
import type { AccessService } from '../access.service.js';
import { AuditAction, type ServiceDeps, auditDraft } from '../service-deps.js';

export interface SetPolicyCommand {
  modelName: string;
  environment?: string | null;
  requiredApprovals?: number | null;
  requireImprovement?: { metric?: string | null; minRatio: number } | null;
  allowedActors?: string[] | null;
}

/** The policy that governs (model, environment): the model's own, else the default ('*'), else none. */
export async function effectivePolicy(store: RegistryStore, modelName: string, environment: string): Promise<EnvironmentPolicy | null> {
  return (await store.getEnvironmentPolicy(modelName, environment)) ?? (await store.getEnvironmentPolicy(ANY_MODEL, environment));
}

/** Environment policies: set by unscoped admins, read by anyone who can see the model. */
export class PolicyService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
  ) {}

  async set(cmd: SetPolicyCommand, actor: Principal): Promise<EnvironmentPolicy> {
    const modelName = cmd.modelName === ANY_MODEL ? ANY_MODEL : checkModelName('input.modelName', cmd.modelName);
    // A default for every model is registry-wide administration: unscoped admins only.
    await this.access.require(actor, 'admin', modelName === ANY_MODEL ? null : modelName, 'set environment policies');
    const environment = checkEnvironment('input.environment', cmd.environment ?? DEFAULT_ENVIRONMENT);
    const requiredApprovals = cmd.requiredApprovals ?? 0;
    if (!Number.isInteger(requiredApprovals) || requiredApprovals < 0 || requiredApprovals > 10) {
      throw new InvalidArgumentError('input.requiredApprovals', 'must be an integer from 0 to 10');
    }
    let requireImprovement: EnvironmentPolicy['requireImprovement'] = null;
    if (cmd.requireImprovement) {
      const metric = cmd.requireImprovement.metric == null ? null : checkMetricName('input.requireImprovement.metric', cmd.requireImprovement.metric);
      const minRatio = checkFiniteNumber('input.requireImprovement.minRatio', cmd.requireImprovement.minRatio);
      if (minRatio < 0) throw new InvalidArgumentError('input.requireImprovement.minRatio', 'must not be negative');
      requireImprovement = { metric, minRatio };
    }
    let allowedActors: string[] | null = null;
    if (cmd.allowedActors != null) {
      if (cmd.allowedActors.length === 0 || cmd.allowedActors.length > 50) throw new InvalidArgumentError('input.allowedActors', 'give 1 to 50 actors, or null for any deployer');
      allowedActors = [...new Set(cmd.allowedActors.map((a, i) => checkText(`input.allowedActors[${i}]`, a, 200)))];
    }
    const policy: EnvironmentPolicy = {
      modelName, environment, requiredApprovals, requireImprovement, allowedActors, updatedAt: this.deps.now(), updatedBy: actor.name,
    };
    return this.deps.store.setEnvironmentPolicy(
      policy,
      auditDraft(this.deps, actor, AuditAction.environmentPolicySet, { modelName: modelName === ANY_MODEL ? null : modelName, versionId: null }, {
        policyModelName: modelName, environment, requiredApprovals, requireImprovement, allowedActors,
      }),
    );
  }

  /** The policy that applies to (model, environment), inherited from '*' when the model has none; null: none. */
  async get(principal: Principal, modelName: string, environment: string | null | undefined): Promise<EnvironmentPolicy | null> {
    const env = checkEnvironment('environment', environment ?? DEFAULT_ENVIRONMENT);
    if (modelName === ANY_MODEL) return this.deps.store.getEnvironmentPolicy(ANY_MODEL, env);
    checkModelName('modelName', modelName);
    this.access.requireVisible(principal, modelName);
    if (!(await this.deps.store.getModel(modelName))) throw new NotFoundError(`Model "${modelName}" does not exist`);
    return effectivePolicy(this.deps.store, modelName, env);
  }
}
