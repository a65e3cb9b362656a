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
import { CompareBaselineInput, VersionFilterInput, VersionOrderInput } from './search/search.inputs.js';
import { InvalidArgumentError } from '../domain/errors.js';
import { ArtifactPartsInput } from './multipart/multipart.types.js';
import { DeploymentConnection, ModelVersionConnection, VersionComparisonConnection, toConnection } from './connections.js';
import {
  type ArtifactParent, ArtifactType, ArtifactUpload, ModelVersionStatus, ModelVersionType,
  PresignedUrl, RegisterModelVersionPayload, SortDirection, UploadVerificationType, VersionComparison,
} from './types.js';

const PAGE = { first: 'Page size, 0-100', after: 'The endCursor of the previous page' };
const COMPARE = {
  modelName: 'The model whose versions to rank',
  metric: "The metric to rank by; null or absent: the model's primaryMetric (roc_auc unless set). NOT_FOUND when no version compared has it",
  direction: 'DESC: highest first; ASC: lowest first',
  versionIds: 'Only these versions (at most 100); absent: every READY and ARCHIVED version',
  metrics: 'Metrics to give per version against the baseline (1-20; rows then carry metricDeltas); absent: the ranking metric',
  baseline: 'What to compare against (rows then carry baseline, metricDeltas, hyperparameterDiff); absent with metrics: production',
};

