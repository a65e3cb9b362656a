import type Database from 'better-sqlite3';
import { type IdempotencyClaim, type IdempotencyRecord, type IdempotentOperation, IdempotencyKeyTakenError } from '../domain/idempotency.js';

interface KeyRow {
  model_name: string; key: string; operation: string; fingerprint: string; result_id: string; refusal_code: string | null;
  created_at: number; expires_at: number;
}

/**
 * Claims the key inside the caller's transaction: inserts it, or replaces a record that expired by
 * the claim's time. Held by an unexpired record: IdempotencyKeyTakenError, which rolls the whole
 * transaction back (the effect is not written either).
 */
export function claimSqliteKey(db: Database.Database, c: IdempotencyClaim): void {
  const changes = db
    .prepare(`INSERT INTO idempotency_keys (model_name, key, operation, fingerprint, result_id, refusal_code, created_at, expires_at)
              VALUES (@model, @key, @operation, @fingerprint, @result, @refusal, @created, @expires)
              ON CONFLICT (model_name, key) DO UPDATE SET operation = excluded.operation, fingerprint = excluded.fingerprint,
                result_id = excluded.result_id, refusal_code = excluded.refusal_code, created_at = excluded.created_at, expires_at = excluded.expires_at
              WHERE idempotency_keys.expires_at <= excluded.created_at`)
    .run({
      model: c.modelName, key: c.key, operation: c.operation, fingerprint: c.fingerprint, result: c.resultId, refusal: c.refusalCode,
      created: c.createdAt.getTime(), expires: c.expiresAt.getTime(),
    }).changes;
  if (changes !== 1) throw new IdempotencyKeyTakenError(c.modelName, c.key);
  // Expired keys are never read again: each claim removes a few, so the table holds about the live keys.
  db.prepare('DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)')
    .run(c.createdAt.getTime(), PURGE_PER_CLAIM);
}

/** Expired keys removed by each claim: more than one, so that a backlog shrinks while keys keep coming. */
const PURGE_PER_CLAIM = 16;

export function getSqliteKey(db: Database.Database, modelName: string, key: string, now: Date): IdempotencyRecord | null {
  const r = db.prepare('SELECT * FROM idempotency_keys WHERE model_name = ? AND key = ? AND expires_at > ?').get(modelName, key, now.getTime()) as
    | KeyRow
    | undefined;
  if (!r) return null;
  return {
    modelName: r.model_name, key: r.key, operation: r.operation as IdempotentOperation, fingerprint: r.fingerprint, resultId: r.result_id,
    refusalCode: r.refusal_code, createdAt: new Date(r.created_at), expiresAt: new Date(r.expires_at), settled: true,
  };
}
