/** Deployment governance: observed state, environment policies, promotion requests. Plain types and pure rules. */

export const OBSERVED_STATES = ['SERVING', 'FAILED', 'DRAINED'] as const;
export type ObservedState = (typeof OBSERVED_STATES)[number];

/** What one inference worker (instance) last reported about one deployment. One per (deployment, instance). */
export interface DeploymentObservation {
  deploymentId: string;
  modelName: string;
  environment: string;
  instance: string;
  state: ObservedState;
  message: string | null;
  reportedAt: Date;
  reportedBy: string;
}

/** Instance names: what a worker calls itself (host name, pod name). */
export const INSTANCE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** How many observations Deployment.observed answers at most (newest first). */
export const OBSERVED_LIST_MAX = 1000;

/** The `modelName` of a policy every model inherits unless it has its own. */
export const ANY_MODEL = '*';

export interface EnvironmentPolicy {
  /** A model name, or ANY_MODEL for the default. */
  modelName: string;
  environment: string;
  /** 0: promotions apply at once; n > 0: a promotion needs a request and n approvals by other principals. */
  requiredApprovals: number;
  /** Applied to every promotion there, whatever the caller passes. `metric` null: the model's primaryMetric. */
  requireImprovement: { metric: string | null; minRatio: number } | null;
  /** Actor names (or token ids) allowed to approve; null: any deployer of the environment. */
  allowedActors: string[] | null;
  updatedAt: Date;
  updatedBy: string;
}

export const PROMOTION_STATUSES = ['PENDING', 'APPROVED', 'REJECTED', 'CANCELLED', 'EXECUTED', 'CONFLICT', 'EXPIRED'] as const;
export type PromotionStatus = (typeof PROMOTION_STATUSES)[number];
/** Statuses a request never leaves. */
export const FINAL_PROMOTION_STATUSES: readonly PromotionStatus[] = ['REJECTED', 'CANCELLED', 'EXECUTED', 'CONFLICT', 'EXPIRED'];

export interface PromotionApproval {
  actor: string;
  tokenId: string;
  at: Date;
  comment: string | null;
}

export interface PromotionRequest {
  id: string;
  modelName: string;
  versionId: string;
  environment: string;
  requestedBy: string;
  requestedByTokenId: string;
  requestedAt: Date;
  expiresAt: Date;
  reason: string | null;
  /** The version live when the request was made (or the one the requester named); null: nothing was deployed. */
  expectedCurrentVersionId: string | null;
  requiredApprovals: number;
  status: PromotionStatus;
  approvals: PromotionApproval[];
  /** Who rejected or cancelled it, and why. */
  decidedBy: string | null;
  decisionComment: string | null;
  decidedAt: Date | null;
  /** EXECUTED: the deployment it made. */
  deploymentId: string | null;
  /** Incremented by every change: changes are a compare-and-set on it. */
  revision: number;
}

/** The status a request shows at `now`: a PENDING one past its expiry reads as EXPIRED. */
export function effectiveStatus(r: Pick<PromotionRequest, 'status' | 'expiresAt'>, now: Date): PromotionStatus {
  return r.status === 'PENDING' && r.expiresAt.getTime() <= now.getTime() ? 'EXPIRED' : r.status;
}
