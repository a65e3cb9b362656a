import type Database from 'better-sqlite3';
import type { DeploymentObservation, EnvironmentPolicy, ObservedState, PromotionRequest, PromotionStatus } from '../domain/governance.js';
import type { AuditDraft, AuditEvent, Deployment, Page, PageRequest } from '../domain/model.js';
import type { GovernanceStore } from './governance.store.js';
import { decodeCursor, toPage } from './paging.js';
import { type DeploymentRow, rowToDeployment } from './sqlite-schema.js';

/** DDL of the governance tables; idempotent, run at every open (new tables and indexes only: nothing to migrate). */
export const SQLITE_GOVERNANCE_SCHEMA = `
-- servingAt: the live deployment at an instant, one index descent (SUCCEEDED deployments have a revision).
CREATE INDEX IF NOT EXISTS deployments_live_at ON deployments (model_name, environment, deployed_at, revision) WHERE revision IS NOT NULL;

CREATE TABLE IF NOT EXISTS deployment_observations (
  deployment_id TEXT NOT NULL,
  instance      TEXT NOT NULL,
  model_name    TEXT NOT NULL,
  environment   TEXT NOT NULL,
  state         TEXT NOT NULL,
  message       TEXT,
  reported_at   INTEGER NOT NULL,
  reported_by   TEXT NOT NULL,
  PRIMARY KEY (deployment_id, instance)
) STRICT;
CREATE INDEX IF NOT EXISTS observations_by_time ON deployment_observations (deployment_id, reported_at);
CREATE INDEX IF NOT EXISTS observations_by_state ON deployment_observations (deployment_id, state);

CREATE TABLE IF NOT EXISTS environment_policies (
  model_name  TEXT NOT NULL,
  environment TEXT NOT NULL,
  doc         TEXT NOT NULL,
  PRIMARY KEY (model_name, environment)
) STRICT;

CREATE TABLE IF NOT EXISTS promotion_requests (
  id           TEXT PRIMARY KEY,
  model_name   TEXT NOT NULL,
  status       TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  revision     INTEGER NOT NULL,
  doc          TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS promotion_requests_by_model ON promotion_requests (model_name, requested_at, id);
CREATE INDEX IF NOT EXISTS promotion_requests_by_status ON promotion_requests (model_name, status, requested_at, id);
`;

export const LIVE_AT_SQL = `SELECT * FROM deployments INDEXED BY deployments_live_at
  WHERE model_name = ? AND environment = ? AND revision IS NOT NULL AND deployed_at <= ?
  ORDER BY deployed_at DESC, revision DESC LIMIT 1`;

interface ObservationRow {
  deployment_id: string; instance: string; model_name: string; environment: string; state: string; message: string | null; reported_at: number; reported_by: string;
}
const rowToObservation = (r: ObservationRow): DeploymentObservation => ({
  deploymentId: r.deployment_id, instance: r.instance, modelName: r.model_name, environment: r.environment, state: r.state as ObservedState,
  message: r.message, reportedAt: new Date(r.reported_at), reportedBy: r.reported_by,
});

/** Dates in the JSON docs are ISO strings; these fields are turned back into Dates. */
const DATE_KEYS = new Set(['updatedAt', 'requestedAt', 'expiresAt', 'decidedAt', 'at']);
const revive = <T>(text: string): T => JSON.parse(text, (k, v) => (DATE_KEYS.has(k) && typeof v === 'string' ? new Date(v) : v)) as T;

/**
 * The governance tables of the SQLite store. `write` runs its function in one IMMEDIATE
 * transaction and `append` appends an audit event inside it, so each change and its event are
 * stored together, also with other processes on the file.
 */
export class SqliteGovernance implements GovernanceStore {
  constructor(
    private readonly db: Database.Database,
    private readonly write: <T>(fn: () => T) => T,
    private readonly append: (draft: AuditDraft) => AuditEvent,
  ) {
    db.exec(SQLITE_GOVERNANCE_SCHEMA);
  }

  async deploymentLiveAt(modelName: string, environment: string, at: Date): Promise<Deployment | null> {
    const row = this.db.prepare(LIVE_AT_SQL).get(modelName, environment, at.getTime()) as DeploymentRow | undefined;
    return row ? rowToDeployment(row) : null;
  }

  async recordObservation(o: DeploymentObservation, audit: (previous: DeploymentObservation | null) => AuditDraft | null): Promise<boolean> {
    return this.write(() => {
      const prev = this.db.prepare('SELECT * FROM deployment_observations WHERE deployment_id = ? AND instance = ?').get(o.deploymentId, o.instance) as
        | ObservationRow | undefined;
      if (prev && prev.reported_at > o.reportedAt.getTime()) return false;
      this.db
        .prepare(`INSERT INTO deployment_observations (deployment_id, instance, model_name, environment, state, message, reported_at, reported_by)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                  ON CONFLICT (deployment_id, instance) DO UPDATE SET state = excluded.state, message = excluded.message,
                    reported_at = excluded.reported_at, reported_by = excluded.reported_by`)
        .run(o.deploymentId, o.instance, o.modelName, o.environment, o.state, o.message, o.reportedAt.getTime(), o.reportedBy);
      const event = audit(prev ? rowToObservation(prev) : null);
      if (event) this.append(event);
      return true;
    });
  }

