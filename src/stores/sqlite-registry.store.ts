import type { Labels } from '../domain/lineage.js';
import type { VersionSearch } from '../domain/version-search.js';
import { SqliteVersionSearch } from './sqlite-version-search.js';
import { lineageOf } from '../domain/lineage.js';
import Database from 'better-sqlite3';
import { sealEvent } from '../audit/hash-chain.js';
import { TOKEN_CHANGE_ACTIONS } from '../domain/audit-actions.js';
import { ConflictError } from '../domain/errors.js';
import type { AuditDraft, AuditEvent, Deployment, DeploymentPointer, JsonObject, LegalHold, Model, ModelVersion, NewModelVersion, Page, PageRequest, VersionStatus } from '../domain/model.js';
import { VERIFIED_STATUSES } from '../domain/model.js';
import { contiguousAfter, decodeCursor, toPage } from './paging.js';
import { migrateSqlite } from './sqlite-migrations.js';
import type { VersionKey } from './batched-pages.js';
import { sqliteLatestVersions, sqliteVersionDeployments } from './sqlite-batch-reads.js';
import { acquireSqliteLease, getSqliteLease } from './sqlite-leases.js';
import { claimSqliteKey, getSqliteKey } from './sqlite-idempotency.js';
import { SqliteWebhooks } from './sqlite-webhooks.js';
import { SqliteRetention } from './sqlite-retention.js';
import { SqliteGovernance } from './sqlite-governance.js';
import type { DeploymentObservation, EnvironmentPolicy, ObservedState, PromotionRequest, PromotionStatus } from '../domain/governance.js';
import type { NewWebhookDelivery, Webhook, WebhookDelivery, WebhookPatch } from '../domain/webhook.js';
import type { IdempotencyClaim, IdempotencyRecord } from '../domain/idempotency.js';
import { compareByMetric, ranksAfter } from '../domain/ranking.js';
import { type ApiToken, type NewApiToken, scopeRange } from '../domain/token.js';
import type { AuditFilter, Lease, ModelPatch, MoveResult, PurgeMarkResult, RegistryStore, StoreStats, TransitionResult } from './registry.store.js';
import {
  type AuditRow, type DeploymentRow, type TokenRow, rowToToken, type ModelRow, type PointerRow, type VersionRow,
  SQLITE_SCHEMA, deploymentToRow, rowToAudit, rowToDeployment, rowToModel, rowToPointer, rowToVersion, versionToDoc,
} from './sqlite-schema.js';

const AUDIT_BATCH = 1000;
const TOKEN_CHANGES = JSON.stringify(TOKEN_CHANGE_ACTIONS);

/**
 * RegistryStore on one SQLite file (better-sqlite3, WAL). Every write is one IMMEDIATE
 * transaction, so the guarantees hold across processes sharing the file: SQLite serialises
 * writers, and a killed process leaves either the whole transaction or none of it.
 */
export class SqliteRegistryStore implements RegistryStore {
  readonly engine = 'sqlite';
  private readonly db: Database.Database;

