import { type DatasetRef, type Labels, type VersionSource, labelPair, lineageOf } from '../../domain/lineage.js';
import type {
  Artifact, AuditDraft, AuditEvent, AuditRef, Deployment, DeploymentPointer, JsonObject, LegalHold, Metric, Model, ModelVersion, VersionStatus,
} from '../../domain/model.js';
import { DEFAULT_PRIMARY_METRIC } from '../../domain/limits.js';
import type { ApiToken, NewApiToken } from '../../domain/token.js';

/**
 * The MongoDB document shapes of the registry and their conversion to and from domain types.
 * `_id`s are our own string ids (never ObjectId). Free-form JSON objects whose keys a client chooses
 * (hyperparameters, audit details) are stored as JSON text, so keys such as `$x`, `a.b` and
 * `__proto__` round-trip exactly; every other key is ours. Dates are BSON dates (milliseconds).
 */

export const COLLECTIONS = {
  models: 'models',
  versions: 'versions',
  versionMetrics: 'version_metrics',
  pointers: 'deployment_pointers',
  deployments: 'deployments',
  audit: 'audit_events',
  tokens: 'api_tokens',
  counters: 'counters',
  leases: 'leases',
  idempotencyKeys: 'idempotency_keys',
  webhooks: 'webhooks',
  webhookDeliveries: 'webhook_deliveries',
  webhookRedeliveries: 'webhook_redeliveries',
  deploymentObservations: 'deployment_observations',
  environmentPolicies: 'environment_policies',
  promotionRequests: 'promotion_requests',
} as const;
export type CollectionName = (typeof COLLECTIONS)[keyof typeof COLLECTIONS];

/** An audit draft as stored inside a pending marker (details as JSON text). */
export interface StoredDraft extends Omit<AuditDraft, 'details'> {
  details: string;
}

export type PendingOp = 'register' | 'transition' | 'update' | 'move' | 'refused' | 'token' | 'webhook' | 'governance';
export type PendingPhase = 'intent' | 'committed';

/**
 * Marks a document whose multi-document write is not finished. `id` is the audit event's id, so
 * the marker names the one event that completes it. `intent`: the operation has reserved the
 * document but not decided (recovery may abort it once stale); `committed`: the decision is
 * visible and recovery must finish the remaining idempotent steps.
 */
export interface PendingMarker {
  id: string;
  op: PendingOp;
  phase: PendingPhase;
  audit: StoredDraft;
  /** move: the version the pointer is being moved to (archive checks intents too); null for an undeploy. */
  versionId?: string | null;
  /** move: the SUCCEEDED deployment to store once committed. */
  deployment?: DeploymentDoc;
  /** register, move, refused with an idempotency key: the key document this write settles (mongo-idempotency.ts). */
  idempotency?: { keyId: string; resultId: string };
}

interface Pending {
  pending?: PendingMarker;
  /** Set with `pending` (server time for intents); the key of every collection's partial "pending" index. */
  pendingAt?: Date;
}

export interface ModelDoc extends Pending {
  _id: string;
  description: string | null;
  createdAt: Date;
  versionCount: number;
  /** Absent on models from before primaryMetric, and until it is set: reads as DEFAULT_PRIMARY_METRIC. */
  primaryMetric?: string | null;
}

export interface VersionDoc extends Pending {
  _id: string;
  modelName: string;
  number: number;
  modelType: string;
  status: VersionStatus;
  failureReason: string | null;
  description: string | null;
  datasetVersion: string;
  metrics: Metric[];
  /** JSON text of the hyperparameters object. */
  hyperparameters: string;
  featureNames: string[];
  training: ModelVersion['training'];
  tags: string[];
  artifacts: Artifact[];
  createdAt: Date;
  createdBy: string;
  /** Incremented by every committed status change; orders the writes of `version_metrics.verified`. */
  statusRev: number;
  /** Legal hold; absent on versions from before holds existed (reads as none, and `legalHold: null` matches it). */
  legalHold?: LegalHold | null;
  /** When the version's artifacts were purged; absent on older versions (reads as not purged). */
  purgedAt?: Date | null;
  /** Lineage; absent on versions from before it (reads as null / null / {}). */
  source?: VersionSource | null;
  dataset?: DatasetRef | null;
  labels?: Labels;
  /** The labels as "key=value" strings: the multikey index `versions_model_label_number` serves label filters from it. */
  labelPairs?: string[];
}

/** One per (version, metric): ranks versions by any metric from an index. */
export interface MetricDoc {
  _id: string;
  versionId: string;
  modelName: string;
  name: string;
  value: number;
  number: number;
  /** Mirrors status ∈ {READY, ARCHIVED}; written with the `statusRev` that decided it. */
  verified: boolean;
  statusRev: number;
}

