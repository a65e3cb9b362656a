import 'reflect-metadata';
import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import { LIMITS } from '../domain/limits.js';
import type { GraphQLContext } from './context.js';
import { DateTimeScalar } from './scalars.js';
import { AuditEventConnection, AuditVerification, RegistryStats, toConnection } from './types.js';

@Resolver()
export class AuditResolver {
  @Query(() => AuditEventConnection, { description: 'Newest first' })
  async auditEvents(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelName', () => String, { nullable: true }) modelName: string | null,
    @Arg('actor', () => String, { nullable: true }) actor: string | null,
    @Arg('action', () => String, { nullable: true }) action: string | null,
    @Arg('since', () => DateTimeScalar, { nullable: true }) since: Date | null,
    @Arg('until', () => DateTimeScalar, { nullable: true }) until: Date | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultAuditPage }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ) {
    const filter = { modelName: modelName ?? null, actor: actor ?? null, action: action ?? null, since: since ?? null, until: until ?? null };
    return toConnection(await ctx.services.queries.auditEvents(ctx.actor, filter, { first: first ?? LIMITS.defaultAuditPage, after }));
  }

  @Query(() => AuditVerification, { description: 'Recomputes the whole hash chain, checks the registry rows against it, and checks it against every signed checkpoint (truncation, rewrite, a missing or forged checkpoint).' })
  async verifyAuditLog(@Ctx() ctx: GraphQLContext) {
    return ctx.services.checkpoints.verifyAuditLog(ctx.actor);
  }

  @Query(() => RegistryStats)
  async registryStats(@Ctx() ctx: GraphQLContext) {
    return ctx.services.queries.stats(ctx.actor);
  }
}
