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