/** One per (model, environment). A placeholder with revision 0 and no version means "no pointer". */
export interface PointerDoc extends Pending {
  _id: string;
  modelName: string;
  environment: string;
  versionId: string | null;
  deploymentId: string | null;
  revision: number;
  /**
   * The audit event of the last move: null from the commit point until the move's audit step has
   * anchored it; absent only on documents written before anchors existed (backfilled at start-up).
   */
  audit?: AuditRef | null;
}

/** A deployment as stored: the domain fields, its id as `_id`, and its place in history. */
export interface DeploymentDoc extends Pending, Omit<Deployment, 'id'> {
  _id: string;
  /** Allocated from the `deployments` counter before the pointer is reserved: newest-first order. */
  seq: number;
}

/** An audit event as stored: its id as `_id`, the details object as JSON text. */
export interface AuditDoc extends Omit<AuditEvent, 'id' | 'details'> {
  _id: string;
  /** JSON text of the details object. */
  details: string;
}

/** A token as stored: the domain fields with its id as `_id` (the secret is never among them). */
export interface TokenDoc extends Pending, Omit<ApiToken, 'id' | 'audit' | 'environments'> {
  _id: string;
  /** Absent on tokens from before per-environment tokens: every environment. */
  environments?: string[] | null;
  /** As for pointers: null until the creation's (or revocation's) audit step anchors it; absent before anchors existed. */
  audit?: AuditRef | null;
}

export interface CounterDoc {
  _id: string;
  value: number;
}

/** One per lease name: who holds it until when (server time). */
export interface LeaseDoc {
  _id: string;
  holder: string;
  expiresAt: Date;
  /** What the holder last reported (progress); absent on leases written before details existed. */
  details?: JsonObject | null;
}

/**
 * One per (model, idempotency key): `_id` "<model>/<key>" (model names have no "/"). Claimed
 * before the write it names (`resultId`) with `unsettledAt` set, settled (field removed) once that
 * write has committed; see mongo-idempotency.ts.
 */
export interface KeyDoc {
  _id: string;
  modelName: string;
  key: string;
  operation: string;
  fingerprint: string;
  resultId: string;
  refusalCode: string | null;
  /** Where the result is: a version, or a deployment (of a move through `pointerId`, or a refused one when null). */
  resultKind: 'version' | 'deployment';
  pointerId: string | null;
  createdAt: Date;
  expiresAt: Date;
  /** Server time of the claim while its write is unfinished; absent once settled. */
  unsettledAt?: Date;
}

export function keyDocId(modelName: string, key: string): string {
  return `${modelName}/${key}`;
}

export function pointerKey(modelName: string, environment: string): string {
  // Model names and environments never contain ':' (domain/limits.ts patterns).
  return `${modelName}:${environment}`;
}

export function metricDocId(versionId: string, metric: string): string {
  return `${versionId}/${metric}`;
}

export function draftToDoc(d: AuditDraft): StoredDraft {
  return {
    id: d.id, occurredAt: d.occurredAt, actor: d.actor, action: d.action, modelName: d.modelName, versionId: d.versionId,
    details: JSON.stringify(d.details),
  };
}

export function docToDraft(d: StoredDraft): AuditDraft {
  return {
    id: d.id, occurredAt: d.occurredAt, actor: d.actor, action: d.action, modelName: d.modelName, versionId: d.versionId,
    details: JSON.parse(d.details) as JsonObject,
  };
}

export function auditToDoc(e: AuditEvent): AuditDoc {
  return {
    _id: e.id, sequence: e.sequence, occurredAt: e.occurredAt, actor: e.actor, action: e.action, modelName: e.modelName,
    versionId: e.versionId, details: JSON.stringify(e.details), previousHash: e.previousHash, hash: e.hash,
  };
}

export function docToAudit(d: AuditDoc): AuditEvent {
  return {
    id: d._id, sequence: d.sequence, occurredAt: d.occurredAt, actor: d.actor, action: d.action, modelName: d.modelName,
    versionId: d.versionId, details: JSON.parse(d.details) as JsonObject, previousHash: d.previousHash, hash: d.hash,
  };
}

