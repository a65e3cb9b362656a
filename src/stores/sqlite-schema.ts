import { DEFAULT_PRIMARY_METRIC } from '../domain/limits.js';
import type { ApiToken, Role } from '../domain/token.js';
import { lineageOf } from '../domain/lineage.js';
import type { AuditEvent, AuditRef, Deployment, DeploymentPointer, LegalHold, LineageFields, Model, ModelVersion, NewModelVersion, VersionStatus } from '../domain/model.js';

/** DDL for the SQLite store. Idempotent: run at every open. */
export const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS models (
  name          TEXT PRIMARY KEY,
  description   TEXT,
  created_at    INTEGER NOT NULL,
  version_count INTEGER NOT NULL DEFAULT 0,
  primary_metric TEXT
) STRICT;

CREATE TABLE IF NOT EXISTS versions (
  id         TEXT PRIMARY KEY,
  model_name TEXT NOT NULL REFERENCES models(name),
  number     INTEGER NOT NULL,
  status     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  doc        TEXT NOT NULL,
  -- Legal hold (JSON {reason, setBy, setAt}) and the purge time; added by migrateSqlite to older files.
  legal_hold TEXT,
  purged_at  INTEGER,
  UNIQUE (model_name, number)
) STRICT;
CREATE INDEX IF NOT EXISTS versions_by_model_status ON versions (model_name, status, number);
CREATE INDEX IF NOT EXISTS versions_pending_by_age ON versions (created_at) WHERE status = 'PENDING_UPLOAD';

-- One row per (version, metric): ranks versions by any metric from an index.
-- 'verified' mirrors status IN ('READY', 'ARCHIVED') and is updated with it.
CREATE TABLE IF NOT EXISTS version_metrics (
  version_id TEXT NOT NULL REFERENCES versions(id),
  model_name TEXT NOT NULL,
  name       TEXT NOT NULL,
  value      REAL NOT NULL,
  number     INTEGER NOT NULL,
  verified   INTEGER NOT NULL,
  PRIMARY KEY (version_id, name)
) STRICT;
CREATE INDEX IF NOT EXISTS version_metrics_rank ON version_metrics (model_name, name, verified, value, number);

CREATE TABLE IF NOT EXISTS pointers (
  model_name    TEXT NOT NULL,
  environment   TEXT NOT NULL,
  version_id    TEXT REFERENCES versions(id),
  deployment_id TEXT NOT NULL,
  revision      INTEGER NOT NULL,
  audit_sequence INTEGER,
  audit_hash     TEXT,
  PRIMARY KEY (model_name, environment)
) STRICT;
CREATE INDEX IF NOT EXISTS pointers_by_version ON pointers (version_id);

