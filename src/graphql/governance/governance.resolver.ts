import 'reflect-metadata';
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { DeploymentObservation, EnvironmentPolicy, PromotionRequest } from '../../domain/governance.js';
import { LIMITS } from '../../domain/limits.js';
import type { Deployment, ModelVersion } from '../../domain/model.js';
import type { GraphQLContext } from '../context.js';
import { toConnection } from '../connections.js';
import { PromoteInput } from '../inputs.js';
import { DateTimeScalar } from '../scalars.js';
import { DeploymentType, ModelVersionType } from '../types.js';
import {
  DeploymentObservationType, EnvironmentPolicyType, PromotionRequestConnection, PromotionRequestType, PromotionStatusEnum,
  ReportDeploymentStatusInput, SetEnvironmentPolicyInput, UndeployInput,
} from './governance.types.js';

/** Environment policies, promotion requests and approvals, servingAt. */
@Resolver(() => PromotionRequestType)
export class GovernanceResolver {
  @Query(() => EnvironmentPolicyType, { nullable: true, description: "The policy that governs the model in the environment: its own, else the default (\"*\"); null: none. modelName \"*\" reads the default itself" })
  async environmentPolicy(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelName', () => String, { description: 'The model, or "*"' }) modelName: string,
    @Arg('environment', () => String, { nullable: true, defaultValue: 'production', description: 'The environment' }) environment: string | null,
  ): Promise<EnvironmentPolicy | null> {
    return ctx.services.governance.policies.get(ctx.actor, modelName, environment);
  }

  @Mutation(() => EnvironmentPolicyType, { description: 'Sets the policy of an environment for a model, or for every model ("*": unscoped admins) (admin). Audited (ENVIRONMENT_POLICY_SET).' })
  async setEnvironmentPolicy(@Ctx() ctx: GraphQLContext, @Arg('input', () => SetEnvironmentPolicyInput, { description: 'The policy, replaced as a whole' }) input: SetEnvironmentPolicyInput): Promise<EnvironmentPolicy> {
    return ctx.services.governance.policies.set({
      modelName: input.modelName, environment: input.environment, requiredApprovals: input.requiredApprovals, allowedActors: input.allowedActors,
      requireImprovement: input.requireImprovement ? { metric: input.requireImprovement.metric, minRatio: input.requireImprovement.minRatio ?? 1 } : null,
    }, ctx.actor);
  }

  @Query(() => DeploymentType, { nullable: true, description: 'The deployment that was live in the environment at that instant (null: none yet), from the deployment history by an index' })
  async servingAt(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelName', () => String, { description: 'The model' }) modelName: string,
    @Arg('at', () => DateTimeScalar, { description: 'The instant, e.g. 2026-03-03T14:05:00Z' }) at: Date,
    @Arg('environment', () => String, { nullable: true, defaultValue: 'production', description: 'The environment' }) environment: string | null,
  ): Promise<Deployment | null> {
    return ctx.services.governance.observed.servingAt(ctx.actor, modelName, environment, at);
  }