  /** `file` is a path or ':memory:'. */
  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 15000');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SQLITE_SCHEMA);
    migrateSqlite(this.db, (draft) => this.appendInTx(draft));
    this.webhooks = new SqliteWebhooks(this.db, (fn) => this.write(fn), (draft) => this.appendInTx(draft));
    this.retention = new SqliteRetention(this.db, (fn) => this.write(fn), (draft) => this.appendInTx(draft));
    this.governance = new SqliteGovernance(this.db, (fn) => this.write(fn), (draft) => this.appendInTx(draft));
    this.search = new SqliteVersionSearch(this.db, (fn) => this.write(fn), (draft) => this.appendInTx(draft));
  }

  private readonly governance: SqliteGovernance;
  private readonly search: SqliteVersionSearch;

  private readonly retention: SqliteRetention;

  private readonly webhooks: SqliteWebhooks;

  /** Prepared statements, compiled once per SQL text (the texts are a small fixed set). */
  private readonly statements = new Map<string, Database.Statement>();

  private sql(text: string): Database.Statement {
    let stmt = this.statements.get(text);
    if (!stmt) {
      stmt = this.db.prepare(text);
      this.statements.set(text, stmt);
    }
    return stmt;
  }

  /**
   * `PRAGMA data_version` moves when another connection (another process) commits; this
   * connection's own writes show in `total_changes()`. Together: any committed write anywhere.
   */
  changeStamp(): string {
    const version = this.sql('PRAGMA data_version').pluck().get() as number;
    const own = this.sql('SELECT total_changes()').pluck().get() as number;
    return `${version}:${own}`;
  }

  private write<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      if (err instanceof Database.SqliteError && err.code.startsWith('SQLITE_CONSTRAINT_')) {
        throw new ConflictError(`Conflicting write: ${err.message}`);
      }
      throw err;
    }
  }

  private appendInTx(draft: AuditDraft): AuditEvent {
    const head = this.sql('SELECT sequence, hash FROM audit_events ORDER BY sequence DESC LIMIT 1').get() as
      | { sequence: number; hash: string }
      | undefined;
    const e = sealEvent(draft, head ?? null);
    this.db
      .prepare(`INSERT INTO audit_events (sequence, id, occurred_at, actor, action, model_name, version_id, details, previous_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(e.sequence, e.id, e.occurredAt.getTime(), e.actor, e.action, e.modelName, e.versionId, JSON.stringify(e.details), e.previousHash, e.hash);
    return e;
  }

  async registerVersion(
    version: NewModelVersion, audit: (stored: ModelVersion) => AuditDraft, idempotency: IdempotencyClaim | null = null,
  ): Promise<ModelVersion> {
    return this.write(() => {
      if (idempotency) claimSqliteKey(this.db, idempotency);
      this.sql('INSERT OR IGNORE INTO models (name, description, created_at, version_count) VALUES (?, NULL, ?, 0)')
        .run(version.modelName, version.createdAt.getTime());
      const { version_count } = this.sql('UPDATE models SET version_count = version_count + 1 WHERE name = ? RETURNING version_count')
        .get(version.modelName) as { version_count: number };
      const stored: ModelVersion = { ...version, ...lineageOf(version), number: version_count, legalHold: null, purgedAt: null };
      this.sql('INSERT INTO versions (id, model_name, number, status, created_at, doc) VALUES (?, ?, ?, ?, ?, ?)')
        .run(stored.id, stored.modelName, stored.number, stored.status, stored.createdAt.getTime(), versionToDoc(stored));
      const verified = VERIFIED_STATUSES.includes(stored.status) ? 1 : 0;
      const insertMetric = this.sql('INSERT INTO version_metrics (version_id, model_name, name, value, number, verified) VALUES (?, ?, ?, ?, ?, ?)');
      for (const m of stored.metrics) insertMetric.run(stored.id, stored.modelName, m.name, m.value, stored.number, verified);
      this.search.indexNewVersion(stored);
      this.appendInTx(audit(stored));
      return stored;
    });
  }

  async getModel(name: string): Promise<Model | null> {
    const row = this.sql('SELECT * FROM models WHERE name = ?').get(name) as ModelRow | undefined;
    return row ? rowToModel(row) : null;
  }

  async getModels(names: readonly string[]): Promise<Model[]> {
    if (names.length === 0) return [];
    const rows = this.sql('SELECT * FROM models WHERE name IN (SELECT value FROM json_each(?))').all(JSON.stringify(names)) as ModelRow[];
    return rows.map(rowToModel);
  }

  async listModels(filter: { search: string | null; scope?: string | null }, page: PageRequest): Promise<Page<Model>> {
    const after = decodeCursor(page.after, ['string'] as const);
    const conds: string[] = [];
    const params: Record<string, string> = {};
    if (filter.search !== null) {
      conds.push("name LIKE @like ESCAPE '\\'");
      params.like = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    }
    if (filter.scope) conds.push(scopeCondition('name', filter.scope, params));
    const where = conds.length ? conds.join(' AND ') : '1=1';
    const rows = this
      .sql(`SELECT * FROM models WHERE ${where} AND (@after IS NULL OR name > @after) ORDER BY name LIMIT @limit`)
      .all({ ...params, after: after?.[0] ?? null, limit: page.first + 1 }) as ModelRow[];
    const { n } = this.sql(`SELECT COUNT(*) AS n FROM models WHERE ${where}`).get(params) as { n: number };
    return toPage(rows.map(rowToModel), page.first, n, (m) => [m.name]);
  }

  async updateModel(name: string, patch: ModelPatch, audit: AuditDraft): Promise<Model | null> {
    return this.write(() => {
      const row = this.sql(
        `UPDATE models SET description = CASE WHEN @setDescription THEN @description ELSE description END,
                           primary_metric = COALESCE(@primaryMetric, primary_metric)
         WHERE name = @name RETURNING *`,
      ).get({ name, setDescription: patch.description !== undefined ? 1 : 0, description: patch.description ?? null, primaryMetric: patch.primaryMetric ?? null }) as ModelRow | undefined;
      if (!row) return null;
      this.appendInTx(audit);
      return rowToModel(row);
    });
  }

  async getVersion(id: string): Promise<ModelVersion | null> {
    const row = this.sql('SELECT * FROM versions WHERE id = ?').get(id) as VersionRow | undefined;
    return row ? rowToVersion(row) : null;
  }

  async getVersions(ids: readonly string[]): Promise<ModelVersion[]> {
    if (ids.length === 0) return [];
    const rows = this.sql('SELECT * FROM versions WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(ids)) as VersionRow[];
    return rowsToVersions(rows);
  }

  async listVersions(filter: { modelName: string; status: VersionStatus | null }, page: PageRequest): Promise<Page<ModelVersion>> {
    const after = decodeCursor(page.after, ['number'] as const);
    const byStatus = filter.status === null ? '' : 'AND status = @status';
    const params = { model: filter.modelName, status: filter.status ?? undefined };
    // Statements are cached by text (this.sql): the filter combinations are a small fixed set.
    const rows = this
      .sql(`SELECT * FROM versions WHERE model_name = @model ${byStatus} AND (@after IS NULL OR number < @after) ORDER BY number DESC LIMIT @limit`)
      .all({ ...params, after: after?.[0] ?? null, limit: page.first + 1 }) as VersionRow[];
    // Numbers are gap-free, so without a status filter the count is the model's version_count: O(1).
    const { n } = (filter.status === null
      ? this.sql('SELECT COALESCE(MAX(version_count), 0) AS n FROM models WHERE name = @model').get({ model: filter.modelName })
      : this.sql(`SELECT COUNT(*) AS n FROM versions WHERE model_name = @model ${byStatus}`).get(params)) as { n: number };
    return toPage(await rowsToVersions(rows), page.first, n, (v) => [v.number]);
  }

  async getVersionByNumber(modelName: string, number: number): Promise<ModelVersion | null> {
    const row = this.sql('SELECT * FROM versions WHERE model_name = ? AND number = ?').get(modelName, number) as VersionRow | undefined;
    return row ? rowToVersion(row) : null;
  }

  async stalePendingVersions(createdBefore: Date, limit: number): Promise<ModelVersion[]> {
    const rows = this.sql(`SELECT * FROM versions WHERE status = 'PENDING_UPLOAD' AND created_at < ? ORDER BY created_at LIMIT ?`)
      .all(createdBefore.getTime(), limit) as VersionRow[];
    return rows.map(rowToVersion);
  }

  async latestVersion(modelName: string, status: VersionStatus | null): Promise<ModelVersion | null> {
    const row = (status === null
      ? this.sql('SELECT * FROM versions WHERE model_name = ? ORDER BY number DESC LIMIT 1').get(modelName)
      : this.sql('SELECT * FROM versions WHERE model_name = ? AND status = ? ORDER BY number DESC LIMIT 1').get(modelName, status)) as
      | VersionRow
      | undefined;
    return row ? rowToVersion(row) : null;
  }

  async rankVersions(q: Parameters<RegistryStore['rankVersions']>[0]): Promise<ModelVersion[]> {
    const statuses = JSON.stringify(q.statuses);
    if (q.versionIds !== null) {
      const rows = this
        .sql('SELECT * FROM versions WHERE model_name = ? AND id IN (SELECT value FROM json_each(?)) AND status IN (SELECT value FROM json_each(?))')
        .all(q.modelName, JSON.stringify(q.versionIds), statuses) as VersionRow[];
      const after = q.after ? ranksAfter(q.metric, q.direction, q.after) : () => true;
      return (await rowsToVersions(rows)).filter(after).sort(compareByMetric(q.metric, q.direction)).slice(0, q.limit);
    }
    // The ranking index only knows verified/unverified, so it serves exactly the verified statuses.
    const onlyVerified = q.statuses.length === VERIFIED_STATUSES.length && VERIFIED_STATUSES.every((s) => q.statuses.includes(s));
    if (!onlyVerified) throw new Error('rankVersions ranks READY and ARCHIVED versions only');
    const dir = q.direction === 'ASC' ? 'ASC' : 'DESC';
    // After a position: past it in (value, number) order; a position lacking the metric is past every version having it.
    const pastLacking = q.after?.value === null;
    const beyond = q.direction === 'ASC' ? '>' : '<';
    const ranked = pastLacking ? [] : (this
      .sql(`SELECT v.* FROM version_metrics m JOIN versions v ON v.id = m.version_id
                WHERE m.model_name = @model AND m.name = @metric AND m.verified = 1
                  AND (@value IS NULL OR m.value ${beyond} @value OR (m.value = @value AND m.number < @number))
                ORDER BY m.value ${dir}, m.number DESC LIMIT @limit`)
      .all({ model: q.modelName, metric: q.metric, value: q.after?.value ?? null, number: q.after?.number ?? 0, limit: q.limit }) as VersionRow[]);
    if (ranked.length >= q.limit) return rowsToVersions(ranked);
    const lacking = this
      .sql(`SELECT * FROM versions v WHERE model_name = @model AND status IN (SELECT value FROM json_each(@statuses))
                AND NOT EXISTS (SELECT 1 FROM version_metrics m WHERE m.version_id = v.id AND m.name = @metric)
                AND (@before IS NULL OR number < @before)
                ORDER BY number DESC LIMIT @limit`)
      .all({ model: q.modelName, statuses, metric: q.metric, before: pastLacking ? q.after!.number : null, limit: q.limit - ranked.length }) as VersionRow[];
    return rowsToVersions([...ranked, ...lacking]);
  }

  async transitionVersion(
    id: string,
    change: { from: readonly VersionStatus[]; to: VersionStatus; failureReason: string | null; requireUndeployed: boolean; requireNoHold?: boolean },
    audit: AuditDraft,
  ): Promise<TransitionResult> {
    return this.write((): TransitionResult => {
      const row = this.sql('SELECT * FROM versions WHERE id = ?').get(id) as VersionRow | undefined;
      if (!row) return { kind: 'not-found' };
      const current = rowToVersion(row);
      if (!change.from.includes(current.status)) return { kind: 'wrong-status', version: current };
      if (change.requireNoHold && current.legalHold !== null) return { kind: 'on-hold', version: current };
      if (change.requireUndeployed) {
        const envs = (this.sql('SELECT environment FROM pointers WHERE version_id = ? ORDER BY environment').all(id) as { environment: string }[]).map((r) => r.environment);
        if (envs.length > 0) return { kind: 'deployed', version: current, environments: envs };
      }
      const next: ModelVersion = { ...current, status: change.to, failureReason: change.failureReason };
      this.sql('UPDATE versions SET status = ?, doc = ? WHERE id = ?').run(next.status, versionToDoc(next), id);
      this.sql('UPDATE version_metrics SET verified = ? WHERE version_id = ?').run(VERIFIED_STATUSES.includes(next.status) ? 1 : 0, id);
      this.appendInTx(audit);
      return { kind: 'ok', version: next };
    });
  }

  async updateVersionMetadata(id: string, patch: { description?: string | null; tags?: string[] }, audit: AuditDraft): Promise<ModelVersion | null> {
    return this.write(() => {
      const row = this.sql('SELECT * FROM versions WHERE id = ?').get(id) as VersionRow | undefined;
      if (!row) return null;
      const current = rowToVersion(row);
      const next: ModelVersion = {
        ...current,
        description: patch.description === undefined ? current.description : patch.description,
        tags: patch.tags === undefined ? current.tags : patch.tags,
      };
      this.sql('UPDATE versions SET doc = ? WHERE id = ?').run(versionToDoc(next), id);
      if (patch.tags !== undefined) this.search.indexVersion(next);
      this.appendInTx(audit);
      return next;
    });
  }

  async getPointer(modelName: string, environment: string): Promise<DeploymentPointer | null> {
    const row = this.sql('SELECT * FROM pointers WHERE model_name = ? AND environment = ?').get(modelName, environment) as PointerRow | undefined;
    return row ? rowToPointer(row) : null;
  }

  async getPointers(keys: readonly { modelName: string; environment: string }[]): Promise<DeploymentPointer[]> {
    if (keys.length === 0) return [];
    const rows = this.db
      .prepare(`SELECT p.* FROM pointers p JOIN json_each(?) k
                ON p.model_name = json_extract(k.value, '$.modelName') AND p.environment = json_extract(k.value, '$.environment')`)
      .all(JSON.stringify(keys)) as PointerRow[];
    return rows.map(rowToPointer);
  }

  async pointersForVersions(versionIds: readonly string[]): Promise<DeploymentPointer[]> {
    if (versionIds.length === 0) return [];
    const rows = this.db
      .prepare('SELECT * FROM pointers WHERE version_id IN (SELECT value FROM json_each(?)) ORDER BY environment')
      .all(JSON.stringify(versionIds)) as PointerRow[];
    return rows.map(rowToPointer);
  }

  async *allPointers(): AsyncIterable<DeploymentPointer> {
    for (const row of this.sql('SELECT * FROM pointers ORDER BY model_name, environment').iterate() as IterableIterator<PointerRow>) yield rowToPointer(row);
  }

  async moveDeploymentPointer(
    deployment: Deployment, expectedRevision: number | null, audit: AuditDraft, idempotency: IdempotencyClaim | null = null,
  ): Promise<MoveResult> {
    return this.write((): MoveResult => {
      const current = this.sql('SELECT * FROM pointers WHERE model_name = ? AND environment = ?')
        .get(deployment.modelName, deployment.environment) as PointerRow | undefined;
      if ((current?.revision ?? null) !== expectedRevision) return { kind: 'conflict', current: current ? rowToPointer(current) : null };
      // An undeploy (no version) empties the pointer; anything else needs a READY version of the model.
      const status = deployment.versionId === null ? 'READY' : (this.sql('SELECT status FROM versions WHERE id = ? AND model_name = ?').get(deployment.versionId, deployment.modelName) as
        | { status: VersionStatus }
        | undefined)?.status;
      if (status !== 'READY') return { kind: 'version-not-ready', status: status ?? null };
      if (idempotency) claimSqliteKey(this.db, idempotency);
      const revision = (expectedRevision ?? 0) + 1;
      const stored: Deployment = { ...deployment, status: 'SUCCEEDED', revision };
      this.insertDeployment(stored);
      const event = this.appendInTx(audit);
      this.sql(`INSERT INTO pointers (model_name, environment, version_id, deployment_id, revision, audit_sequence, audit_hash) VALUES (?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (model_name, environment) DO UPDATE SET version_id = excluded.version_id,
                       deployment_id = excluded.deployment_id, revision = excluded.revision,
                       audit_sequence = excluded.audit_sequence, audit_hash = excluded.audit_hash`)
        .run(stored.modelName, stored.environment, stored.versionId, stored.id, revision, event.sequence, event.hash);
      const pointer: DeploymentPointer = {
        modelName: stored.modelName, environment: stored.environment, versionId: stored.versionId, deploymentId: stored.id, revision,
        audit: { sequence: event.sequence, hash: event.hash },
      };
      return { kind: 'moved', deployment: stored, pointer };
    });
  }

  private insertDeployment(d: Deployment): void {
    this.db
      .prepare(`INSERT INTO deployments (id, model_name, environment, action, status, version_id, previous_version_id, reason, failure_reason,
                deployed_at, deployed_by, revision, prior_deployment_id, restored_deployment_id)
                VALUES (@id, @model_name, @environment, @action, @status, @version_id, @previous_version_id, @reason, @failure_reason,
                @deployed_at, @deployed_by, @revision, @prior_deployment_id, @restored_deployment_id)`)
      .run(deploymentToRow(d));
  }

  async recordRefusedDeployment(deployment: Deployment, audit: AuditDraft, idempotency: IdempotencyClaim | null = null): Promise<Deployment> {
    const stored: Deployment = { ...deployment, status: 'FAILED', revision: null };
    return this.write(() => {
      if (idempotency) claimSqliteKey(this.db, idempotency);
      this.insertDeployment(stored);
      this.appendInTx(audit);
      return stored;
    });
  }

  async getDeployments(ids: readonly string[]): Promise<Deployment[]> {
    if (ids.length === 0) return [];
    const rows = this.sql('SELECT * FROM deployments WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(ids)) as DeploymentRow[];
    return rows.map(rowToDeployment);
  }

  async listDeployments(
    filter: { modelName: string; environment: string | null; versionId: string | null; status: 'SUCCEEDED' | 'FAILED' | null },
    page: PageRequest,
  ): Promise<Page<Deployment>> {
    const after = decodeCursor(page.after, ['number'] as const);
    const conds = ['model_name = @model'];
    if (filter.environment !== null) conds.push('environment = @env');
    if (filter.versionId !== null) conds.push('version_id = @version');
    if (filter.status !== null) conds.push('status = @status');
    const where = conds.join(' AND ');
    const params = { model: filter.modelName, env: filter.environment ?? undefined, version: filter.versionId ?? undefined, status: filter.status ?? undefined };
    const bound = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
    const rows = this
      .sql(`SELECT * FROM deployments WHERE ${where} AND (@after IS NULL OR seq < @after) ORDER BY seq DESC LIMIT @limit`)
      .all({ ...bound, after: after?.[0] ?? null, limit: page.first + 1 }) as DeploymentRow[];
    const { n } = this.countDeployments(filter, where, bound);
    const seqOf = new Map(rows.map((r) => [r.id, r.seq]));
    return toPage(rows.map(rowToDeployment), page.first, n, (d) => [seqOf.get(d.id)!]);
  }

  async latestVersions(modelNames: readonly string[]): Promise<ModelVersion[]> {
    return rowsToVersions(sqliteLatestVersions((text) => this.sql(text), modelNames));
  }

  async listVersionDeployments(versions: readonly VersionKey[], first: number): Promise<Map<string, Page<Deployment>>> {
    return sqliteVersionDeployments((text) => this.sql(text), versions, first);
  }

  /**
   * SUCCEEDED deployments of a (model, environment) are numbered by the pointer's revision 1..n
   * without gaps, so without a version filter the total is the pointers' revisions plus the FAILED
   * ones: no scan of the whole history.
   */
  private countDeployments(filter: { environment: string | null; versionId: string | null; status: string | null }, where: string, bound: Record<string, unknown>): { n: number } {
    if (filter.versionId !== null) return this.sql(`SELECT COUNT(*) AS n FROM deployments WHERE ${where}`).get(bound) as { n: number };
    const env = filter.environment === null ? '' : 'AND environment = @env';
    const succeeded = () => (this.sql(`SELECT COALESCE(SUM(revision), 0) AS n FROM pointers WHERE model_name = @model ${env}`).get(bound) as { n: number }).n;
    const failed = () => (this.sql(`SELECT COUNT(*) AS n FROM deployments WHERE model_name = @model ${env} AND status = 'FAILED'`).get(bound) as { n: number }).n;
    if (filter.status === 'SUCCEEDED') return { n: succeeded() };
    if (filter.status === 'FAILED') return { n: failed() };
    return { n: succeeded() + failed() };
  }

  async claimIdempotencyKey(claim: IdempotencyClaim): Promise<void> {
    this.write(() => claimSqliteKey(this.db, claim));
  }

  async getIdempotencyRecord(modelName: string, key: string, now: Date): Promise<IdempotencyRecord | null> {
    return getSqliteKey(this.db, modelName, key, now);
  }

  async appendAudit(draft: AuditDraft): Promise<AuditEvent> {
    return this.write(() => this.appendInTx(draft));
  }

  async listAuditEvents(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEvent>> {
    const after = decodeCursor(page.after, ['number'] as const);
    const conds: string[] = [];
    const params: Record<string, string | number> = {};
    if (filter.modelName !== null) { conds.push('model_name = @model'); params.model = filter.modelName; }
    if (filter.modelScope) conds.push(scopeCondition('model_name', filter.modelScope, params));
    if (filter.actor !== null) { conds.push('actor = @actor'); params.actor = filter.actor; }
    if (filter.action !== null) { conds.push('action = @action'); params.action = filter.action; }
    if (filter.since !== null) { conds.push('occurred_at >= @since'); params.since = filter.since.getTime(); }
    if (filter.until !== null) { conds.push('occurred_at < @until'); params.until = filter.until.getTime(); }
    const filtered = conds.length > 0;
    if (filter.hiddenActionPrefix) {
      conds.push('NOT (action >= @hiddenFrom AND action < @hiddenTo)');
      params.hiddenFrom = filter.hiddenActionPrefix;
      params.hiddenTo = `${filter.hiddenActionPrefix}\uffff`;
    }
    const where = conds.length ? conds.join(' AND ') : '1=1';
    const rows = this
      .sql(`SELECT * FROM audit_events WHERE ${where} AND (@after IS NULL OR sequence < @after) ORDER BY sequence DESC LIMIT @limit`)
      .all({ ...params, after: after?.[0] ?? null, limit: page.first + 1 }) as AuditRow[];
    // The chain is gap-free, so without filters the count is the head's sequence, less the hidden
    // actions counted from their index: no scan of the whole log.
    const { n } = (filtered
      ? this.sql(`SELECT COUNT(*) AS n FROM audit_events WHERE ${where}`).get(params)
      : this.sql(`SELECT COALESCE(MAX(sequence), 0) - (SELECT COUNT(*) FROM audit_events WHERE action >= @hiddenFrom AND action < @hiddenTo) AS n
                  FROM audit_events`).get({ hiddenFrom: params.hiddenFrom ?? '', hiddenTo: params.hiddenTo ?? '' })) as { n: number };
    return toPage(rows.map(rowToAudit), page.first, n, (e) => [e.sequence]);
  }

  async *auditEventsAscending(): AsyncIterable<AuditEvent> {
    const stmt = this.sql('SELECT * FROM audit_events WHERE sequence > ? ORDER BY sequence LIMIT ?');
    let last = 0;
    for (;;) {
      const rows = stmt.all(last, AUDIT_BATCH) as AuditRow[];
      for (const r of rows) yield rowToAudit(r);
      if (rows.length < AUDIT_BATCH) return;
      // Each batch is a synchronous read: let other requests in between, so verifying a long
      // chain does not stall inference traffic for seconds.
      await new Promise((resolve) => setImmediate(resolve));
      last = rows[rows.length - 1]!.sequence;
    }
  }

  async auditEventsAfter(afterSequence: number, limit: number): Promise<AuditEvent[]> {
    const rows = this.sql('SELECT * FROM audit_events WHERE sequence > ? ORDER BY sequence LIMIT ?').all(afterSequence, limit) as AuditRow[];
    return contiguousAfter(afterSequence, rows.map(rowToAudit));
  }

  async lastTokenChange(tokenId: string): Promise<AuditEvent | null> {
    const row = this.sql(`SELECT * FROM audit_events WHERE json_extract(details, '$.tokenId') = ? AND action IN (SELECT value FROM json_each(?))
                          ORDER BY sequence DESC LIMIT 1`).get(tokenId, TOKEN_CHANGES) as AuditRow | undefined;
    return row ? rowToAudit(row) : null;
  }

  async createApiToken(t: NewApiToken, audit: AuditDraft): Promise<ApiToken> {
    return this.write(() => {
      const event = this.appendInTx(audit);
      this.db
        .prepare(`INSERT INTO api_tokens (id, name, role, model_scope, expires_at, created_at, created_by, last_used_at, revoked_at, secret_hash,
                  audit_sequence, audit_hash, environments) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(t.id, t.name, t.role, t.modelScope, t.expiresAt?.getTime() ?? null, t.createdAt.getTime(), t.createdBy,
          t.lastUsedAt?.getTime() ?? null, t.revokedAt?.getTime() ?? null, t.secretHash, event.sequence, event.hash,
          t.environments === null ? null : JSON.stringify(t.environments));
      return { ...t, audit: { sequence: event.sequence, hash: event.hash } };
    });
  }

  async findApiTokenByHash(secretHash: string): Promise<ApiToken | null> {
    const row = this.sql('SELECT * FROM api_tokens WHERE secret_hash = ?').get(secretHash) as TokenRow | undefined;
    return row ? rowToToken(row) : null;
  }

  async listApiTokens(): Promise<ApiToken[]> {
    return (this.sql('SELECT * FROM api_tokens ORDER BY created_at DESC, id DESC').all() as TokenRow[]).map(rowToToken);
  }

  async revokeApiToken(id: string, revokedAt: Date, audit: AuditDraft): Promise<ApiToken | null> {
    return this.write(() => {
      if (this.sql('SELECT 1 FROM api_tokens WHERE id = ?').get(id) === undefined) return null;
      const event = this.appendInTx(audit);
      const row = this.sql('UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?), audit_sequence = ?, audit_hash = ? WHERE id = ? RETURNING *')
        .get(revokedAt.getTime(), event.sequence, event.hash, id) as TokenRow;
      return rowToToken(row);
    });
  }

  async touchApiToken(id: string, lastUsedAt: Date): Promise<void> {
    this.sql('UPDATE api_tokens SET last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?').run(lastUsedAt.getTime(), id);
  }

  async acquireLease(name: string, holder: string, ttlMs: number, details?: JsonObject | null): Promise<boolean> {
    return acquireSqliteLease(this.db, name, holder, ttlMs, details);
  }

  async getLease(name: string): Promise<Lease | null> {
    return getSqliteLease(this.db, name);
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    this.sql('DELETE FROM leases WHERE name = ? AND holder = ?').run(name, holder);
  }

  // ---- legal hold and purge (sqlite-retention.ts) ----
  searchVersions(search: VersionSearch, page: PageRequest): Promise<Page<ModelVersion>> { return this.search.searchVersions(search, page); }
  setVersionLabels(id: string, labels: Labels, audit: AuditDraft): Promise<ModelVersion | null> { return this.search.setVersionLabels(id, labels, audit); }
  setLegalHold(id: string, hold: LegalHold | null, audit: AuditDraft): Promise<ModelVersion | null> { return this.retention.setLegalHold(id, hold, audit); }
  markVersionPurged(id: string, purgedAt: Date, audit: AuditDraft): Promise<PurgeMarkResult> { return this.retention.markVersionPurged(id, purgedAt, audit); }

  // ---- governance (sqlite-governance.ts) ----
  deploymentLiveAt(m: string, env: string, at: Date): Promise<Deployment | null> { return this.governance.deploymentLiveAt(m, env, at); }
  recordObservation(o: DeploymentObservation, audit: (p: DeploymentObservation | null) => AuditDraft | null): Promise<boolean> { return this.governance.recordObservation(o, audit); }
  listObservations(id: string, limit: number): Promise<DeploymentObservation[]> { return this.governance.listObservations(id, limit); }
  countObservations(id: string, state: ObservedState): Promise<number> { return this.governance.countObservations(id, state); }
  setEnvironmentPolicy(p: EnvironmentPolicy, audit: AuditDraft): Promise<EnvironmentPolicy> { return this.governance.setEnvironmentPolicy(p, audit); }
  getEnvironmentPolicy(m: string, env: string): Promise<EnvironmentPolicy | null> { return this.governance.getEnvironmentPolicy(m, env); }
  createPromotionRequest(r: PromotionRequest, audit: AuditDraft): Promise<PromotionRequest> { return this.governance.createPromotionRequest(r, audit); }
  getPromotionRequest(id: string): Promise<PromotionRequest | null> { return this.governance.getPromotionRequest(id); }
  updatePromotionRequest(r: PromotionRequest, rev: number, audit: AuditDraft): Promise<PromotionRequest | null> { return this.governance.updatePromotionRequest(r, rev, audit); }
  listPromotionRequests(f: { modelName: string; status: PromotionStatus | null; now: Date }, page: PageRequest): Promise<Page<PromotionRequest>> {
    return this.governance.listPromotionRequests(f, page);
  }

  // ---- webhooks (sqlite-webhooks.ts) ----
  createWebhook(w: Webhook, audit: AuditDraft): Promise<Webhook> { return this.webhooks.createWebhook(w, audit); }
  updateWebhook(id: string, patch: WebhookPatch, at: Date, audit: AuditDraft): Promise<Webhook | null> { return this.webhooks.updateWebhook(id, patch, at, audit); }
  deleteWebhook(id: string, at: Date, audit: AuditDraft): Promise<Webhook | null> { return this.webhooks.deleteWebhook(id, at, audit); }
  getWebhook(id: string): Promise<Webhook | null> { return this.webhooks.getWebhook(id); }
  listWebhooks(): Promise<Webhook[]> { return this.webhooks.listWebhooks(); }
  advanceWebhookCursor(id: string, expected: number, next: number): Promise<boolean> { return this.webhooks.advanceWebhookCursor(id, expected, next); }
  recordWebhookDelivery(d: NewWebhookDelivery): Promise<WebhookDelivery> { return this.webhooks.recordWebhookDelivery(d); }
  settleWebhookDelivery(d: NewWebhookDelivery, expected: number): Promise<boolean> { return this.webhooks.settleWebhookDelivery(d, expected); }
  listWebhookDeliveries(id: string, page: PageRequest): Promise<Page<WebhookDelivery>> { return this.webhooks.listWebhookDeliveries(id, page); }
  lastWebhookDelivery(id: string, seq: number): Promise<WebhookDelivery | null> { return this.webhooks.lastWebhookDelivery(id, seq); }
  requestWebhookRedelivery(id: string, seq: number, at: Date): Promise<void> { return this.webhooks.requestWebhookRedelivery(id, seq, at); }
  webhookRedeliveries(id: string, limit: number): Promise<number[]> { return this.webhooks.webhookRedeliveries(id, limit); }
  clearWebhookRedelivery(id: string, seq: number): Promise<void> { return this.webhooks.clearWebhookRedelivery(id, seq); }

  async stats(): Promise<StoreStats> {
    const count = (sql: string): number => (this.sql(sql).get() as { n: number }).n;
    const byStatus = this.sql('SELECT status, COUNT(*) AS count FROM versions GROUP BY status ORDER BY status').all() as { status: VersionStatus; count: number }[];
    return {
      models: count('SELECT COUNT(*) AS n FROM models'),
      versions: count('SELECT COUNT(*) AS n FROM versions'),
      versionsByStatus: byStatus,
      deployments: count('SELECT COUNT(*) AS n FROM deployments'),
      auditEvents: count('SELECT COALESCE(MAX(sequence), 0) AS n FROM audit_events'),
      unfinishedWrites: 0,
    };
  }

  /** Every write is one transaction: nothing is ever left half done. */
  async unfinishedWrites(): Promise<number> {
    return 0;
  }

  async ping(): Promise<void> {
    this.sql('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** Parsed JSON between two turns of the event loop when a page is large (10,000 feature names a version). */
const PARSE_SLICE_BYTES = 512 * 1024;

/**
 * Versions from their rows, letting other requests in between once every PARSE_SLICE_BYTES of
 * JSON: a page of large versions (up to ~10 MB) would otherwise hold the event loop for tens of ms.
 */
async function rowsToVersions(rows: VersionRow[]): Promise<ModelVersion[]> {
  const out: ModelVersion[] = [];
  let parsed = 0;
  for (const row of rows) {
    if (parsed >= PARSE_SLICE_BYTES) {
      parsed = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
    parsed += row.doc.length;
    out.push(rowToVersion(row));
  }
  return out;
}

/** SQL for "the column names a model the scope allows", binding its values into `params`. */
function scopeCondition(column: string, scope: string, params: Record<string, string | number>): string {
  const range = scopeRange(scope);
  if ('exact' in range) {
    params.scopeExact = range.exact;
    return `${column} = @scopeExact`;
  }
  params.scopeFrom = range.from;
  params.scopeTo = range.to;
  return `${column} >= @scopeFrom AND ${column} < @scopeTo`;
}