CREATE TABLE IF NOT EXISTS deployments (
  seq                    INTEGER PRIMARY KEY AUTOINCREMENT,
  id                     TEXT NOT NULL UNIQUE,
  model_name             TEXT NOT NULL,
  environment            TEXT NOT NULL,
  action                 TEXT NOT NULL,
  status                 TEXT NOT NULL,
  version_id             TEXT NOT NULL,
  previous_version_id    TEXT,
  reason                 TEXT,
  failure_reason         TEXT,
  deployed_at            INTEGER NOT NULL,
  deployed_by            TEXT NOT NULL,
  revision               INTEGER,
  prior_deployment_id    TEXT,
  restored_deployment_id TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS deployments_by_model ON deployments (model_name, seq);
CREATE INDEX IF NOT EXISTS deployments_by_env ON deployments (model_name, environment, seq);
CREATE INDEX IF NOT EXISTS deployments_by_version ON deployments (version_id, seq);
CREATE INDEX IF NOT EXISTS deployments_by_status ON deployments (model_name, status, environment);
CREATE UNIQUE INDEX IF NOT EXISTS deployments_revision ON deployments (model_name, environment, revision) WHERE revision IS NOT NULL;

CREATE TABLE IF NOT EXISTS audit_events (
  sequence      INTEGER PRIMARY KEY,
  id            TEXT NOT NULL UNIQUE,
  occurred_at   INTEGER NOT NULL,
  actor         TEXT NOT NULL,
  action        TEXT NOT NULL,
  model_name    TEXT,
  version_id    TEXT,
  details       TEXT NOT NULL,
  previous_hash TEXT NOT NULL,
  hash          TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_by_model ON audit_events (model_name, sequence);
CREATE INDEX IF NOT EXISTS audit_by_actor ON audit_events (actor, sequence);
CREATE INDEX IF NOT EXISTS audit_by_action ON audit_events (action, sequence);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit_events (occurred_at);
-- The token an event is about (token events only have one): a token's last change, read when it is used.
CREATE INDEX IF NOT EXISTS audit_by_token ON audit_events (json_extract(details, '$.tokenId'), sequence);
CREATE TABLE IF NOT EXISTS api_tokens (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  role         TEXT NOT NULL,
  model_scope  TEXT,
  expires_at   INTEGER,
  created_at   INTEGER NOT NULL,
  created_by   TEXT NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER,
  secret_hash  TEXT NOT NULL UNIQUE,
  audit_sequence INTEGER,
  audit_hash     TEXT,
  -- JSON array of the environments it may change deployments in; NULL: every one (added by migrateSqlite to older files).
  environments TEXT
) STRICT;

-- Leases: one holder at a time for work that must not run twice (completing a version, background jobs).
CREATE TABLE IF NOT EXISTS leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  details    TEXT
) STRICT;

-- Idempotency keys, per model: claimed in the transaction of the write they name (result_id), with
-- the fingerprint of the input; an expired key (expires_at <= now) is replaced by the next claim.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  model_name   TEXT NOT NULL,
  key          TEXT NOT NULL,
  operation    TEXT NOT NULL,
  fingerprint  TEXT NOT NULL,
  result_id    TEXT NOT NULL,
  refusal_code TEXT,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  PRIMARY KEY (model_name, key)
) STRICT;
CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Webhooks: deleted ones stay as tombstones (deleted_at). cursor: the last audit sequence delivered.
CREATE TABLE IF NOT EXISTS webhooks (
  id            TEXT PRIMARY KEY,
  url           TEXT NOT NULL,
  actions       TEXT NOT NULL,
  model_scope   TEXT,
  description   TEXT,
  sealed_secret TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  created_by    TEXT NOT NULL,
  updated_at    INTEGER NOT NULL,
  deleted_at    INTEGER,
  cursor        INTEGER NOT NULL
) STRICT;
-- The delivery log: one row per attempt.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  webhook_id      TEXT NOT NULL,
  event_sequence  INTEGER NOT NULL,
  event_id        TEXT NOT NULL,
  attempt         INTEGER NOT NULL,
  status          TEXT NOT NULL,
  http_status     INTEGER,
  error           TEXT,
  response_body   TEXT,
  duration_ms     INTEGER NOT NULL,
  attempted_at    INTEGER NOT NULL,
  first_attempt_at INTEGER NOT NULL,
  next_attempt_at INTEGER,
  redelivery      INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, seq);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_event ON webhook_deliveries (webhook_id, event_sequence, redelivery, seq);
CREATE TABLE IF NOT EXISTS webhook_redeliveries (
  webhook_id     TEXT NOT NULL,
  event_sequence INTEGER NOT NULL,
  requested_at   INTEGER NOT NULL,
  PRIMARY KEY (webhook_id, event_sequence)
) STRICT;

CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_events
  BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_events
  BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
