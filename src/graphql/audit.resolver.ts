import 'reflect-metadata';
import { Arg, Ctx, Float, Int, Query, Resolver } from 'type-graphql';
import { LIMITS } from '../domain/limits.js';
import type { GraphQLContext } from './context.js';
import { DateTimeScalar } from './scalars.js';
import { AuditEventConnection, toConnection } from './connections.js';
import { AuditEventType, AuditVerification, RegistryStats } from './types.js';

@Resolver()
export class AuditResolver {
  @Query(() => AuditEventConnection, { description: "The audit log, newest first. A scoped token sees its models' events only; token events are for admins" })
  async auditEvents(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelName', () => String, { nullable: true, description: 'Only events about this model' }) modelName: string | null,
    @Arg('actor', () => String, { nullable: true, description: 'Only events by this actor (as AuditEvent.actor shows it)' }) actor: string | null,
    @Arg('action', () => String, { nullable: true, description: 'Only events with this action (an AuditAction name)' }) action: string | null,
    @Arg('since', () => DateTimeScalar, { nullable: true, description: 'Only events at or after this time' }) since: Date | null,
    @Arg('until', () => DateTimeScalar, { nullable: true, description: 'Only events before this time' }) until: Date | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultAuditPage, description: 'Page size, 0-100' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'The endCursor of the previous page' }) after: string | null,
  ) {
    const filter = { modelName: modelName ?? null, actor: actor ?? null, action: action ?? null, since: since ?? null, until: until ?? null };
    return toConnection(await ctx.services.queries.auditEvents(ctx.actor, filter, { first: first ?? LIMITS.defaultAuditPage, after }), after);
  }

  @Query(() => AuditVerification, {
    description: 'Recomputes the whole hash chain, checks the registry rows against it, and checks it against every signed checkpoint (truncation, rewrite, a missing or forged checkpoint). Unscoped tokens.',
  })
  async verifyAuditLog(@Ctx() ctx: GraphQLContext) {
    return ctx.services.checkpoints.verifyAuditLog(ctx.actor);
  }

  @Query(() => RegistryStats, { description: 'Counts over the whole registry (unscoped tokens)' })
  async registryStats(@Ctx() ctx: GraphQLContext) {
    return ctx.services.queries.stats(ctx.actor);
  }

  @Query(() => [AuditEventType], {
    description: 'Unscoped admins: the audit log in sequence order after afterSequence, at most `first` events, with no gap: a page of the export the offline verifier reads (GET /v1/audit/export streams the whole log as JSON lines)',
  })
  async auditExport(
    @Ctx() ctx: GraphQLContext,
    @Arg('afterSequence', () => Float, { nullable: true, defaultValue: 0, description: 'The last sequence already read; 0: from the first event' }) afterSequence: number | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 1000, description: 'Page size, 1-1000' }) first: number | null,
  ) {
    return ctx.services.auditExport.page(ctx.actor, afterSequence ?? 0, first ?? 1000);
  }
}
