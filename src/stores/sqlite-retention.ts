import type Database from 'better-sqlite3';
import type { AuditDraft, AuditEvent, LegalHold, ModelVersion } from '../domain/model.js';
import type { PurgeMarkResult } from './registry.store.js';
import { type VersionRow, holdToColumn, rowToVersion } from './sqlite-schema.js';

/** Legal hold and purge records of SqliteRegistryStore: each one IMMEDIATE transaction with its audit event. */
export class SqliteRetention {
  constructor(
    private readonly db: Database.Database,
    private readonly write: <T>(fn: () => T) => T,
    private readonly append: (draft: AuditDraft) => AuditEvent,
  ) {}

  private read(id: string): ModelVersion | null {
    const row = this.db.prepare('SELECT * FROM versions WHERE id = ?').get(id) as VersionRow | undefined;
    return row ? rowToVersion(row) : null;
  }

  async setLegalHold(id: string, hold: LegalHold | null, audit: AuditDraft): Promise<ModelVersion | null> {
    return this.write(() => {
      const current = this.read(id);
      if (!current) return null;
      this.db.prepare('UPDATE versions SET legal_hold = ? WHERE id = ?').run(holdToColumn(hold), id);
      this.append(audit);
      return { ...current, legalHold: hold };
    });
  }

  async markVersionPurged(id: string, purgedAt: Date, audit: AuditDraft): Promise<PurgeMarkResult> {
    return this.write((): PurgeMarkResult => {
      const current = this.read(id);
      if (!current) return { kind: 'not-found' };
      if (current.purgedAt !== null) return { kind: 'already-purged', version: current };
      if (current.status !== 'ARCHIVED') return { kind: 'wrong-status', version: current };
      if (current.legalHold !== null) return { kind: 'on-hold', version: current };
      this.db.prepare('UPDATE versions SET purged_at = ? WHERE id = ?').run(purgedAt.getTime(), id);
      this.append(audit);
      return { kind: 'marked', version: { ...current, purgedAt } };
    });
  }
}
