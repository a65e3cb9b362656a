import type { Document } from 'mongodb';
import { COLLECTIONS, type CollectionName } from './mongo-documents.js';

export interface IndexSpec {
  name: string;
  key: Record<string, 1 | -1>;
  unique?: true;
  partialFilterExpression?: Document;
  /** A TTL index: the server deletes documents this many seconds after the date in the key. */
  expireAfterSeconds?: number;
}

/** Every document with a pending marker, and only those: recovery scans cost O(pending), not O(collection). */
export const PENDING_FILTER = { pendingAt: { $exists: true } } as const;
export const pendingIndexName = (collection: CollectionName): string => `${collection}_pending`;
const pendingIndex = (collection: CollectionName): IndexSpec => ({
  name: pendingIndexName(collection), key: { pendingAt: 1 }, partialFilterExpression: PENDING_FILTER,
});

/** The implicit `_id` index of every collection (never created by us). */
export const ID_INDEX: IndexSpec = { name: '_id_', key: { _id: 1 } };

/**
 * The index set, created idempotently at start-up (`createIndexes` with fixed names: creating an
 * existing identical index is a no-op; a changed definition under the same name fails loudly).
 * Which query uses which index is written next to each builder in mongo-queries.ts and checked by
 * test/unit/mongo-queries.test.ts; docs/production-mongodb.md has the table.
 */
