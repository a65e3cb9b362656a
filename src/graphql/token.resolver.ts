import 'reflect-metadata';
import { Arg, Ctx, Field, FieldResolver, ID, Mutation, ObjectType, Query, Resolver, Root, registerEnumType } from 'type-graphql';
import type { ApiToken, Principal, Role } from '../domain/token.js';
import { tokenActive } from '../domain/token.js';
import type { CreatedToken } from '../services/token.service.js';
import type { GraphQLContext } from './context.js';
import { DateTimeScalar } from './scalars.js';

export enum TokenRole {
  VIEWER = 'viewer',
  PUBLISHER = 'publisher',
  DEPLOYER = 'deployer',
  ADMIN = 'admin',
}
registerEnumType(TokenRole, { name: 'Role', description: 'Each role includes the ones before it: VIEWER < PUBLISHER < DEPLOYER < ADMIN' });

@ObjectType('ApiToken', { description: 'An API token. Its secret is shown once, at creation; the registry keeps only its hash.' })
export class ApiTokenType {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => TokenRole) role!: Role;
  @Field(() => String, { nullable: true, description: 'A model name, a prefix ending in "*", or null for every model' }) modelScope!: string | null;
  @Field(() => DateTimeScalar, { nullable: true }) expiresAt!: Date | null;
  @Field(() => DateTimeScalar) createdAt!: Date;
  @Field(() => String) createdBy!: string;
  @Field(() => DateTimeScalar, { nullable: true, description: 'Updated at most once a minute' }) lastUsedAt!: Date | null;
  @Field(() => DateTimeScalar, { nullable: true }) revokedAt!: Date | null;
}

@ObjectType()
export class CreatedApiToken {
  @Field(() => ApiTokenType) token!: ApiToken;
  @Field(() => String, { description: 'The bearer secret. Shown only in this response: store it now.' }) secret!: string;
}

@ObjectType('Viewer', { description: 'The caller, as the registry sees it.' })
export class ViewerType {
  @Field(() => String, { description: 'The actor name audit events record' }) name!: string;
  @Field(() => ID) tokenId!: string;
  @Field(() => TokenRole) role!: Role;
  @Field(() => String, { nullable: true }) modelScope!: string | null;
}

@Resolver(() => ApiTokenType)
export class TokenResolver {
  @Query(() => ViewerType, { description: 'Who am I: the token behind this request.' })
  viewer(@Ctx() ctx: GraphQLContext): Principal {
    return ctx.actor;
  }

  @Query(() => [ApiTokenType], { description: 'Every API token (admin). Never the secret or its hash.' })
  async apiTokens(@Ctx() ctx: GraphQLContext): Promise<ApiToken[]> {
    return ctx.services.tokens.list(ctx.actor);
  }

  @Mutation(() => CreatedApiToken, { description: 'Creates a token (admin) and returns its secret once.' })
  async createApiToken(
    @Ctx() ctx: GraphQLContext,
    @Arg('name', () => String) name: string,
    @Arg('role', () => TokenRole) role: TokenRole,
    @Arg('modelScope', () => String, { nullable: true }) modelScope: string | null,
    @Arg('expiresAt', () => DateTimeScalar, { nullable: true }) expiresAt: Date | null,
  ): Promise<CreatedToken> {
    return ctx.services.tokens.create({ name, role: role as Role, modelScope: modelScope ?? null, expiresAt: expiresAt ?? null }, ctx.actor);
  }

  @Mutation(() => ApiTokenType, { description: 'Revokes a token (admin); it stops working at once.' })
  async revokeApiToken(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<ApiToken> {
    return ctx.services.tokens.revoke(id, ctx.actor);
  }

  @FieldResolver(() => Boolean, { description: 'Neither revoked nor expired' })
  active(@Root() token: ApiToken): boolean {
    return tokenActive(token, new Date());
  }
}
