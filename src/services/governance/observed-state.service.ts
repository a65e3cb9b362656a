import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../domain/errors.js';
import { type DeploymentObservation, INSTANCE_PATTERN, OBSERVED_LIST_MAX, OBSERVED_STATES, type ObservedState } from '../../domain/governance.js';
import { DEFAULT_ENVIRONMENT, LIMITS } from '../../domain/limits.js';
import type { Deployment } from '../../domain/model.js';
import type { Principal } from '../../domain/token.js';
import { checkEnvironment, checkModelName, checkOptionalText } from '../../domain/validation.js';
import type { AccessService } from '../access.service.js';
import { AuditAction, type ServiceDeps, auditDraft } from '../service-deps.js';

export interface ReportStatusCommand {
  deploymentId: string;
  instance: string;
  state: ObservedState;
  message?: string | null;
}

/**
 * What runs where: inference workers report the state of a deployment on their instance
 * (desired state is the deployment history; this is the observed state), and servingAt answers
 * which deployment was live at an instant, from the history's index.
 */
export class ObservedStateService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
  ) {}

  /**
   * Records the report (the latest per instance wins). A report about a deployment that is no
   * longer live is recorded too: a worker draining an old version says so. Audited when the
   * instance's state changes (its first report included), not for each repeat (heartbeats).
   */
  async report(cmd: ReportStatusCommand, actor: Principal): Promise<DeploymentObservation> {
    if (typeof cmd.deploymentId !== 'string' || cmd.deploymentId.length === 0 || cmd.deploymentId.length > 100) {
      throw new InvalidArgumentError('input.deploymentId', 'must be a deployment id');
    }
    if (!INSTANCE_PATTERN.test(cmd.instance)) throw new InvalidArgumentError('input.instance', `must match ${INSTANCE_PATTERN.source}`);
    if (!OBSERVED_STATES.includes(cmd.state)) throw new InvalidArgumentError('input.state', `must be one of ${OBSERVED_STATES.join(', ')}`);
    const message = checkOptionalText('input.message', cmd.message, LIMITS.reasonChars);
    const [deployment] = await this.deps.store.getDeployments([cmd.deploymentId]);
    if (!deployment || !this.access.canSee(actor, deployment.modelName)) throw new NotFoundError(`Deployment ${cmd.deploymentId} does not exist`);
    await this.access.require(actor, 'report', deployment.modelName, 'report deployment status');
    if (deployment.status !== 'SUCCEEDED' || deployment.versionId === null) {
      throw new FailedPreconditionError(`Deployment ${deployment.id} is ${deployment.action === 'UNDEPLOY' ? 'an undeploy' : deployment.status}: nothing was deployed to serve`);
    }
    const o: DeploymentObservation = {
      deploymentId: deployment.id, modelName: deployment.modelName, environment: deployment.environment, instance: cmd.instance, state: cmd.state,
      message, reportedAt: this.deps.now(), reportedBy: actor.name,
    };
    await this.deps.store.recordObservation(o, (previous) =>
      previous?.state === o.state
        ? null
        : auditDraft(this.deps, actor, AuditAction.deploymentStatusReported, { modelName: o.modelName, versionId: deployment.versionId }, {
          deploymentId: o.deploymentId, environment: o.environment, instance: o.instance, state: o.state, previousState: previous?.state ?? null, message,
        }));
    return o;
  }

  /** The latest report of each instance, newest first, at most `first` (bounded by OBSERVED_LIST_MAX). */
  async observed(deployment: Deployment, first: number | null | undefined): Promise<DeploymentObservation[]> {
    const n = first ?? 100;
    if (!Number.isInteger(n) || n < 0 || n > OBSERVED_LIST_MAX) throw new InvalidArgumentError('first', `must be 0 to ${OBSERVED_LIST_MAX}`);
    return this.deps.store.listObservations(deployment.id, n);
  }

  servingInstances(deployment: Deployment): Promise<number> {
    return this.deps.store.countObservations(deployment.id, 'SERVING');
  }

  /** The deployment that was live in the environment at `at` (null: none yet). NOT_FOUND for an unknown model. */
  async servingAt(principal: Principal, modelName: string, environment: string | null | undefined, at: Date): Promise<Deployment | null> {
    checkModelName('modelName', modelName);
    const env = checkEnvironment('environment', environment ?? DEFAULT_ENVIRONMENT);
    if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new InvalidArgumentError('at', 'must be a date-time');
    this.access.requireVisible(principal, modelName);
    if (!(await this.deps.store.getModel(modelName))) throw new NotFoundError(`Model "${modelName}" does not exist`);
    const live = await this.deps.store.deploymentLiveAt(modelName, env, at);
    // After an undeploy nothing was live until the next move.
    return live?.action === 'UNDEPLOY' ? null : live;
  }
}