`;

export interface ModelRow { name: string; description: string | null; created_at: number; version_count: number; primary_metric: string | null }
export interface VersionRow {
  id: string; model_name: string; number: number; status: string; created_at: number; doc: string; legal_hold: string | null; purged_at: number | null;
}
export interface PointerRow {
  model_name: string; environment: string; version_id: string | null; deployment_id: string; revision: number;
  audit_sequence: number | null; audit_hash: string | null;
}
export interface DeploymentRow {
  seq: number; id: string; model_name: string; environment: string; action: string; status: string; version_id: string;
  previous_version_id: string | null; reason: string | null; failure_reason: string | null; deployed_at: number;
  deployed_by: string; revision: number | null; prior_deployment_id: string | null; restored_deployment_id: string | null;
}
export interface AuditRow {
  sequence: number; id: string; occurred_at: number; actor: string; action: string; model_name: string | null;
  version_id: string | null; details: string; previous_hash: string; hash: string;
}

/** The version fields kept in the JSON `doc` column (everything not queried by SQL). */
type VersionDoc = Omit<ModelVersion, 'id' | 'modelName' | 'number' | 'status' | 'createdAt' | 'training' | 'legalHold' | 'purgedAt' | LineageFields> & {
  training: Omit<ModelVersion['training'], 'trainedAt'> & { trainedAt: string | null };
} & Partial<Pick<ModelVersion, LineageFields>>;

export function versionToDoc(v: NewModelVersion): string {
  const doc: VersionDoc = {
    modelType: v.modelType,
    failureReason: v.failureReason,
    description: v.description,
    datasetVersion: v.datasetVersion,
    metrics: v.metrics,
    hyperparameters: v.hyperparameters,
    featureNames: v.featureNames,
    training: { ...v.training, trainedAt: v.training.trainedAt ? v.training.trainedAt.toISOString() : null },
    tags: v.tags,
    artifacts: v.artifacts,
    createdBy: v.createdBy,
    ...lineageOf(v),
  };
  return JSON.stringify(doc);
}

export function rowToVersion(r: VersionRow): ModelVersion {
  const doc = JSON.parse(r.doc) as VersionDoc;
  return {
    id: r.id,
    modelName: r.model_name,
    number: r.number,
    status: r.status as VersionStatus,
    createdAt: new Date(r.created_at),
    modelType: doc.modelType,
    failureReason: doc.failureReason,
    description: doc.description,
    datasetVersion: doc.datasetVersion,
    metrics: doc.metrics,
    hyperparameters: doc.hyperparameters,
    featureNames: doc.featureNames,
    training: { ...doc.training, trainedAt: doc.training.trainedAt ? new Date(doc.training.trainedAt) : null },
    tags: doc.tags,
    artifacts: doc.artifacts,
    createdBy: doc.createdBy,
    // Versions from before lineage have none: null, null, {}.
    ...lineageOf(doc),
    legalHold: holdFromColumn(r.legal_hold),
    purgedAt: r.purged_at === null ? null : new Date(r.purged_at),
  };
}

export function holdToColumn(hold: LegalHold | null): string | null {
  return hold === null ? null : JSON.stringify({ reason: hold.reason, setBy: hold.setBy, setAt: hold.setAt.toISOString() });
}

function holdFromColumn(text: string | null): LegalHold | null {
  if (text === null) return null;
  const h = JSON.parse(text) as { reason: string; setBy: string; setAt: string };
  return { reason: h.reason, setBy: h.setBy, setAt: new Date(h.setAt) };
}

export function rowToModel(r: ModelRow): Model {
  return { name: r.name, description: r.description, createdAt: new Date(r.created_at), versionCount: r.version_count, primaryMetric: r.primary_metric ?? DEFAULT_PRIMARY_METRIC };
}

export function rowToPointer(r: PointerRow): DeploymentPointer {
  return {
    modelName: r.model_name, environment: r.environment, versionId: r.version_id, deploymentId: r.deployment_id, revision: r.revision,
    audit: rowToAuditRef(r),
  };
}

function rowToAuditRef(r: { audit_sequence: number | null; audit_hash: string | null }): AuditRef | null {
  return r.audit_sequence === null || r.audit_hash === null ? null : { sequence: r.audit_sequence, hash: r.audit_hash };
}

export function rowToDeployment(r: DeploymentRow): Deployment {
  return {
    id: r.id,
    modelName: r.model_name,
    environment: r.environment,
    action: r.action as Deployment['action'],
    status: r.status as Deployment['status'],
    versionId: r.version_id === '' ? null : r.version_id,
    previousVersionId: r.previous_version_id,
    reason: r.reason,
    failureReason: r.failure_reason,
    deployedAt: new Date(r.deployed_at),
    deployedBy: r.deployed_by,
    revision: r.revision,
    priorDeploymentId: r.prior_deployment_id,
    restoredDeploymentId: r.restored_deployment_id,
  };
}

export function deploymentToRow(d: Deployment): Omit<DeploymentRow, 'seq'> {
  return {
    id: d.id,
    model_name: d.modelName,
    environment: d.environment,
    action: d.action,
    status: d.status,
    // UNDEPLOY has no version; the column predates it (NOT NULL): '' stands for none.
    version_id: d.versionId ?? '',
    previous_version_id: d.previousVersionId,
    reason: d.reason,
    failure_reason: d.failureReason,
    deployed_at: d.deployedAt.getTime(),
    deployed_by: d.deployedBy,
    revision: d.revision,
    prior_deployment_id: d.priorDeploymentId,
    restored_deployment_id: d.restoredDeploymentId,
  };
}

export function rowToAudit(r: AuditRow): AuditEvent {
  return {
    id: r.id,
    sequence: r.sequence,
    occurredAt: new Date(r.occurred_at),
    actor: r.actor,
    action: r.action,
    modelName: r.model_name,
    versionId: r.version_id,
    details: JSON.parse(r.details) as AuditEvent['details'],
    previousHash: r.previous_hash,
    hash: r.hash,
  };
}

export interface TokenRow {
  id: string; name: string; role: string; model_scope: string | null; expires_at: number | null; created_at: number;
  created_by: string; last_used_at: number | null; revoked_at: number | null; secret_hash: string;
  audit_sequence: number | null; audit_hash: string | null; environments?: string | null;
}

export function rowToToken(r: TokenRow): ApiToken {
  const date = (v: number | null) => (v === null ? null : new Date(v));
  return {
    id: r.id, name: r.name, role: r.role as Role, modelScope: r.model_scope, expiresAt: date(r.expires_at), createdAt: new Date(r.created_at),
    createdBy: r.created_by, lastUsedAt: date(r.last_used_at), revokedAt: date(r.revoked_at), secretHash: r.secret_hash,
    environments: r.environments == null ? null : (JSON.parse(r.environments) as string[]),
    audit: rowToAuditRef(r),
  };
}
