import 'reflect-metadata';
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { ApiToken, Principal, Role } from '../domain/token.js';
import { LIMITS } from '../domain/limits.js';
import { tokenActive } from '../domain/token.js';
import type { CreatedToken } from '../services/token.service.js';
import type { GraphQLContext } from './context.js';
import { ApiTokenConnection, toConnection } from './connections.js';
import { DateTimeScalar } from './scalars.js';
import { ApiTokenType, CreatedApiToken, TokenRole, ViewerType } from './token-types.js';

@Resolver(() => ApiTokenType)
export class TokenResolver {
  @Query(() => ViewerType, { description: 'Who am I: the token behind this request.' })
  viewer(@Ctx() ctx: GraphQLContext): Principal {
    return ctx.actor;
  }

  @Query(() => [ApiTokenType], { description: 'Every API token (admin), newest first. Never the secret or its hash. To page, use apiTokensConnection.' })
  async apiTokens(@Ctx() ctx: GraphQLContext): Promise<ApiToken[]> {
    return ctx.services.tokens.list(ctx.actor);
  }

  @Query(() => ApiTokenConnection, { description: 'The API tokens (admin), newest first, a page at a time. Never the secret or its hash.' })
  async apiTokensConnection(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultPage, description: 'Page size, 0-100' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'The endCursor of the previous page' }) after: string | null,
  ) {
    return toConnection(await ctx.services.tokens.page(ctx.actor, { first: first ?? LIMITS.defaultPage, after: after ?? null }), after);
  }

  @Mutation(() => CreatedApiToken, { description: 'Creates a token (admin) and returns its secret once.' })
  async createApiToken(
    @Ctx() ctx: GraphQLContext,
    @Arg('name', () => String, { description: 'A label, e.g. the pipeline that will use it (1-100 characters)' }) name: string,
    @Arg('role', () => TokenRole, { description: 'What it may do' }) role: TokenRole,
    @Arg('modelScope', () => String, { nullable: true, description: 'A model name or a prefix ending in "*" (e.g. "fraud-*"); null: every model' }) modelScope: string | null,
    @Arg('expiresAt', () => DateTimeScalar, { nullable: true, description: 'When it stops working (in the future); null: never' }) expiresAt: Date | null,
    @Arg('environments', () => [String], {
      nullable: true,
      description: 'The only environments it may promote to, roll back or undeploy in (1-20 names, e.g. ["staging"]); null: every environment',
    })
    environments: string[] | null,
  ): Promise<CreatedToken> {
    return ctx.services.tokens.create(
      { name, role: role as Role, modelScope: modelScope ?? null, expiresAt: expiresAt ?? null, environments: environments ?? null },
      ctx.actor,
    );
  }

  @Mutation(() => ApiTokenType, { description: 'Revokes a token (admin); it stops working at once.' })
  async revokeApiToken(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID, { description: 'The token id (not the secret)' }) id: string): Promise<ApiToken> {
    return ctx.services.tokens.revoke(id, ctx.actor);
  }

  @FieldResolver(() => Boolean, { description: 'Neither revoked nor expired' })
  active(@Root() token: ApiToken): boolean {
    return tokenActive(token, new Date());
  }
}
