import type Database from 'better-sqlite3';

/**
 * Takes the lease if it is free, expired or already `holder`'s, in one statement: SQLite
 * serialises writers, so of two processes racing for a free lease exactly one row change wins.
 * Expiry is this machine's clock, shared by every process on the file.
 */
export function acquireSqliteLease(db: Database.Database, name: string, holder: string, ttlMs: number): boolean {
  const now = Date.now();
  const result = db
    .prepare(`INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @expires)
              ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
              WHERE leases.expires_at <= @now OR leases.holder = excluded.holder`)
    .run({ name, holder, expires: now + ttlMs, now });
  return result.changes === 1;
}
