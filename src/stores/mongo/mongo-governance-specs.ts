import type { Document } from 'mongodb';
import type { DeploymentObservation, EnvironmentPolicy, PromotionRequest, PromotionStatus } from '../../domain/governance.js';
import { COLLECTIONS, type PendingMarker } from './mongo-documents.js';
import type { CountSpec, FindSpec } from './mongo-queries.js';
import type { UpdateSpec } from './mongo-updates.js';

/**
 * The governance reads and writes of the Mongo store, as pure data (checked with mingo and for
 * index fit in test/unit/mongo-queries.test.ts, like mongo-queries.ts and mongo-updates.ts).
 */

const ONE_DOC = 'at most one document (the filter names its _id)';
const NOT_PENDING = { pending: { $exists: false } } as const;

export interface ObservationDoc extends Omit<DeploymentObservation, never> {
  _id: string;
}
export interface PolicyDoc extends EnvironmentPolicy {
  _id: string;
  pending?: PendingMarker;
  pendingAt?: Date;
}
export interface RequestDoc extends Omit<PromotionRequest, 'id'> {
  _id: string;
  pending?: PendingMarker;
  pendingAt?: Date;
}

export const observationId = (deploymentId: string, instance: string): string => `${deploymentId}/${instance}`;
export const policyId = (modelName: string, environment: string): string => `${modelName}:${environment}`;

export function docToObservation(d: ObservationDoc): DeploymentObservation {
  return {
    deploymentId: d.deploymentId, modelName: d.modelName, environment: d.environment, instance: d.instance, state: d.state,
    message: d.message, reportedAt: d.reportedAt, reportedBy: d.reportedBy,
  };
}
export function docToPolicy(d: PolicyDoc): EnvironmentPolicy {
  return {
    modelName: d.modelName, environment: d.environment, requiredApprovals: d.requiredApprovals, requireImprovement: d.requireImprovement,
    allowedActors: d.allowedActors, updatedAt: d.updatedAt, updatedBy: d.updatedBy,
  };
}
export function requestToDoc(r: PromotionRequest): RequestDoc {
  const { id, ...rest } = r;
  return { _id: id, ...rest };
}
export function docToRequest(d: RequestDoc): PromotionRequest {
  const { _id, pending: _p, pendingAt: _pa, ...rest } = d;
  return { id: _id, ...rest };
}

/** servingAt: the latest SUCCEEDED deployment of (model, environment) not after `at`; one descent of deployments_live_at. */
export function liveAtQuery(modelName: string, environment: string, at: Date): FindSpec {
  return {
    collection: COLLECTIONS.deployments,
    filter: { modelName, environment, status: 'SUCCEEDED', deployedAt: { $lte: at } },
    sort: { deployedAt: -1, revision: -1 },
    limit: 1,
    index: 'deployments_live_at',
  };
}

/**
 * A report replaces the instance's record only if it is not older than the stored one; a late,
 * older report matches nothing and its upsert collides on `_id` (the caller reads that as "older").
 */
export function observationUpsert(o: DeploymentObservation): UpdateSpec {
  return {
    collection: COLLECTIONS.deploymentObservations,
    filter: { _id: observationId(o.deploymentId, o.instance), reportedAt: { $lte: o.reportedAt } },
    update: {
      $set: { state: o.state, message: o.message, reportedAt: o.reportedAt, reportedBy: o.reportedBy },
      $setOnInsert: { deploymentId: o.deploymentId, modelName: o.modelName, environment: o.environment, instance: o.instance },
    },
    upsert: true,
    index: '_id_',
    residual: { reportedAt: ONE_DOC },
  };
}

export function observationsQuery(deploymentId: string, limit: number): FindSpec {
  return {
    collection: COLLECTIONS.deploymentObservations, filter: { deploymentId }, sort: { reportedAt: -1, instance: 1 }, limit,
    index: 'observations_deployment_time',
  };
}

export function observationCount(deploymentId: string, state: string): CountSpec {
  return { collection: COLLECTIONS.deploymentObservations, filter: { deploymentId, state }, index: 'observations_deployment_state' };
}

/** Creates or replaces a policy with its marker, only while no other change of it is unfinished. */
export function policyUpsert(p: EnvironmentPolicy, marker: PendingMarker): UpdateSpec {
  return {
    collection: COLLECTIONS.environmentPolicies,
    filter: { _id: policyId(p.modelName, p.environment), ...NOT_PENDING },
    update: { $set: { ...p, pending: marker }, $currentDate: { pendingAt: true } },
    upsert: true,
    index: '_id_',
    residual: { pending: ONE_DOC },
  };
}

/** A request's compare-and-set: only from the revision read, only while no other change of it is unfinished. */
export function requestUpdate(next: PromotionRequest, expectedRevision: number, marker: PendingMarker): UpdateSpec {
  const { _id: _drop, ...fields } = requestToDoc({ ...next, revision: expectedRevision + 1 });
  return {
    collection: COLLECTIONS.promotionRequests,
    filter: { _id: next.id, revision: expectedRevision, ...NOT_PENDING },
    update: { $set: { ...fields, pending: marker }, $currentDate: { pendingAt: true } },
    index: '_id_',
    residual: { revision: ONE_DOC, pending: ONE_DOC },
  };
}

/** A model's requests, newest first, optionally of one status (PENDING and EXPIRED told apart by `now`). */
export function requestsQuery(
  f: { modelName: string; status: PromotionStatus | null; now: Date }, after: readonly [number, string] | null, first: number,
): { page: FindSpec; count: CountSpec } {
  const base: Document = { modelName: f.modelName };
  const residual: Record<string, string> = {};
  const and: Document[] = [];
  if (f.status === 'PENDING') {
    Object.assign(base, { status: 'PENDING', expiresAt: { $gt: f.now } });
    residual.expiresAt = "evaluated over the model's PENDING requests only";
  } else if (f.status === 'EXPIRED') {
    base.status = { $in: ['PENDING', 'EXPIRED'] };
    and.push({ $or: [{ status: 'EXPIRED' }, { expiresAt: { $lte: f.now } }] });
  } else if (f.status !== null) {
    base.status = f.status;
  }
  const index = f.status === null ? 'promotion_requests_model_time' : 'promotion_requests_model_status_time';
  const withAnd = (extra: Document[]): Document => (extra.length === 0 ? base : { ...base, $and: extra });
  if (and.length > 0) residual.$and = "evaluated over the model's PENDING and EXPIRED requests only";
  const count: CountSpec = { collection: COLLECTIONS.promotionRequests, filter: withAnd(and), index, residual };
  const cursor = after === null ? [] : [{ $or: [{ requestedAt: { $lt: new Date(after[0]) } }, { requestedAt: new Date(after[0]), _id: { $lt: after[1] } }] }];
  const pageResidual = cursor.length > 0 ? { ...residual, $and: 'the keyset cursor: a range of the sort keys (requestedAt, _id) of this index' } : residual;
  return {
    page: {
      collection: COLLECTIONS.promotionRequests, filter: withAnd([...and, ...cursor]), sort: { requestedAt: -1, _id: -1 }, limit: first + 1, index,
      residual: pageResidual,
      ...(f.status === 'EXPIRED' && { inMemorySort: 'merges the two status ranges of one model ($in) by time' }),
    },
    count,
  };
}