  @Query(() => PromotionRequestConnection, { description: "A model's promotion requests, newest first" })
  async promotionRequests(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelName', () => String, { description: 'The model' }) modelName: string,
    @Arg('status', () => PromotionStatusEnum, { nullable: true, description: 'Only this status; absent: all' }) status: PromotionStatusEnum | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultPage, description: 'Page size, 0-100' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'The endCursor of the previous page' }) after: string | null,
  ) {
    const page = await ctx.services.governance.requests.list(ctx.actor, { modelName, status, first: first ?? LIMITS.defaultPage, after: after ?? null });
    return toConnection(page, after);
  }

  @Query(() => PromotionRequestType, { nullable: true, description: 'One promotion request; null if unknown' })
  async promotionRequest(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID, { description: 'The request id' }) id: string): Promise<PromotionRequest | null> {
    return ctx.services.governance.requests.get(ctx.actor, id);
  }

  @Mutation(() => PromotionRequestType, { description: 'Asks for a promotion into an environment whose policy needs approvals (deployer). Audited (PROMOTION_REQUESTED).' })
  async requestPromotion(@Ctx() ctx: GraphQLContext, @Arg('input', () => PromoteInput, { description: 'What to deploy where; expectedCurrentVersionId is captured now unless given' }) input: PromoteInput): Promise<PromotionRequest> {
    return ctx.services.governance.requests.request({
      versionId: input.versionId, environment: input.environment, reason: input.reason, expectedCurrentVersionId: input.expectedCurrentVersionId,
      expectNothingDeployed: input.expectNothingDeployed, requireImprovement: input.requireImprovement ?? null, idempotencyKey: input.idempotencyKey ?? null,
    }, ctx.actor);
  }

  @Mutation(() => PromotionRequestType, { description: 'Approves a request (deployer; not its requester, not an earlier approver). The last approval executes the promotion. Audited.' })
  async approvePromotion(
    @Ctx() ctx: GraphQLContext,
    @Arg('requestId', () => ID, { description: 'The request' }) requestId: string,
    @Arg('comment', () => String, { nullable: true, description: 'Why' }) comment: string | null,
  ): Promise<PromotionRequest> {
    return ctx.services.governance.requests.approve(requestId, comment, ctx.actor);
  }

  @Mutation(() => PromotionRequestType, { description: 'Rejects a PENDING request (deployer). Audited (PROMOTION_REJECTED).' })
  async rejectPromotion(
    @Ctx() ctx: GraphQLContext,
    @Arg('requestId', () => ID, { description: 'The request' }) requestId: string,
    @Arg('comment', () => String, { nullable: true, description: 'Why' }) comment: string | null,
  ): Promise<PromotionRequest> {
    return ctx.services.governance.requests.reject(requestId, comment, ctx.actor);
  }

  @Mutation(() => PromotionRequestType, { description: 'Cancels a PENDING request (deployer). Audited (PROMOTION_CANCELLED).' })
  async cancelPromotion(
    @Ctx() ctx: GraphQLContext,
    @Arg('requestId', () => ID, { description: 'The request' }) requestId: string,
    @Arg('comment', () => String, { nullable: true, description: 'Why' }) comment: string | null,
  ): Promise<PromotionRequest> {
    return ctx.services.governance.requests.cancel(requestId, comment, ctx.actor);
  }

  @FieldResolver(() => ModelVersionType, { description: 'The version to deploy' })
  async version(@Root() r: PromotionRequest, @Ctx() ctx: GraphQLContext): Promise<ModelVersion> {
    const v = await ctx.loaders.version.load(r.versionId);
    if (!v) throw new Error(`promotion request ${r.id} names missing version ${r.versionId}`);
    return v;
  }

  @FieldResolver(() => DeploymentType, { nullable: true, description: 'EXECUTED: the deployment it made' })
  async deployment(@Root() r: PromotionRequest, @Ctx() ctx: GraphQLContext): Promise<Deployment | null> {
    return ctx.services.governance.requests.deployment(r);
  }
}

/** Observed state on Deployment: what workers report they serve. */
@Resolver(() => DeploymentType)
export class DeploymentObservedResolver {
  @Mutation(() => DeploymentObservationType, { description: 'An inference worker reports what it serves (worker or deployer). A report about a deployment no longer live is recorded too. Audited when the state of an instance changes.' })
  async reportDeploymentStatus(@Ctx() ctx: GraphQLContext, @Arg('input', () => ReportDeploymentStatusInput, { description: 'The deployment, the instance and its state' }) input: ReportDeploymentStatusInput): Promise<DeploymentObservation> {
    return ctx.services.governance.observed.report({ deploymentId: input.deploymentId, instance: input.instance, state: input.state, message: input.message }, ctx.actor);
  }

  @Mutation(() => DeploymentType, { description: 'Empties the environment: an UNDEPLOY deployment with no version (deployer). productionModel then answers null and the download route 404; rollbackModel puts the previous version back. Audited (MODEL_UNDEPLOYED).' })
  async undeployModel(@Ctx() ctx: GraphQLContext, @Arg('input', () => UndeployInput, { description: 'Which environment, with an optional compare-and-set' }) input: UndeployInput): Promise<Deployment> {
    return ctx.services.deployments.undeploy({
      modelName: input.modelName, environment: input.environment, expectedCurrentVersionId: input.expectedCurrentVersionId, reason: input.reason,
      idempotencyKey: input.idempotencyKey ?? null,
    }, ctx.actor);
  }

  @FieldResolver(() => [DeploymentObservationType], { description: 'The latest report of each instance, newest first (at most `first`, 0-1000)' })
  async observed(
    @Root() d: Deployment, @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 100, description: 'How many instances at most, 0-1000' }) first: number | null,
  ): Promise<DeploymentObservation[]> {
    return ctx.services.governance.observed.observed(d, first);
  }

  @FieldResolver(() => Int, { description: 'How many instances last reported SERVING for this deployment' })
  async servingInstances(@Root() d: Deployment, @Ctx() ctx: GraphQLContext): Promise<number> {
    return ctx.services.governance.observed.servingInstances(d);
  }
}
