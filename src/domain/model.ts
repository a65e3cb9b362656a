/** Plain domain types shared by every layer. No I/O, no npm imports. */
import type { DatasetRef, Labels, VersionSource } from './lineage.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const VERSION_STATUSES = ['PENDING_UPLOAD', 'READY', 'FAILED', 'ARCHIVED'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];
/** Versions whose artifacts were verified: the only ones that may be downloaded or compared. */
export const VERIFIED_STATUSES: readonly VersionStatus[] = ['READY', 'ARCHIVED'];

export type DeploymentAction = 'PROMOTE' | 'ROLLBACK' | 'UNDEPLOY';
export type DeploymentStatus = 'SUCCEEDED' | 'FAILED';
export type SortDirection = 'ASC' | 'DESC';

export interface Metric {
  name: string;
  value: number;
}

export interface TrainingInfo {
  trainedAt: Date | null;
  durationSeconds: number | null;
  trainingSamples: number | null;
  validationSamples: number | null;
}

export interface Artifact {
  path: string;
  sizeBytes: number;
  sha256: string;
  contentType: string;
}

export interface Model {
  name: string;
  description: string | null;
  createdAt: Date;
  versionCount: number;
  /** The metric rankings and improvement policies use unless told otherwise (DEFAULT_PRIMARY_METRIC until set). */
  primaryMetric: string;
}

export interface ModelVersion {
  id: string;
  modelName: string;
  number: number;
  modelType: string;
  status: VersionStatus;
  failureReason: string | null;
  description: string | null;
  datasetVersion: string;
  metrics: Metric[];
  hyperparameters: JsonObject;
  featureNames: string[];
  training: TrainingInfo;
  tags: string[];
  artifacts: Artifact[];
  createdAt: Date;
  createdBy: string;
  /** Set while the version is under legal hold: it cannot be archived nor purged (domain/retention.ts). */
  legalHold: LegalHold | null;
  /** When a purge deleted (or began deleting) the artifacts of this ARCHIVED version; metadata and audit stay. */
  purgedAt: Date | null;
  /** Where it came from (code, pipeline run); null if not given (domain/lineage.ts). */
  source: VersionSource | null;
  /** The training data's location and digest; null if not given. */
  dataset: DatasetRef | null;
  /** string → string, searchable; set at registration or by setVersionLabels. */
  labels: Labels;
}

/** Lineage fields a registration may leave out (read back as null / {}). */
export type LineageFields = 'source' | 'dataset' | 'labels';

/** A version as registered: not on hold, not purged (the store fills those in); lineage optional. */
export type NewModelVersion = Omit<ModelVersion, 'number' | 'legalHold' | 'purgedAt' | LineageFields> & Partial<Pick<ModelVersion, LineageFields>>;

export interface LegalHold {
  reason: string;
  setBy: string;
  setAt: Date;
}

/** One row per (model, environment): which version is live there now. */
export interface DeploymentPointer {
  modelName: string;
  environment: string;
  /** Null after an undeploy: nothing is live there (the pointer keeps its revision). */
  versionId: string | null;
  /** The SUCCEEDED deployment that put `versionId` in place (or, after an undeploy, that emptied it). */
  deploymentId: string;
  /** Incremented by every move; promotions and rollbacks compare-and-set on it. */
  revision: number;
  /**
   * The audit event that last moved this pointer, so the row can be checked against the chain.
   * Null only while a store without transactions has not yet finished the move's audit step.
   */
  audit: AuditRef | null;
}

/** Where a row's last change stands in the audit chain: its event's sequence and hash. */
export interface AuditRef {
  sequence: number;
  hash: string;
}

export interface Deployment {
  id: string;
  modelName: string;
  environment: string;
  action: DeploymentAction;
  status: DeploymentStatus;
  /** Null only for UNDEPLOY: it puts no version in place (previousVersionId is the one taken down). */
  versionId: string | null;
  previousVersionId: string | null;
  reason: string | null;
  failureReason: string | null;
  deployedAt: Date;
  deployedBy: string;
  /** SUCCEEDED only: the pointer revision this deployment created. */
  revision: number | null;
  /** SUCCEEDED only: the deployment that was active before this one. */
  priorDeploymentId: string | null;
  /** ROLLBACK only: the earlier deployment whose version this rollback restored. */
  restoredDeploymentId: string | null;
}

export interface AuditEvent {
  id: string;
  sequence: number;
  occurredAt: Date;
  actor: string;
  action: string;
  modelName: string | null;
  versionId: string | null;
  details: JsonObject;
  previousHash: string;
  hash: string;
}

/** An audit event before the store gives it its place (sequence, previousHash, hash) in the chain. */
export type AuditDraft = Omit<AuditEvent, 'sequence' | 'previousHash' | 'hash'>;

/**
 * Who is acting: the authenticated principal (see domain/token.ts), never client-supplied text.
 * Services need only its name for records; authorization reads the rest.
 */
export type { Principal as Actor } from './token.js';

export interface Page<T> {
  items: { node: T; cursor: string }[];
  hasNextPage: boolean;
  totalCount: number;
}

export interface PageRequest {
  first: number;
  after: string | null;
}
