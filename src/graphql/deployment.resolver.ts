import 'reflect-metadata';
import { Arg, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Deployment, ModelVersion } from '../domain/model.js';
import { LIMITS } from '../domain/limits.js';
import { type GraphQLContext, pointerKey } from './context.js';
import { PromoteInput, RollbackInput } from './inputs.js';
import { DeploymentConnection, toConnection } from './connections.js';
import { DeploymentType, ModelVersionType } from './types.js';

@Resolver(() => DeploymentType)
export class DeploymentResolver {
  @Query(() => DeploymentConnection, { description: "A model's promotions and rollbacks (FAILED ones too), newest first" })
  async deploymentHistory(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelName', () => String, { description: 'The model' }) modelName: string,
    @Arg('environment', () => String, { nullable: true, description: 'Only this environment; absent: all' }) environment: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultPage, description: 'Page size, 0-100' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'The endCursor of the previous page' }) after: string | null,
  ) {
    return toConnection(await ctx.services.queries.deploymentHistory(ctx.actor, modelName, environment, { first: first ?? LIMITS.defaultPage, after }), after);
  }

  @Mutation(() => DeploymentType, { description: 'Deploys a READY version to the environment and demotes the one there, atomically.' })
  async promoteModelVersion(@Ctx() ctx: GraphQLContext, @Arg('input', () => PromoteInput, { description: 'What to deploy where, and the checks to make first' }) input: PromoteInput): Promise<Deployment> {
    return ctx.services.deployments.promote(
      {
        versionId: input.versionId,
        environment: input.environment,
        reason: input.reason,
        expectedCurrentVersionId: input.expectedCurrentVersionId,
        expectNothingDeployed: input.expectNothingDeployed,
        requireImprovement: input.requireImprovement
          ? { metric: input.requireImprovement.metric, minRatio: input.requireImprovement.minRatio ?? 1 }
          : null,
        idempotencyKey: input.idempotencyKey ?? null,
      },
      ctx.actor,
    );
  }

  @Mutation(() => DeploymentType, { description: 'Puts an earlier version back in the environment (the one before the current, or toVersionId), atomically' })
  async rollbackModel(@Ctx() ctx: GraphQLContext, @Arg('input', () => RollbackInput, { description: 'Which environment, and to what' }) input: RollbackInput): Promise<Deployment> {
    return ctx.services.deployments.rollback(
      { modelName: input.modelName, environment: input.environment, toVersionId: input.toVersionId, reason: input.reason, idempotencyKey: input.idempotencyKey ?? null },
      ctx.actor,
    );
  }

  @FieldResolver(() => ModelVersionType, { nullable: true, description: 'The version this deployment put (or tried to put) in place; null only for UNDEPLOY (see previousVersion)' })
  async version(@Root() d: Deployment, @Ctx() ctx: GraphQLContext): Promise<ModelVersion | null> {
    if (d.versionId === null) return null;
    const v = await ctx.loaders.version.load(d.versionId);
    if (!v) throw new Error(`deployment ${d.id} names missing version ${d.versionId}`);
    return v;
  }

  @FieldResolver(() => ModelVersionType, { nullable: true, description: 'The version it replaced, if any' })
  async previousVersion(@Root() d: Deployment, @Ctx() ctx: GraphQLContext): Promise<ModelVersion | null> {
    return d.previousVersionId ? ctx.loaders.version.load(d.previousVersionId) : null;
  }

  @FieldResolver(() => Boolean, { description: "True only for the environment's current SUCCEEDED deployment" })
  async active(@Root() d: Deployment, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    if (d.status !== 'SUCCEEDED') return false;
    const pointer = await ctx.loaders.pointer.load(pointerKey(d.modelName, d.environment));
    return pointer?.deploymentId === d.id;
  }
}