@Resolver(() => ModelVersionType)
export class VersionResolver {
  @Query(() => ModelVersionType, { nullable: true, description: "One version by id; null if it does not exist (or is outside the token's scope)" })
  async modelVersion(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID, { description: 'The version id' }) id: string): Promise<ModelVersion | null> {
    return ctx.services.queries.version(ctx.actor, id);
  }

  @Query(() => ModelVersionConnection, { description: 'Newest first; with filter or orderBy, the versions matching every condition in that order (docs/queries.md)' })
  async modelVersions(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelName', () => String, { description: 'The model' }) modelName: string,
    @Arg('status', () => ModelVersionStatus, { nullable: true, description: 'Only versions in this status' }) status: ModelVersionStatus | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultPage, description: PAGE.first }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: PAGE.after }) after: string | null,
    @Arg('filter', () => VersionFilterInput, { nullable: true, description: 'Only versions matching every condition given (served from indexes: docs/queries.md)' }) filter?: VersionFilterInput | null,
    @Arg('orderBy', () => VersionOrderInput, { nullable: true, description: 'The order; absent: number, newest first' }) orderBy?: VersionOrderInput | null,
  ) {
    const page = { first: first ?? LIMITS.defaultPage, after };
    // Without filter and orderBy: the plain list, as before.
    if (!filter && !orderBy) return toConnection(await ctx.services.queries.versions(ctx.actor, modelName, status as VersionStatus | null, page), after);
    if (status && filter?.statuses) throw new InvalidArgumentError('status', 'give the statuses in filter.statuses only');
    const withStatus = status ? { ...filter, statuses: [status] } : filter ?? null;
    return toConnection(await ctx.services.search.search(ctx.actor, modelName, withStatus, orderBy ?? null, page), after);
  }

  @Query(() => ModelVersionType, { nullable: true, description: 'The version deployed in the environment now; null if none.' })
  async productionModel(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelName', () => String, { description: 'The model' }) modelName: string,
    @Arg('environment', () => String, { nullable: true, defaultValue: 'production', description: 'The environment, ^[a-z][a-z0-9-]{0,31}$' }) environment: string | null,
  ): Promise<ModelVersion | null> {
    return ctx.services.queries.deployedVersion(ctx.actor, modelName, environment);
  }

  @Query(() => [VersionComparison], { description: 'READY and ARCHIVED versions ranked by a metric, best first (the first page; compareVersionsConnection pages on)' })
  async compareVersions(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelName', () => String, { description: COMPARE.modelName }) modelName: string,
    @Arg('metric', () => String, { nullable: true, description: COMPARE.metric }) metric: string | null,
    @Arg('direction', () => SortDirection, { nullable: true, defaultValue: SortDirection.DESC, description: COMPARE.direction }) direction: SortDirection | null,
    @Arg('versionIds', () => [ID], { nullable: true, description: COMPARE.versionIds }) versionIds: string[] | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultPage, description: 'How many, 0-100' }) first: number | null,
    @Arg('metrics', () => [String], { nullable: true, description: COMPARE.metrics }) metrics?: string[] | null,
    @Arg('baseline', () => CompareBaselineInput, { nullable: true, description: COMPARE.baseline }) baseline?: CompareBaselineInput | null,
  ) {
    const args = { modelName, metric, direction: (direction ?? SortDirection.DESC) as DomainSortDirection, versionIds: versionIds ?? null, first: first ?? LIMITS.defaultPage };
    const page = metrics || baseline
      ? await ctx.services.search.compare(ctx.actor, { ...args, metrics: metrics ?? null, baseline: baseline ?? null })
      : await ctx.services.queries.compare(ctx.actor, args);
    return page.items.map((i) => i.node);
  }

  @Query(() => VersionComparisonConnection, { description: 'compareVersions a page at a time: READY and ARCHIVED versions ranked by a metric, best first' })
  async compareVersionsConnection(
    @Ctx() ctx: GraphQLContext,
    @Arg('modelName', () => String, { description: COMPARE.modelName }) modelName: string,
    @Arg('metric', () => String, { nullable: true, description: COMPARE.metric }) metric: string | null,
    @Arg('direction', () => SortDirection, { nullable: true, defaultValue: SortDirection.DESC, description: COMPARE.direction }) direction: SortDirection | null,
    @Arg('versionIds', () => [ID], { nullable: true, description: COMPARE.versionIds }) versionIds: string[] | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultPage, description: PAGE.first }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: PAGE.after }) after: string | null,
    @Arg('metrics', () => [String], { nullable: true, description: COMPARE.metrics }) metrics?: string[] | null,
    @Arg('baseline', () => CompareBaselineInput, { nullable: true, description: COMPARE.baseline }) baseline?: CompareBaselineInput | null,
  ) {
    const args = {
      modelName, metric, direction: (direction ?? SortDirection.DESC) as DomainSortDirection, versionIds: versionIds ?? null, first: first ?? LIMITS.defaultPage, after, withTotal: true,
    };
    const page = metrics || baseline
      ? await ctx.services.search.compare(ctx.actor, { ...args, metrics: metrics ?? null, baseline: baseline ?? null })
      : await ctx.services.queries.compare(ctx.actor, args);
    return toConnection(page, after);
  }

  @Mutation(() => RegisterModelVersionPayload, { description: 'Creates the version as PENDING_UPLOAD and returns one presigned PUT per artifact.' })
  async registerModelVersion(@Ctx() ctx: GraphQLContext, @Arg('input', () => RegisterModelVersionInput, { description: 'The version to register' }) input: RegisterModelVersionInput): Promise<RegisteredVersion> {
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
        artifacts: input.artifacts.map((a) => ({
          path: a.path, sizeBytes: a.sizeBytes, sha256: a.sha256, contentType: a.contentType ?? 'application/octet-stream', partSha256: a.partSha256 ?? null,
        })),
        idempotencyKey: input.idempotencyKey ?? null,
        source: input.source ?? null,
        dataset: input.dataset ?? null,
        labels: input.labels ?? null,
      },
      ctx.actor,
    );
  }

  @Mutation(() => [ArtifactUpload], { description: 'Fresh presigned PUT URLs for a PENDING_UPLOAD version, when the first ones expired.' })
  async createUploadUrls(
    @Ctx() ctx: GraphQLContext,
    @Arg('versionId', () => ID, { description: 'A PENDING_UPLOAD version' }) versionId: string,
    @Arg('paths', () => [String], { nullable: true, description: 'Only these artifacts; absent: all' }) paths: string[] | null | undefined,
    @Arg('partNumbers', () => [Int], { nullable: true, description: 'Only these parts of artifacts uploaded in parts (resume, expired part URLs); absent: all' })
    partNumbers: number[] | null | undefined,
  ): Promise<RegisteredVersion['uploads']> {
    return ctx.services.versions.createUploadUrls(versionId, ctx.actor, { paths: paths ?? null, partNumbers: partNumbers ?? null });
  }

  @Mutation(() => ModelVersionType, { description: "Checks every artifact's presence, size and sha256: READY, or FAILED with failureReason." })
  async completeModelVersionUpload(
    @Ctx() ctx: GraphQLContext,
    @Arg('versionId', () => ID, { description: 'A PENDING_UPLOAD version whose files are uploaded' }) versionId: string,
    @Arg('parts', () => [ArtifactPartsInput], {
      nullable: true,
      description: 'Artifacts uploaded in parts: the ETags of their parts. Absent (or an artifact left out): the registry lists the parts from storage',
    })
    parts: ArtifactPartsInput[] | null | undefined,
  ): Promise<ModelVersion> {
    return ctx.services.completions.complete(versionId, ctx.actor, parts ? parts.map((p) => ({ path: p.path, etags: p.etags })) : null);
  }

  @Mutation(() => ModelVersionType, { description: 'Archives a READY version; it keeps its artifacts (downloadable) until purged past retention. FAILED_PRECONDITION while the version is deployed in any environment or on legal hold.' })
  async archiveModelVersion(
    @Ctx() ctx: GraphQLContext,
    @Arg('versionId', () => ID, { description: 'The version to archive' }) versionId: string,
    @Arg('reason', () => String, { nullable: true, description: 'Why, for the audit log' }) reason: string | null,
  ): Promise<ModelVersion> {
    return ctx.services.versions.archive(versionId, reason ?? null, ctx.actor);
  }

  @Mutation(() => ModelVersionType, { description: "Changes a version's description or tags (publisher); audited as MODEL_VERSION_UPDATED" })
  async updateModelVersion(
    @Ctx() ctx: GraphQLContext,
    @Arg('versionId', () => ID, { description: 'The version' }) versionId: string,
    @Arg('description', () => String, { nullable: true, description: 'New description; null clears it; absent: unchanged' }) description: string | null | undefined,
    @Arg('tags', () => [String], { nullable: true, description: 'New tags, replacing the old ones; absent: unchanged' }) tags: string[] | null | undefined,
  ): Promise<ModelVersion> {
    return ctx.services.versions.updateVersion(versionId, { description, tags }, ctx.actor);
  }

  @FieldResolver(() => Float, { nullable: true, description: 'The value of one metric; null if the version lacks it' })
  metric(@Root() version: ModelVersion, @Arg('name', () => String, { description: 'The metric name' }) name: string): number | null {
    return metricValue(version.metrics, name);
  }

  @FieldResolver(() => [ArtifactType], { description: 'Its files, in the order registered' })
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

  @FieldResolver(() => DeploymentConnection, { description: 'Deployments of this version in any environment, newest first' })
  async deployments(
    @Root() version: ModelVersion,
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultPage, description: PAGE.first }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: PAGE.after }) after: string | null,
  ) {
    const size = first ?? LIMITS.defaultPage;
    // The first page of every version of a list comes from one batched store call; later pages one by one.
    const page = after == null
      ? await ctx.loaders.versionDeployments.load({ version, first: size })
      : await ctx.services.queries.versionDeployments(version, { first: size, after });
    return toConnection(page, after);
  }
}

@Resolver(() => ArtifactType)
export class ArtifactResolver {
  @FieldResolver(() => PresignedUrl, { nullable: true, description: 'Null unless the version is READY or ARCHIVED.' })
  async downloadUrl(
    @Root() artifact: ArtifactParent,
    @Ctx() ctx: GraphQLContext,
    @Arg('expiresInSeconds', () => Int, { nullable: true, defaultValue: 900, description: 'How long the URL works: 1 s to 7 days' }) expiresInSeconds: number | null,
  ): Promise<PresignedRequest | null> {
    return ctx.services.queries.downloadUrl(artifact.version, artifact, expiresInSeconds ?? 900);
  }
}
