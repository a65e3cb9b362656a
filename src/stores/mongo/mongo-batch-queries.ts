import type { Document } from 'mongodb';
import type { VersionKey } from '../batched-pages.js';
import { COLLECTIONS, type CollectionName } from './mongo-documents.js';

/**
 * Batched per-parent reads (the DataLoaders' store calls) as pure data, like mongo-queries.ts:
 * one aggregation for many parents. test/unit/mongo-queries.test.ts evaluates them with mingo and
 * checks that the leading $match and $sort are served by the named index.
 */
export interface AggregateSpec {
  collection: CollectionName;
  /** Starts with $match and $sort on the index's leading fields. */
  pipeline: Document[];
  index: string;
  /** Why the stages after the index walk stay bounded. */
  bounded: string;
}

/**
 * Each asked model's highest-numbered version (latestVersion(name, null) for many models): $first
 * after a $sort on versions_model_number reads one index entry per model (a DISTINCT_SCAN).
 */
export function latestVersionsQuery(modelNames: readonly string[]): AggregateSpec {
  return {
    collection: COLLECTIONS.versions,
    pipeline: [
      { $match: { modelName: { $in: [...new Set(modelNames)] } } },
      { $sort: { modelName: 1, number: -1 } },
      { $group: { _id: '$modelName', doc: { $first: '$$ROOT' } } },
    ],
    index: 'versions_model_number',
    bounded: 'one document per asked model ($first of each group)',
  };
}

/**
 * Each version's newest first+1 deployments (by seq) and its total, for up to a page of versions
 * (the versions of one GraphQL page): one walk of deployments_version_seq over the asked ids, then
 * one group per version. Works on MongoDB 4.4 ($push then $slice, no $topN).
 */
export function versionDeploymentsQuery(versions: readonly VersionKey[], first: number): AggregateSpec {
  const ids = [...new Set(versions.map((v) => v.versionId))];
  return {
    collection: COLLECTIONS.deployments,
    pipeline: [
      { $match: { versionId: { $in: ids } } },
      { $sort: { versionId: 1, seq: -1 } },
      { $group: { _id: '$versionId', total: { $sum: 1 }, docs: { $push: '$$ROOT' } } },
      { $project: { _id: 1, total: 1, docs: { $slice: ['$docs', first + 1] } } },
    ],
    index: 'deployments_version_seq',
    bounded: "the asked versions' deployments only (one per promotion or rollback of those versions), as listDeployments' count of one version reads them",
  };
}
