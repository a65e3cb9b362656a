import 'reflect-metadata';
import { Ctx, Field, Float, ID, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import type { CleanupPlan as DomainPlan } from '../../services/cleanup/cleanup-plan.js';
import type { CleanupOutcome } from '../../services/cleanup/cleanup.service.js';
import type { GraphQLContext } from '../context.js';
import { DateTimeScalar } from '../scalars.js';
import { ModelVersionType } from '../types.js';

@ObjectType('ExpiredUpload', { description: 'A version still PENDING_UPLOAD whose upload URLs expired more than the grace time ago' })
class ExpiredUploadType {
  @Field(() => ModelVersionType, { description: 'The version the cleanup marks FAILED ("upload expired")' }) version!: unknown;
  @Field(() => DateTimeScalar, { description: 'When the last upload URLs issued for it expired' }) uploadUrlsExpiredAt!: Date;
}

@ObjectType('OrphanedStaging', { description: 'Staged bytes no version will complete, which the cleanup removes' })
class OrphanedStagingType {
  @Field(() => String, { nullable: true, description: 'The model the bytes were uploaded for; null for an upload cut off before its end' }) modelName!: string | null;
  @Field(() => String, { nullable: true, description: 'The version id the bytes were uploaded for (it may not exist)' }) versionId!: string | null;
  @Field(() => Int, { description: 'Stored objects' }) objects!: number;
  @Field(() => Float, { description: 'Their total size' }) bytes!: number;
  @Field(() => DateTimeScalar, { description: 'When the newest of them was written' }) lastModified!: Date;
  @Field(() => String, { description: 'Why no version will complete them' }) reason!: string;
}

@ObjectType('CleanupPlan', { description: 'What the cleanup of abandoned uploads would do now (nothing is changed by reading it)' })
class CleanupPlanType {
  @Field(() => DateTimeScalar, {
    description: 'Now minus the upload URL lifetime and the grace time: versions whose last upload URLs were issued, and staged bytes written, before this instant count as abandoned',
  }) cutoff!: Date;
  @Field(() => [ExpiredUploadType], { description: 'Versions to mark FAILED, oldest first (at most 100 per run)' }) expiredUploads!: unknown[];
  @Field(() => [OrphanedStagingType], { description: 'Staged bytes to remove (at most 100 groups per run)' }) orphanedStaging!: unknown[];
}

@ObjectType('CleanupResult', { description: 'What one run of the cleanup of abandoned uploads did' })
class CleanupResultType extends CleanupPlanType {
  @Field(() => [ID], { description: 'Versions marked FAILED by this run' }) failedVersionIds!: string[];
  @Field(() => Float, { description: 'Bytes of staged uploads removed (orphans; a failed version\'s own uploads are removed too, not counted here)' }) removedStagingBytes!: number;
}

function planView(plan: DomainPlan) {
  return {
    cutoff: plan.cutoff,
    expiredUploads: plan.expiredUploads,
    orphanedStaging: plan.orphanedStaging.map(({ group, reason }) => ({
      modelName: group.modelName, versionId: group.versionId, objects: group.keys.length, bytes: group.bytes, lastModified: group.lastModified, reason,
    })),
  };
}

@Resolver()
export class CleanupResolver {
  @Query(() => CleanupPlanType, { description: 'Admin (unscoped): what the cleanup of abandoned uploads would do now; a dry run' })
  async cleanupPlan(@Ctx() ctx: GraphQLContext) {
    return planView(await ctx.services.cleanup.plan(ctx.actor));
  }

  @Mutation(() => CleanupResultType, {
    description: 'Admin (unscoped): runs the cleanup of abandoned uploads now (it also runs every REGISTRY_CLEANUP_INTERVAL_SECONDS). CONFLICT while another process runs it',
  })
  async runCleanup(@Ctx() ctx: GraphQLContext) {
    const outcome: CleanupOutcome = await ctx.services.cleanup.run(ctx.actor);
    return { ...planView(outcome), failedVersionIds: outcome.failedVersions, removedStagingBytes: outcome.removedStagingBytes };
  }
}
