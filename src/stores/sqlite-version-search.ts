import type Database from 'better-sqlite3';
import type { Labels } from '../domain/lineage.js';
import { labelPair } from '../domain/lineage.js';
import type { AuditDraft, AuditEvent, ModelVersion, Page, PageRequest } from '../domain/model.js';
import type { SearchPosition, VersionSearch } from '../domain/version-search.js';
import { decodeSearchCursor, searchPage } from './search-cursor.js';
import { filterPairs, searchDriver } from './search-plan.js';
import { type VersionRow, rowToVersion, versionToDoc } from './sqlite-schema.js';

/**
 * The search tables and indexes (created by migrateSqlite, with a backfill from the version
 * documents for registries made before them). docs/queries.md lists them with each query's plan.
 */
export const SQLITE_SEARCH_SCHEMA = `
CREATE TABLE IF NOT EXISTS version_tags (
  version_id TEXT NOT NULL REFERENCES versions(id),
  model_name TEXT NOT NULL,
  tag        TEXT NOT NULL,
  number     INTEGER NOT NULL,
  PRIMARY KEY (version_id, tag)
) STRICT;
CREATE INDEX IF NOT EXISTS version_tags_search ON version_tags (model_name, tag, number);
CREATE TABLE IF NOT EXISTS version_labels (
  version_id TEXT NOT NULL REFERENCES versions(id),
  model_name TEXT NOT NULL,
  pair       TEXT NOT NULL,
  number     INTEGER NOT NULL,
  PRIMARY KEY (version_id, pair)
) STRICT;
CREATE INDEX IF NOT EXISTS version_labels_search ON version_labels (model_name, pair, number);
CREATE INDEX IF NOT EXISTS versions_by_model_created ON versions (model_name, created_at, number);
CREATE INDEX IF NOT EXISTS versions_by_model_dataset ON versions (model_name, dataset_version, number);
CREATE INDEX IF NOT EXISTS versions_by_model_creator ON versions (model_name, created_by, number);
CREATE INDEX IF NOT EXISTS version_metrics_search ON version_metrics (model_name, name, value, number);
`;

/** The columns the search reads from the versions row (added by migrateSqlite before SQLITE_SEARCH_SCHEMA). */
export const SQLITE_SEARCH_COLUMNS = ['dataset_version', 'created_by'] as const;

/**
 * Fills the columns, tag and label rows of versions registered before they existed (idempotent).
 * A document SQLite cannot parse (an older registry accepted hyperparameters nested deeper than
 * SQLite's JSON limit) is left out, never a reason for the upgrade to fail: such a version is not
 * found by these filters (and cannot be read anyway).
 */
export const SQLITE_SEARCH_BACKFILL = `
UPDATE versions SET dataset_version = json_extract(doc, '$.datasetVersion'), created_by = json_extract(doc, '$.createdBy')
  WHERE dataset_version IS NULL AND json_valid(doc);
INSERT OR IGNORE INTO version_tags (version_id, model_name, tag, number)
  SELECT v.id, v.model_name, t.value, v.number FROM versions v, json_each(CASE WHEN json_valid(v.doc) THEN v.doc ELSE '{}' END, '$.tags') t;
INSERT OR IGNORE INTO version_labels (version_id, model_name, pair, number)
  SELECT v.id, v.model_name, l.key || '=' || l.value, v.number FROM versions v, json_each(CASE WHEN json_valid(v.doc) THEN v.doc ELSE '{}' END, '$.labels') l;
`;

const DATASET = 'v.dataset_version';
const CREATOR = 'v.created_by';

/** searchVersions and setVersionLabels of SqliteRegistryStore, and the upkeep of the tag and label rows. */
export class SqliteVersionSearch {
  constructor(
    private readonly db: Database.Database,
    private readonly write: <T>(fn: () => T) => T,
    private readonly append: (draft: AuditDraft) => AuditEvent,
  ) {}

  /** Inside the registration's transaction: the search columns of the new row, its tags and labels. */
  indexNewVersion(v: Pick<ModelVersion, 'id' | 'modelName' | 'number' | 'tags' | 'labels' | 'datasetVersion' | 'createdBy'>): void {
    this.db.prepare('UPDATE versions SET dataset_version = ?, created_by = ? WHERE id = ?').run(v.datasetVersion, v.createdBy, v.id);
    this.indexVersion(v);
  }

