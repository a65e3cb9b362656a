import 'reflect-metadata';
import { Arg, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import type { ModelVersion } from '../../domain/model.js';
import { retentionEnds } from '../../domain/retention.js';
import type { GraphQLContext } from '../context.js';
import { DateTimeScalar } from '../scalars.js';
import { ModelVersionType } from '../types.js';

/** Retention and legal hold (docs/operations.md): unscoped admins only; every change audited. */
@Resolver(() => ModelVersionType)
export class RetentionResolver {
  @Mutation(() => ModelVersionType, {
    description:
      'Sets (on: true) or releases (on: false) a legal hold on a version (admin, unscoped). While held, the version cannot be archived nor purged. ' +
      'Audited as LEGAL_HOLD_SET / LEGAL_HOLD_RELEASED with the reason; asking for the state the version is already in writes nothing',
  })
  async setLegalHold(
    @Ctx() ctx: GraphQLContext,
    @Arg('versionId', () => ID, { description: 'The version' }) versionId: string,
    @Arg('on', () => Boolean, { description: 'true: hold; false: release' }) on: boolean,
    @Arg('reason', () => String, { description: 'Why (e.g. a case reference), for the audit log; 1-1000 characters' }) reason: string,
  ): Promise<ModelVersion> {
    return ctx.services.retention.setLegalHold(versionId, on, reason, ctx.actor);
  }

  @Mutation(() => ModelVersionType, {
    description:
      'Deletes the artifacts of an ARCHIVED version whose retention is over (retainedUntil) and that is not on legal hold (admin, unscoped); ' +
      'keeps its metadata and audit history. Recorded (purgedAt, MODEL_VERSION_PURGED) before any byte is deleted; calling it again on a ' +
      'purged version finishes a purge that was cut off. FAILED_PRECONDITION, with the reason, otherwise',
  })
  async purgeModelVersion(
    @Ctx() ctx: GraphQLContext,
    @Arg('versionId', () => ID, { description: 'The ARCHIVED version whose artifacts to delete' }) versionId: string,
    @Arg('reason', () => String, { description: 'Why, for the audit log; 1-1000 characters' }) reason: string,
  ): Promise<ModelVersion> {
    return ctx.services.retention.purge(versionId, reason, ctx.actor);
  }

  @FieldResolver(() => DateTimeScalar, {
    description: 'Until when its artifacts are under retention (createdAt + REGISTRY_RETENTION_DAYS): no API deletes them before, and purgeModelVersion only after',
  })
  retainedUntil(@Root() version: ModelVersion, @Ctx() ctx: GraphQLContext): Date {
    return retentionEnds(version, ctx.services.retention.retentionDays);
  }
}