export function versionToDoc(v: ModelVersion, pending: PendingMarker, pendingAt: Date): VersionDoc {
  return {
    _id: v.id, modelName: v.modelName, number: v.number, modelType: v.modelType, status: v.status, failureReason: v.failureReason,
    description: v.description, datasetVersion: v.datasetVersion, metrics: v.metrics.map((m) => ({ name: m.name, value: m.value })),
    hyperparameters: JSON.stringify(v.hyperparameters), featureNames: v.featureNames,
    training: {
      trainedAt: v.training.trainedAt, durationSeconds: v.training.durationSeconds,
      trainingSamples: v.training.trainingSamples, validationSamples: v.training.validationSamples,
    },
    tags: v.tags,
    artifacts: v.artifacts.map((a) => ({ path: a.path, sizeBytes: a.sizeBytes, sha256: a.sha256, contentType: a.contentType })),
    createdAt: v.createdAt, createdBy: v.createdBy, statusRev: 0, legalHold: v.legalHold, purgedAt: v.purgedAt,
    source: v.source, dataset: v.dataset, labels: v.labels, labelPairs: labelPairsOf(v.labels), pending, pendingAt,
  };
}

export function docToVersion(d: VersionDoc): ModelVersion {
  return {
    id: d._id, modelName: d.modelName, number: d.number, modelType: d.modelType, status: d.status, failureReason: d.failureReason,
    description: d.description, datasetVersion: d.datasetVersion, metrics: d.metrics.map((m) => ({ name: m.name, value: m.value })),
    hyperparameters: JSON.parse(d.hyperparameters) as JsonObject, featureNames: d.featureNames,
    training: {
      trainedAt: d.training.trainedAt, durationSeconds: d.training.durationSeconds,
      trainingSamples: d.training.trainingSamples, validationSamples: d.training.validationSamples,
    },
    tags: d.tags,
    artifacts: d.artifacts.map((a) => ({ path: a.path, sizeBytes: a.sizeBytes, sha256: a.sha256, contentType: a.contentType })),
    createdAt: d.createdAt, createdBy: d.createdBy,
    legalHold: d.legalHold ? { reason: d.legalHold.reason, setBy: d.legalHold.setBy, setAt: d.legalHold.setAt } : null,
    purgedAt: d.purgedAt ?? null,
    ...lineageOf(d),
  };
}

export function docToModel(d: ModelDoc): Model {
  return { name: d._id, description: d.description, createdAt: d.createdAt, versionCount: d.versionCount, primaryMetric: d.primaryMetric ?? DEFAULT_PRIMARY_METRIC };
}

/** Null for the placeholder of a (model, environment) that was never deployed. */
export function docToPointer(d: PointerDoc): DeploymentPointer | null {
  // An undeployed environment keeps its pointer (revision > 0) with no version.
  if (d.deploymentId === null || d.revision === 0) return null;
  return {
    modelName: d.modelName, environment: d.environment, versionId: d.versionId, deploymentId: d.deploymentId, revision: d.revision,
    audit: d.audit ?? null,
  };
}

export function deploymentToDoc(d: Deployment, seq: number): DeploymentDoc {
  return {
    _id: d.id, seq, modelName: d.modelName, environment: d.environment, action: d.action, status: d.status, versionId: d.versionId,
    previousVersionId: d.previousVersionId, reason: d.reason, failureReason: d.failureReason, deployedAt: d.deployedAt,
    deployedBy: d.deployedBy, revision: d.revision, priorDeploymentId: d.priorDeploymentId, restoredDeploymentId: d.restoredDeploymentId,
  };
}

export function docToDeployment(d: DeploymentDoc): Deployment {
  return {
    id: d._id, modelName: d.modelName, environment: d.environment, action: d.action, status: d.status, versionId: d.versionId,
    previousVersionId: d.previousVersionId, reason: d.reason, failureReason: d.failureReason, deployedAt: d.deployedAt,
    deployedBy: d.deployedBy, revision: d.revision, priorDeploymentId: d.priorDeploymentId, restoredDeploymentId: d.restoredDeploymentId,
  };
}

export function tokenToDoc(t: NewApiToken): TokenDoc {
  return {
    _id: t.id, name: t.name, role: t.role, modelScope: t.modelScope, expiresAt: t.expiresAt, createdAt: t.createdAt,
    createdBy: t.createdBy, lastUsedAt: t.lastUsedAt, revokedAt: t.revokedAt, secretHash: t.secretHash, audit: null,
    environments: t.environments,
  };
}

export function docToToken(d: TokenDoc): ApiToken {
  return {
    id: d._id, name: d.name, role: d.role, modelScope: d.modelScope, expiresAt: d.expiresAt, createdAt: d.createdAt,
    createdBy: d.createdBy, lastUsedAt: d.lastUsedAt, revokedAt: d.revokedAt, secretHash: d.secretHash, audit: d.audit ?? null,
    environments: d.environments ?? null,
  };
}

/** The labels as the indexed "key=value" strings (sorted by key, as stored). */
export function labelPairsOf(labels: Labels): string[] {
  return Object.entries(labels).map(([k, v]) => labelPair(k, v));
}