  /** Inside the caller's transaction: the version's tag and label rows as they are now. */
  indexVersion(v: Pick<ModelVersion, 'id' | 'modelName' | 'number' | 'tags' | 'labels'>): void {
    this.db.prepare('DELETE FROM version_tags WHERE version_id = ?').run(v.id);
    this.db.prepare('DELETE FROM version_labels WHERE version_id = ?').run(v.id);
    const tag = this.db.prepare('INSERT INTO version_tags (version_id, model_name, tag, number) VALUES (?, ?, ?, ?)');
    for (const t of new Set(v.tags)) tag.run(v.id, v.modelName, t, v.number);
    const label = this.db.prepare('INSERT INTO version_labels (version_id, model_name, pair, number) VALUES (?, ?, ?, ?)');
    for (const [k, value] of Object.entries(v.labels)) label.run(v.id, v.modelName, labelPair(k, value), v.number);
  }

  async setVersionLabels(id: string, labels: Labels, audit: AuditDraft): Promise<ModelVersion | null> {
    return this.write(() => {
      const row = this.db.prepare('SELECT * FROM versions WHERE id = ?').get(id) as VersionRow | undefined;
      if (!row) return null;
      const next: ModelVersion = { ...rowToVersion(row), labels };
      this.db.prepare('UPDATE versions SET doc = ? WHERE id = ?').run(versionToDoc(next), id);
      this.indexVersion(next);
      this.append(audit);
      return next;
    });
  }

  async searchVersions(search: VersionSearch, page: PageRequest): Promise<Page<ModelVersion>> {
    const q = searchStatements(search, decodeSearchCursor(search.order, page.after));
    const rows = this.db.prepare(q.page).all({ ...q.params, limit: page.first + 1 }) as VersionRow[];
    const { n } = this.db.prepare(q.count).get(q.params) as { n: number };
    return searchPage(rows.map(rowToVersion), page.first, n, search.order);
  }
}

/** The page statement (bind `limit` too) and the count statement of a search, with their parameters. */
export function searchStatements(search: VersionSearch, after: SearchPosition | null): { page: string; count: string; params: SearchSql['params'] } {
  const q = searchSql(search, after);
  return {
    page: `SELECT v.* ${q.from} WHERE ${q.where} AND ${q.after} ORDER BY ${q.orderBy} LIMIT @limit`,
    count: `SELECT COUNT(*) AS n ${q.from} WHERE ${q.where}`,
    params: q.params,
  };
}

export interface SearchSql {
  from: string;
  where: string;
  after: string;
  orderBy: string;
  params: Record<string, string | number | null>;
}

/**
 * The statement parts of a search. The driver's table comes first (CROSS JOIN fixes SQLite's join
 * order; INDEXED BY fixes the index of a versions walk), so the plan is the one docs/queries.md
 * gives whatever the statistics say; test/unit/sqlite-search-plan.test.ts checks it with EXPLAIN QUERY PLAN.
 */
