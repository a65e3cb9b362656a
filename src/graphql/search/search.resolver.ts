import 'reflect-metadata';
import { Arg, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import type { DatasetRef, Labels, VersionSource } from '../../domain/lineage.js';
import type { ModelVersion } from '../../domain/model.js';
import type { HyperparameterChange as DomainChange } from '../../services/search/hyperparameter-diff.js';
import type { BaselineComparison, MetricDelta as DomainDelta } from '../../services/search/version-search.service.js';
import type { VersionComparison as DomainComparison } from '../../services/comparison/ranking.js';
import type { GraphQLContext } from '../context.js';
import { JsonScalar } from '../scalars.js';
import { ModelVersionType, VersionComparison } from '../types.js';
import { DatasetRefType, HyperparameterChange, MetricDelta, VersionSourceType } from './search.types.js';

/** Lineage and labels on ModelVersion, and setVersionLabels. */
@Resolver(() => ModelVersionType)
export class LineageResolver {
  @FieldResolver(() => VersionSourceType, { nullable: true, description: 'Where it came from (code, pipeline run); null if not registered' })
  source(@Root() version: ModelVersion): VersionSource | null {
    return version.source;
  }

  @FieldResolver(() => DatasetRefType, { nullable: true, description: 'The training data (uri, digest); null if not registered' })
  dataset(@Root() version: ModelVersion): DatasetRef | null {
    return version.dataset;
  }

  @FieldResolver(() => JsonScalar, { description: 'A JSON object of string labels ({} if none); setVersionLabels replaces them' })
  labels(@Root() version: ModelVersion): Labels {
    return version.labels;
  }

  @Mutation(() => ModelVersionType, { description: "Replaces a version's labels (publisher); audited as MODEL_VERSION_LABELS_SET. At most 32; keys ^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$, values up to 256 characters" })
  async setVersionLabels(
    @Ctx() ctx: GraphQLContext,
    @Arg('versionId', () => ID, { description: 'The version' }) versionId: string,
    @Arg('labels', () => JsonScalar, { description: 'The new labels, a JSON object of strings ({} clears them)' }) labels: unknown,
  ): Promise<ModelVersion> {
    return ctx.services.search.setLabels(versionId, labels, ctx.actor);
  }
}

type Row = DomainComparison & Partial<Pick<BaselineComparison, 'baseline' | 'metricDeltas' | 'hyperparameterDiff'>>;

/** What compareVersions(metrics, baseline) adds to each row; null when compared without them. */
@Resolver(() => VersionComparison)
export class ComparisonBaselineResolver {
  @FieldResolver(() => ModelVersionType, { nullable: true, description: 'The baseline compared against (with metrics or baseline given); null if none' })
  baseline(@Root() row: Row): ModelVersion | null {
    return row.baseline ?? null;
  }

  @FieldResolver(() => [MetricDelta], { nullable: true, description: 'Each metric asked for (metrics, or the ranking metric) against the baseline; null when compared without metrics or baseline' })
  metricDeltas(@Root() row: Row): DomainDelta[] | null {
    return row.metricDeltas ?? null;
  }

  @FieldResolver(() => [HyperparameterChange], { nullable: true, description: 'The hyperparameters that differ from the baseline (at most 200); null without a baseline' })
  hyperparameterDiff(@Root() row: Row): DomainChange[] | null {
    return row.hyperparameterDiff ?? null;
  }
}
