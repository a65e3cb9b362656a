import type Database from 'better-sqlite3';
import { legacyTokenAnchorDraft, needsLegacyAnchor } from '../audit/anchors.js';
import { POINTER_MOVE_ACTIONS, TOKEN_CHANGE_ACTIONS } from '../domain/audit-actions.js';
import type { AuditDraft, AuditEvent } from '../domain/model.js';
import { type AuditRow, type TokenRow, rowToAudit, rowToToken } from './sqlite-schema.js';
import { SQLITE_SEARCH_BACKFILL, SQLITE_SEARCH_COLUMNS, SQLITE_SEARCH_SCHEMA } from './sqlite-version-search.js';

/**
 * Brings a registry file made by an earlier version up to the current schema, once, in one
 * IMMEDIATE transaction (a second process opening the file at the same time waits, then finds
 * nothing left to do). Runs after SQLITE_SCHEMA, which creates what is missing but never alters.
 */
export function migrateSqlite(db: Database.Database, append: (draft: AuditDraft) => AuditEvent): void {
  db.transaction(() => {
    addAuditRefs(db, append);
    addPrimaryMetric(db);
    addRetentionColumns(db);
    if (!hasColumn(db, 'api_tokens', 'environments')) db.exec('ALTER TABLE api_tokens ADD COLUMN environments TEXT');
    allowEmptyPointers(db);
    addSearchTables(db);
  }).immediate();
}

/**
 * The tables and indexes of modelVersions(filter, orderBy) (sqlite-version-search.ts): created when
 * missing, then filled once from the version documents of a registry made before them.
 */
function addSearchTables(db: Database.Database): void {
  const existed = (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'version_labels'").get() as unknown) !== undefined;
  for (const column of SQLITE_SEARCH_COLUMNS) if (!hasColumn(db, 'versions', column)) db.exec(`ALTER TABLE versions ADD COLUMN ${column} TEXT`);
  db.exec(SQLITE_SEARCH_SCHEMA);
  if (!existed) db.exec(SQLITE_SEARCH_BACKFILL);
}

/** Versions from before legal hold and purge: the columns are added empty (not on hold, not purged). */
function addRetentionColumns(db: Database.Database): void {
  if (!hasColumn(db, 'versions', 'legal_hold')) db.exec('ALTER TABLE versions ADD COLUMN legal_hold TEXT');
  if (!hasColumn(db, 'versions', 'purged_at')) db.exec('ALTER TABLE versions ADD COLUMN purged_at INTEGER');
}

/** Models from before primaryMetric: the column is added empty, which reads as DEFAULT_PRIMARY_METRIC (what they ranked by). */
function addPrimaryMetric(db: Database.Database): void {
  if (!hasColumn(db, 'models', 'primary_metric')) db.exec('ALTER TABLE models ADD COLUMN primary_metric TEXT');
}

function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return (db.prepare(`SELECT 1 FROM pragma_table_info('${table}') WHERE name = ?`).get(column) as unknown) !== undefined;
}

/**
 * Pointer and token rows name the audit event that last changed them. Rows from before that
 * column existed are anchored to the last such event the chain already holds.
 */
function addAuditRefs(db: Database.Database, append: (draft: AuditDraft) => AuditEvent): void {
  const moves = JSON.stringify(POINTER_MOVE_ACTIONS);
  const tokenChanges = JSON.stringify(TOKEN_CHANGE_ACTIONS);
  if (!hasColumn(db, 'pointers', 'audit_sequence')) {
    db.exec('ALTER TABLE pointers ADD COLUMN audit_sequence INTEGER; ALTER TABLE pointers ADD COLUMN audit_hash TEXT;');
    db.prepare(`UPDATE pointers SET (audit_sequence, audit_hash) = (
                  SELECT e.sequence, e.hash FROM audit_events e
                  WHERE e.model_name = pointers.model_name AND e.action IN (SELECT value FROM json_each(?))
                    AND json_extract(e.details, '$.environment') = pointers.environment
                  ORDER BY e.sequence DESC LIMIT 1)`).run(moves);
  }
  if (!hasColumn(db, 'api_tokens', 'audit_sequence')) {
    db.exec('ALTER TABLE api_tokens ADD COLUMN audit_sequence INTEGER; ALTER TABLE api_tokens ADD COLUMN audit_hash TEXT;');
    db.prepare(`UPDATE api_tokens SET (audit_sequence, audit_hash) = (
                  SELECT e.sequence, e.hash FROM audit_events e
                  WHERE e.action IN (SELECT value FROM json_each(?)) AND json_extract(e.details, '$.tokenId') = api_tokens.id
                  ORDER BY e.sequence DESC LIMIT 1)`).run(tokenChanges);
    // Tokens made before fingerprints were recorded: bound to their secret now, by one event each.
    for (const row of db.prepare('SELECT * FROM api_tokens').all() as TokenRow[]) {
      const last = row.audit_sequence === null ? null : rowToAudit(db.prepare('SELECT * FROM audit_events WHERE sequence = ?').get(row.audit_sequence) as AuditRow);
      if (!needsLegacyAnchor(last, row.revoked_at !== null)) continue;
      const event = append(legacyTokenAnchorDraft(rowToToken(row)));
      db.prepare('UPDATE api_tokens SET audit_sequence = ?, audit_hash = ? WHERE id = ?').run(event.sequence, event.hash, row.id);
    }
  }
}

/**
 * Pointers from before undeploy required a version; an undeployed environment keeps its pointer
 * (and revision) with none. SQLite cannot drop NOT NULL in place: the small table is rebuilt.
 */
function allowEmptyPointers(db: Database.Database): void {
  const notNull = db.prepare("SELECT \"notnull\" AS n FROM pragma_table_info('pointers') WHERE name = 'version_id'").get() as { n: number } | undefined;
  if (!notNull || notNull.n === 0) return;
  db.exec(`
    CREATE TABLE pointers_rebuilt (
      model_name    TEXT NOT NULL,
      environment   TEXT NOT NULL,
      version_id    TEXT REFERENCES versions(id),
      deployment_id TEXT NOT NULL,
      revision      INTEGER NOT NULL,
      audit_sequence INTEGER,
      audit_hash     TEXT,
      PRIMARY KEY (model_name, environment)
    ) STRICT;
    INSERT INTO pointers_rebuilt (model_name, environment, version_id, deployment_id, revision, audit_sequence, audit_hash)
      SELECT model_name, environment, version_id, deployment_id, revision, audit_sequence, audit_hash FROM pointers;
    DROP TABLE pointers;
    ALTER TABLE pointers_rebuilt RENAME TO pointers;
    CREATE INDEX IF NOT EXISTS pointers_by_version ON pointers (version_id);
  `);
}
