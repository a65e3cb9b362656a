import 'reflect-metadata';
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { DEFAULT_ENVIRONMENT } from '../domain/limits.js';
import type { Model, ModelVersion, VersionStatus } from '../domain/model.js';
import { checkEnvironment } from '../domain/validation.js';
import { LIMITS } from '../domain/limits.js';
import { type GraphQLContext, pointerKey } from './context.js';
import { ModelConnection, ModelType, ModelVersionConnection, ModelVersionStatus, ModelVersionType, toConnection } from './types.js';

@Resolver(() => ModelType)
export class ModelResolver {
  @Query(() => ModelConnection, { description: 'Models by name' })
  async models(
    @Ctx() ctx: GraphQLContext,
    @Arg('search', () => String, { nullable: true }) search: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultPage }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ) {
    return toConnection(await ctx.services.queries.models(ctx.actor, search, { first: first ?? LIMITS.defaultPage, after }));
  }

  @Query(() => ModelType, { nullable: true })
  async model(@Ctx() ctx: GraphQLContext, @Arg('name', () => String) name: string): Promise<Model | null> {
    return ctx.services.queries.model(ctx.actor, name);
  }

  @Mutation(() => ModelType)
  async updateModel(
    @Ctx() ctx: GraphQLContext,
    @Arg('name', () => String) name: string,
    @Arg('description', () => String, { nullable: true }) description: string | null | undefined,
  ): Promise<Model> {
    return ctx.services.versions.updateModel(name, description, ctx.actor);
  }

  @FieldResolver(() => ID, { description: 'The model name again, as an id: client caches (Apollo Client, urql) normalise models by it' })
  id(@Root() model: Model): string {
    return model.name;
  }

  @FieldResolver(() => ModelVersionType, { nullable: true })
  async latestVersion(@Root() model: Model, @Ctx() ctx: GraphQLContext): Promise<ModelVersion | null> {
    return ctx.services.queries.latestVersion(model.name);
  }

  @FieldResolver(() => ModelVersionType, { nullable: true, description: 'Same as deployed(environment: "production")' })
  async production(@Root() model: Model, @Ctx() ctx: GraphQLContext): Promise<ModelVersion | null> {
    return deployedIn(ctx, model.name, DEFAULT_ENVIRONMENT);
  }

  @FieldResolver(() => ModelVersionType, { nullable: true })
  async deployed(@Root() model: Model, @Ctx() ctx: GraphQLContext, @Arg('environment', () => String) environment: string): Promise<ModelVersion | null> {
    return deployedIn(ctx, model.name, checkEnvironment('environment', environment));
  }

  @FieldResolver(() => ModelVersionConnection, { description: 'Newest first' })
  async versions(
    @Root() model: Model,
    @Ctx() ctx: GraphQLContext,
    @Arg('status', () => ModelVersionStatus, { nullable: true }) status: ModelVersionStatus | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultPage }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ) {
    return toConnection(await ctx.services.queries.versions(ctx.actor, model.name, status as VersionStatus | null, { first: first ?? LIMITS.defaultPage, after }));
  }
}

async function deployedIn(ctx: GraphQLContext, modelName: string, environment: string): Promise<ModelVersion | null> {
  const pointer = await ctx.loaders.pointer.load(pointerKey(modelName, environment));
  return pointer ? ctx.loaders.version.load(pointer.versionId) : null;
}