export const MONGO_INDEXES: Readonly<Record<CollectionName, readonly IndexSpec[]>> = {
  [COLLECTIONS.models]: [pendingIndex(COLLECTIONS.models)],
  [COLLECTIONS.versions]: [
    // Gap-free numbering: the number is claimed by the version document itself.
    { name: 'versions_model_number', key: { modelName: 1, number: -1 }, unique: true },
    { name: 'versions_model_status_number', key: { modelName: 1, status: 1, number: -1 } },
    { name: 'versions_status', key: { status: 1 } },
    { name: 'versions_pending_by_age', key: { createdAt: 1 }, partialFilterExpression: { status: 'PENDING_UPLOAD' } },
    // modelVersions(filter, orderBy): the driver indexes of mongo-search-queries.ts (docs/queries.md).
    { name: 'versions_model_created_number', key: { modelName: 1, createdAt: -1, number: -1 } },
    { name: 'versions_model_label_number', key: { modelName: 1, labelPairs: 1, number: -1 } },
    { name: 'versions_model_tag_number', key: { modelName: 1, tags: 1, number: -1 } },
    { name: 'versions_model_dataset_number', key: { modelName: 1, datasetVersion: 1, number: -1 } },
    { name: 'versions_model_creator_number', key: { modelName: 1, createdBy: 1, number: -1 } },
    pendingIndex(COLLECTIONS.versions),
  ],
  [COLLECTIONS.versionMetrics]: [
    // Two directions: "value ASC, number DESC" and "value DESC, number DESC" are not reverses of each other.
    { name: 'metrics_rank_asc', key: { modelName: 1, name: 1, verified: 1, value: 1, number: -1 } },
    { name: 'metrics_rank_desc', key: { modelName: 1, name: 1, verified: 1, value: -1, number: -1 } },
    { name: 'metrics_version', key: { versionId: 1 } },
    // Searches ordered by a metric: ties by number in the same direction, so one index serves both directions.
    { name: 'metrics_search', key: { modelName: 1, name: 1, value: 1, number: 1 } },
  ],
  [COLLECTIONS.pointers]: [
    { name: 'pointers_version', key: { versionId: 1 } },
    // allPointers: every pointer in (model, environment) order (the `_id` "<model>:<env>" does not sort that way).
    { name: 'pointers_model_env', key: { modelName: 1, environment: 1 } },
    pendingIndex(COLLECTIONS.pointers),
  ],
  [COLLECTIONS.deployments]: [
    { name: 'deployments_model_seq', key: { modelName: 1, seq: -1 } },
    { name: 'deployments_model_env_seq', key: { modelName: 1, environment: 1, seq: -1 } },
    { name: 'deployments_model_status_seq', key: { modelName: 1, status: 1, seq: -1 } },
    { name: 'deployments_model_env_status_seq', key: { modelName: 1, environment: 1, status: 1, seq: -1 } },
    { name: 'deployments_version_seq', key: { versionId: 1, seq: -1 } },
    // Second guard behind the pointer compare-and-set: one SUCCEEDED deployment per pointer revision.
    {
      name: 'deployments_revision', key: { modelName: 1, environment: 1, revision: 1 }, unique: true,
      partialFilterExpression: { status: 'SUCCEEDED' },
    },
    // servingAt: the live deployment at an instant, one index descent (mongo-governance-specs.ts).
    { name: 'deployments_live_at', key: { modelName: 1, environment: 1, status: 1, deployedAt: -1, revision: -1 } },
    pendingIndex(COLLECTIONS.deployments),
  ],
  // One document per (deployment, instance): `_id` "<deploymentId>/<instance>".
  [COLLECTIONS.deploymentObservations]: [
    { name: 'observations_deployment_time', key: { deploymentId: 1, reportedAt: -1, instance: 1 } },
    { name: 'observations_deployment_state', key: { deploymentId: 1, state: 1 } },
  ],
  // One document per (model or '*', environment): `_id` "<model>:<environment>".
  [COLLECTIONS.environmentPolicies]: [pendingIndex(COLLECTIONS.environmentPolicies)],
  [COLLECTIONS.promotionRequests]: [
    { name: 'promotion_requests_model_time', key: { modelName: 1, requestedAt: -1, _id: -1 } },
    { name: 'promotion_requests_model_status_time', key: { modelName: 1, status: 1, requestedAt: -1, _id: -1 } },
    pendingIndex(COLLECTIONS.promotionRequests),
  ],
  [COLLECTIONS.audit]: [
    // Serialises appends: two writers sealing after the same head collide here.
    { name: 'audit_sequence', key: { sequence: 1 }, unique: true },
    { name: 'audit_model_sequence', key: { modelName: 1, sequence: -1 } },
    { name: 'audit_actor_sequence', key: { actor: 1, sequence: -1 } },
    { name: 'audit_action_sequence', key: { action: 1, sequence: -1 } },
    { name: 'audit_time', key: { occurredAt: 1 } },
  ],
  [COLLECTIONS.tokens]: [
    { name: 'tokens_secret', key: { secretHash: 1 }, unique: true },
    { name: 'tokens_created', key: { createdAt: -1, _id: -1 } },
    pendingIndex(COLLECTIONS.tokens),
  ],
  [COLLECTIONS.counters]: [],
  // One document per lease name: every lease read and write is by `_id`.
  [COLLECTIONS.leases]: [],
  // One document per (model, key), read and written by `_id`; unsettled claims (normally none) for recovery.
  [COLLECTIONS.idempotencyKeys]: [
    { name: 'idempotency_keys_unsettled', key: { unsettledAt: 1 }, partialFilterExpression: { unsettledAt: { $exists: true } } },
    // Expired keys are never read (a claim replaces one in place): the server deletes them, so keys do not pile up.
    { name: 'idempotency_keys_expiry', key: { expiresAt: 1 }, expireAfterSeconds: 0 },
  ],
  // Webhooks: the live ones listed oldest first (deleted ones are tombstones with a deletedAt date).
  [COLLECTIONS.webhooks]: [
    { name: 'webhooks_live_created', key: { deletedAt: 1, createdAt: 1, _id: 1 } },
    pendingIndex(COLLECTIONS.webhooks),
  ],
  [COLLECTIONS.webhookDeliveries]: [
    { name: 'webhook_deliveries_webhook_seq', key: { webhookId: 1, seq: -1 } },
    { name: 'webhook_deliveries_event', key: { webhookId: 1, eventSequence: 1, redelivery: 1, seq: -1 } },
  ],
  [COLLECTIONS.webhookRedeliveries]: [
    { name: 'webhook_redeliveries_requested', key: { webhookId: 1, requestedAt: 1, eventSequence: 1 } },
  ],
};

export function findIndex(collection: CollectionName, name: string): IndexSpec | undefined {
  if (name === ID_INDEX.name) return ID_INDEX;
  return MONGO_INDEXES[collection].find((i) => i.name === name);
}