export function searchSql(search: VersionSearch, after: SearchPosition | null): SearchSql {
  const f = search.filter;
  const d = searchDriver(search);
  const dir = search.order.direction === 'ASC' ? 'ASC' : 'DESC';
  const cmp = dir === 'ASC' ? '>' : '<';
  const params: Record<string, string | number | null> = { model: search.modelName };
  const where: string[] = [];
  let from: string;
  let orderBy: string;
  let afterSql = '1=1';
  let numberCol = 'v.number';
  switch (d.kind) {
    case 'metric':
      from = 'FROM version_metrics d INDEXED BY version_metrics_search CROSS JOIN versions v ON v.id = d.version_id';
      where.push('d.model_name = @model', 'd.name = @driverMetric');
      params.driverMetric = d.name;
      if (d.gte !== null) { where.push('d.value >= @driverGte'); params.driverGte = d.gte; }
      if (d.lte !== null) { where.push('d.value <= @driverLte'); params.driverLte = d.lte; }
      orderBy = `d.value ${dir}, d.number ${dir}`;
      if (after?.by === 'METRIC') { afterSql = `(d.value, d.number) ${cmp} (@afterValue, @afterNumber)`; params.afterValue = after.value; params.afterNumber = after.number; }
      break;
    case 'created':
      from = 'FROM versions v INDEXED BY versions_by_model_created';
      where.push('v.model_name = @model');
      orderBy = `v.created_at ${dir}, v.number ${dir}`;
      if (after?.by === 'CREATED_AT') { afterSql = `(v.created_at, v.number) ${cmp} (@afterCreated, @afterNumber)`; params.afterCreated = after.createdAt; params.afterNumber = after.number; }
      break;
    case 'label':
    case 'tag': {
      const table = d.kind === 'label' ? 'version_labels' : 'version_tags';
      from = `FROM ${table} d INDEXED BY ${table}_search CROSS JOIN versions v ON v.id = d.version_id`;
      where.push('d.model_name = @model', d.kind === 'label' ? 'd.pair = @driverKey' : 'd.tag = @driverKey');
      params.driverKey = d.kind === 'label' ? d.pair : d.tag;
      numberCol = 'd.number';
      orderBy = `d.number ${dir}`;
      break;
    }
    case 'dataset':
    case 'creator':
      from = `FROM versions v INDEXED BY ${d.kind === 'dataset' ? 'versions_by_model_dataset' : 'versions_by_model_creator'}`;
      where.push('v.model_name = @model', `${d.kind === 'dataset' ? DATASET : CREATOR} = @driverKey`);
      params.driverKey = d.value;
      orderBy = `v.number ${dir}`;
      break;
    case 'status':
      from = 'FROM versions v INDEXED BY versions_by_model_status';
      where.push('v.model_name = @model', 'v.status = @driverStatus');
      params.driverStatus = d.status;
      orderBy = `v.number ${dir}`;
      break;
    case 'number':
      // The UNIQUE (model_name, number) constraint's index (the second of the table, after the primary key's).
      from = 'FROM versions v INDEXED BY sqlite_autoindex_versions_2';
      where.push('v.model_name = @model');
      orderBy = `v.number ${dir}`;
      break;
  }
  if (after?.by === 'NUMBER') { afterSql = `${numberCol} ${cmp} @afterNumber`; params.afterNumber = after.number; }
  // Residual conditions, each on the row the walk reached (primary-key lookups for tags, labels, metrics).
  // (The driver's own condition is not repeated.)
  if (f.statuses && d.kind !== 'status') { where.push('v.status IN (SELECT value FROM json_each(@statuses))'); params.statuses = JSON.stringify(f.statuses); }
  f.tags.forEach((t, i) => {
    if (d.kind === 'tag' && d.tag === t) return;
    where.push(`EXISTS (SELECT 1 FROM version_tags t WHERE t.version_id = v.id AND t.tag = @tag${i})`);
    params[`tag${i}`] = t;
  });
  filterPairs(search).forEach((p, i) => {
    if (d.kind === 'label' && d.pair === p) return;
    where.push(`EXISTS (SELECT 1 FROM version_labels l WHERE l.version_id = v.id AND l.pair = @pair${i})`);
    params[`pair${i}`] = p;
  });
  if (f.datasetVersion !== null) { where.push(`${DATASET} = @dataset`); params.dataset = f.datasetVersion; }
  if (f.createdBy !== null) { where.push(`${CREATOR} = @creator`); params.creator = f.createdBy; }
  if (f.createdAfter) { where.push('v.created_at >= @createdAfter'); params.createdAfter = f.createdAfter.getTime(); }
  if (f.createdBefore) { where.push('v.created_at < @createdBefore'); params.createdBefore = f.createdBefore.getTime(); }
  if (f.metric) {
    where.push(`EXISTS (SELECT 1 FROM version_metrics m WHERE m.version_id = v.id AND m.name = @fMetric
                AND (@fGte IS NULL OR m.value >= @fGte) AND (@fLte IS NULL OR m.value <= @fLte))`);
    Object.assign(params, { fMetric: f.metric.name, fGte: f.metric.gte, fLte: f.metric.lte });
  }
  return { from, where: where.join(' AND '), after: afterSql, orderBy, params };
}
