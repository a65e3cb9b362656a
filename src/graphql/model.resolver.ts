import 'reflect-metadata';
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { DEFAULT_ENVIRONMENT } from '../domain/limits.js';
import type { Model, ModelVersion, VersionStatus } from '../domain/model.js';
import { checkEnvironment } from '../domain/validation.js';
import { LIMITS } from '../domain/limits.js';
import { ModelConnection, ModelVersionConnection, toConnection } from './connections.js';
import { type GraphQLContext, pointerKey } from './context.js';
import { ModelType, ModelVersionStatus, ModelVersionType } from './types.js';

const PAGE = { first: 'Page size, 0-100', after: 'The endCursor of the previous page' };

@Resolver(() => ModelType)
export class ModelResolver {
  @Query(() => ModelConnection, { description: 'Models by name (those the token may see)' })
  async models(
    @Ctx() ctx: GraphQLContext,
    @Arg('search', () => String, { nullable: true, description: 'Only models whose name contains this text' }) search: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultPage, description: PAGE.first }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: PAGE.after }) after: string | null,
  ) {
    return toConnection(await ctx.services.queries.models(ctx.actor, search, { first: first ?? LIMITS.defaultPage, after }), after);
  }

  @Query(() => ModelType, { nullable: true, description: 'One model; null if it does not exist (or is outside the token\'s scope)' })
  async model(@Ctx() ctx: GraphQLContext, @Arg('name', () => String, { description: 'The model name' }) name: string): Promise<Model | null> {
    return ctx.services.queries.model(ctx.actor, name);
  }

  @Mutation(() => ModelType, { description: 'Changes what is given of a model (publisher); a change to nothing writes nothing. Audited as MODEL_UPDATED.' })
  async updateModel(
    @Ctx() ctx: GraphQLContext,
    @Arg('name', () => String, { description: 'The model name' }) name: string,
    @Arg('description', () => String, { nullable: true, description: 'New description; null clears it; absent: unchanged' }) description: string | null | undefined,
    @Arg('primaryMetric', () => String, { nullable: true, description: 'New primary metric, a metric name (^[A-Za-z][A-Za-z0-9_.-]{0,63}$); null or absent: unchanged' })
    primaryMetric: string | null | undefined,
  ): Promise<Model> {
    return ctx.services.versions.updateModel(name, { description, primaryMetric }, ctx.actor);
  }

  @FieldResolver(() => ID, { description: 'The model name again, as an id: client caches (Apollo Client, urql) normalise models by it' })
  id(@Root() model: Model): string {
    return model.name;
  }

  @FieldResolver(() => String, { description: 'The metric compareVersions and improvement policies use when none is given: roc_auc until updateModel sets another' })
  primaryMetric(@Root() model: Model): string {
    return model.primaryMetric;
  }

  @FieldResolver(() => ModelVersionType, { nullable: true, description: 'The highest-numbered version, in any status; null before the first' })
  async latestVersion(@Root() model: Model, @Ctx() ctx: GraphQLContext): Promise<ModelVersion | null> {
    return ctx.loaders.latestVersion.load(model.name);
  }

  @FieldResolver(() => ModelVersionType, { nullable: true, description: 'Same as deployed(environment: "production")' })
  async production(@Root() model: Model, @Ctx() ctx: GraphQLContext): Promise<ModelVersion | null> {
    return deployedIn(ctx, model.name, DEFAULT_ENVIRONMENT);
  }

  @FieldResolver(() => ModelVersionType, { nullable: true, description: 'The version deployed in the environment now; null if none' })
  async deployed(
    @Root() model: Model,
    @Ctx() ctx: GraphQLContext,
    @Arg('environment', () => String, { description: 'The environment, ^[a-z][a-z0-9-]{0,31}$' }) environment: string,
  ): Promise<ModelVersion | null> {
    return deployedIn(ctx, model.name, checkEnvironment('environment', environment));
  }

  @FieldResolver(() => ModelVersionConnection, { description: 'Newest first' })
  async versions(
    @Root() model: Model,
    @Ctx() ctx: GraphQLContext,
    @Arg('status', () => ModelVersionStatus, { nullable: true, description: 'Only versions in this status' }) status: ModelVersionStatus | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultPage, description: PAGE.first }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: PAGE.after }) after: string | null,
  ) {
    return toConnection(await ctx.services.queries.versions(ctx.actor, model.name, status as VersionStatus | null, { first: first ?? LIMITS.defaultPage, after }), after);
  }
}

async function deployedIn(ctx: GraphQLContext, modelName: string, environment: string): Promise<ModelVersion | null> {
  const pointer = await ctx.loaders.pointer.load(pointerKey(modelName, environment));
  return pointer?.versionId ? ctx.loaders.version.load(pointer.versionId) : null;
}
