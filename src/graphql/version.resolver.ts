import 'reflect-metadata';
import { Arg, Ctx, FieldResolver, Float, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { ModelVersion, SortDirection as DomainSortDirection, VersionStatus } from '../domain/model.js';
import { metricValue } from '../domain/policy.js';
import type { PresignedRequest } from '../artifacts/artifact.store.js';
import type { RegisteredVersion } from '../services/version.service.js';
import type { UploadVerification } from '../services/completion/verification.js';
import { LIMITS } from '../domain/limits.js';
import type { GraphQLContext } from './context.js';
import { RegisterModelVersionInput } from './inputs.js';
import {
  type ArtifactParent, ArtifactType, ArtifactUpload, DeploymentConnection, ModelVersionConnection, ModelVersionStatus, ModelVersionType,
  PresignedUrl, RegisterModelVersionPayload, SortDirection, UploadVerificationType, VersionComparison, toConnection,
} from './types.js';

@Resolver(() => ModelVersionType)
export class VersionResolver {
  @Query(() => ModelVersionType, { nullable: true })
  async modelVersion(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<ModelVersion | null> {
    return ctx.services.queries.version(ctx.actor, id);
  }

  @Query(() => ModelVersionConnection, { description: 'Newest first' })
  async modelVersions(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelName', () => String) modelName: string,
    @Arg('status', () => ModelVersionStatus, { nullable: true }) status: ModelVersionStatus | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultPage }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ) {
    return toConnection(await ctx.services.queries.versions(ctx.actor, modelName, status as VersionStatus | null, { first: first ?? LIMITS.defaultPage, after }));
  }

  @Query(() => ModelVersionType, { nullable: true, description: 'The version deployed in the environment now; null if none.' })
  async productionModel(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelName', () => String) modelName: string,
    @Arg('environment', () => String, { nullable: true, defaultValue: 'production' }) environment: string | null,
  ): Promise<ModelVersion | null> {
    return ctx.services.queries.deployedVersion(ctx.actor, modelName, environment);
  }

  @Query(() => [VersionComparison], { description: 'READY and ARCHIVED versions, best first' })
  async compareVersions(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelName', () => String) modelName: string,
    @Arg('metric', () => String, { nullable: true, defaultValue: 'roc_auc' }) metric: string | null,
    @Arg('direction', () => SortDirection, { nullable: true, defaultValue: SortDirection.DESC }) direction: SortDirection | null,
    @Arg('versionIds', () => [ID], { nullable: true }) versionIds: string[] | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultPage }) first: number | null,
  ) {
    return ctx.services.queries.compare(ctx.actor, {
      modelName,
      metric: metric ?? 'roc_auc',
      direction: (direction ?? SortDirection.DESC) as DomainSortDirection,
      versionIds: versionIds ?? null,
      first: first ?? 20,
    });
  }

  @Mutation(() => RegisterModelVersionPayload, { description: 'Creates the version as PENDING_UPLOAD and returns one presigned PUT per artifact.' })
  async registerModelVersion(@Ctx() ctx: GraphQLContext, @Arg('input', () => RegisterModelVersionInput) input: RegisterModelVersionInput): Promise<RegisteredVersion> {
    return ctx.services.versions.register(
      {
        modelName: input.modelName,
        modelType: input.modelType,
        datasetVersion: input.datasetVersion,
        metrics: input.metrics.map((m) => ({ name: m.name, value: m.value })),
        hyperparameters: input.hyperparameters ?? {},
        featureNames: input.featureNames ?? [],
        training: input.training ?? null,
        description: input.description ?? null,
        tags: input.tags ?? [],
        artifacts: input.artifacts.map((a) => ({ path: a.path, sizeBytes: a.sizeBytes, sha256: a.sha256, contentType: a.contentType ?? 'application/octet-stream' })),
        idempotencyKey: input.idempotencyKey ?? null,
      },
      ctx.actor,
    );
  }

  @Mutation(() => [ArtifactUpload], { description: 'Fresh presigned PUT URLs for a PENDING_UPLOAD version, when the first ones expired.' })
  async createUploadUrls(@Ctx() ctx: GraphQLContext, @Arg('versionId', () => ID) versionId: string): Promise<RegisteredVersion['uploads']> {
    return ctx.services.versions.createUploadUrls(versionId, ctx.actor);
  }

  @Mutation(() => ModelVersionType, { description: "Checks every artifact's presence, size and sha256: READY, or FAILED with failureReason." })
  async completeModelVersionUpload(@Ctx() ctx: GraphQLContext, @Arg('versionId', () => ID) versionId: string): Promise<ModelVersion> {
    return ctx.services.completions.complete(versionId, ctx.actor);
  }

  @Mutation(() => ModelVersionType, { description: 'FAILED_PRECONDITION while the version is deployed in any environment.' })
  async archiveModelVersion(
    @Ctx() ctx: GraphQLContext,
    @Arg('versionId', () => ID) versionId: string,
    @Arg('reason', () => String, { nullable: true }) reason: string | null,
  ): Promise<ModelVersion> {
    return ctx.services.versions.archive(versionId, reason ?? null, ctx.actor);
  }

  @Mutation(() => ModelVersionType)
  async updateModelVersion(
    @Ctx() ctx: GraphQLContext,
    @Arg('versionId', () => ID) versionId: string,
    @Arg('description', () => String, { nullable: true }) description: string | null | undefined,
    @Arg('tags', () => [String], { nullable: true }) tags: string[] | null | undefined,
  ): Promise<ModelVersion> {
    return ctx.services.versions.updateVersion(versionId, { description, tags }, ctx.actor);
  }

  @FieldResolver(() => Float, { nullable: true })
  metric(@Root() version: ModelVersion, @Arg('name', () => String) name: string): number | null {
    return metricValue(version.metrics, name);
  }

  @FieldResolver(() => [ArtifactType])
  artifacts(@Root() version: ModelVersion): ArtifactParent[] {
    return version.artifacts.map((a) => ({ ...a, version }));
  }

  @FieldResolver(() => [String], { description: 'Environments this version is deployed in now' })
  async environments(@Root() version: ModelVersion, @Ctx() ctx: GraphQLContext): Promise<string[]> {
    return ctx.loaders.environments.load(version.id);
  }

  @FieldResolver(() => UploadVerificationType, { nullable: true, description: 'PENDING_UPLOAD only: the check of the uploaded files; null otherwise' })
  async verification(@Root() version: ModelVersion, @Ctx() ctx: GraphQLContext): Promise<UploadVerification | null> {
    return ctx.services.completions.verification(version);
  }

  @FieldResolver(() => DeploymentConnection)
  async deployments(
    @Root() version: ModelVersion,
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultPage }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ) {
    return toConnection(await ctx.services.queries.versionDeployments(version, { first: first ?? LIMITS.defaultPage, after }));
  }
}

@Resolver(() => ArtifactType)
export class ArtifactResolver {
  @FieldResolver(() => PresignedUrl, { nullable: true, description: 'Null unless the version is READY or ARCHIVED.' })
  async downloadUrl(
    @Root() artifact: ArtifactParent,
    @Ctx() ctx: GraphQLContext,
    @Arg('expiresInSeconds', () => Int, { nullable: true, defaultValue: 900 }) expiresInSeconds: number | null,
  ): Promise<PresignedRequest | null> {
    return ctx.services.queries.downloadUrl(artifact.version, artifact, expiresInSeconds ?? 900);
  }
}
