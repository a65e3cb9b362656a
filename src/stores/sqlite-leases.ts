import type Database from 'better-sqlite3';
import type { JsonObject } from '../domain/model.js';
import type { Lease } from './registry.store.js';

/**
 * Takes the lease if it is free, expired or already `holder`'s, in one statement: SQLite
 * serialises writers, so of two processes racing for a free lease exactly one row change wins.
 * Expiry is this machine's clock, shared by every process on the file.
 */
export function acquireSqliteLease(db: Database.Database, name: string, holder: string, ttlMs: number, details: JsonObject | null | undefined): boolean {
  const now = Date.now();
  const result = db
    .prepare(`INSERT INTO leases (name, holder, expires_at, details) VALUES (@name, @holder, @expires, @details)
              ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
                details = CASE WHEN @keep AND leases.holder = excluded.holder THEN leases.details ELSE excluded.details END
              WHERE leases.expires_at <= @now OR leases.holder = excluded.holder`)
    .run({ name, holder, expires: now + ttlMs, now, details: details ? JSON.stringify(details) : null, keep: details === undefined ? 1 : 0 });
  return result.changes === 1;
}

/** The lease unless it is absent or expired. */
export function getSqliteLease(db: Database.Database, name: string): Lease | null {
  const row = db.prepare('SELECT * FROM leases WHERE name = ? AND expires_at > ?').get(name, Date.now()) as
    | { name: string; holder: string; expires_at: number; details: string | null }
    | undefined;
  if (!row) return null;
  return { name: row.name, holder: row.holder, expiresAt: new Date(row.expires_at), details: row.details === null ? null : (JSON.parse(row.details) as JsonObject) };
}