  async listObservations(deploymentId: string, limit: number): Promise<DeploymentObservation[]> {
    const rows = this.db
      .prepare('SELECT * FROM deployment_observations WHERE deployment_id = ? ORDER BY reported_at DESC, instance LIMIT ?')
      .all(deploymentId, limit) as ObservationRow[];
    return rows.map(rowToObservation);
  }

  async countObservations(deploymentId: string, state: ObservedState): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM deployment_observations WHERE deployment_id = ? AND state = ?').get(deploymentId, state) as { n: number }).n;
  }

  async setEnvironmentPolicy(policy: EnvironmentPolicy, audit: AuditDraft): Promise<EnvironmentPolicy> {
    return this.write(() => {
      this.db
        .prepare(`INSERT INTO environment_policies (model_name, environment, doc) VALUES (?, ?, ?)
                  ON CONFLICT (model_name, environment) DO UPDATE SET doc = excluded.doc`)
        .run(policy.modelName, policy.environment, JSON.stringify(policy));
      this.append(audit);
      return policy;
    });
  }

  async getEnvironmentPolicy(modelName: string, environment: string): Promise<EnvironmentPolicy | null> {
    const row = this.db.prepare('SELECT doc FROM environment_policies WHERE model_name = ? AND environment = ?').get(modelName, environment) as
      | { doc: string } | undefined;
    return row ? revive<EnvironmentPolicy>(row.doc) : null;
  }

  async createPromotionRequest(r: PromotionRequest, audit: AuditDraft): Promise<PromotionRequest> {
    return this.write(() => {
      this.db
        .prepare('INSERT INTO promotion_requests (id, model_name, status, requested_at, expires_at, revision, doc) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(r.id, r.modelName, r.status, r.requestedAt.getTime(), r.expiresAt.getTime(), r.revision, JSON.stringify(r));
      this.append(audit);
      return r;
    });
  }

  async getPromotionRequest(id: string): Promise<PromotionRequest | null> {
    const row = this.db.prepare('SELECT doc FROM promotion_requests WHERE id = ?').get(id) as { doc: string } | undefined;
    return row ? revive<PromotionRequest>(row.doc) : null;
  }

  async updatePromotionRequest(next: PromotionRequest, expectedRevision: number, audit: AuditDraft): Promise<PromotionRequest | null> {
    return this.write(() => {
      const changed = this.db
        .prepare('UPDATE promotion_requests SET status = ?, revision = ?, doc = ? WHERE id = ? AND revision = ?')
        .run(next.status, expectedRevision + 1, JSON.stringify({ ...next, revision: expectedRevision + 1 }), next.id, expectedRevision).changes;
      if (changed !== 1) return null;
      this.append(audit);
      return { ...next, revision: expectedRevision + 1 };
    });
  }

  async listPromotionRequests(filter: { modelName: string; status: PromotionStatus | null; now: Date }, page: PageRequest): Promise<Page<PromotionRequest>> {
    const after = decodeCursor(page.after, ['number', 'string'] as const);
    const now = filter.now.getTime();
    let where = 'model_name = ?';
    const args: (string | number)[] = [filter.modelName];
    if (filter.status === 'PENDING') {
      where += " AND status = 'PENDING' AND expires_at > ?";
      args.push(now);
    } else if (filter.status === 'EXPIRED') {
      where += " AND status IN ('PENDING', 'EXPIRED') AND (status = 'EXPIRED' OR expires_at <= ?)";
      args.push(now);
    } else if (filter.status !== null) {
      where += ' AND status = ?';
      args.push(filter.status);
    }
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM promotion_requests WHERE ${where}`).get(...args) as { n: number }).n;
    const pageWhere = after === null ? where : `${where} AND (requested_at < ? OR (requested_at = ? AND id < ?))`;
    const pageArgs = after === null ? args : [...args, after[0], after[0], after[1]];
    const rows = this.db
      .prepare(`SELECT doc FROM promotion_requests WHERE ${pageWhere} ORDER BY requested_at DESC, id DESC LIMIT ?`)
      .all(...pageArgs, page.first + 1) as { doc: string }[];
    return toPage(rows.map((r) => revive<PromotionRequest>(r.doc)), page.first, total, (r) => [r.requestedAt.getTime(), r.id]);
  }
}
