import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { newClaim } from '../../src/domain/idempotency.js';
import { SqliteRegistryStore } from '../../src/stores/sqlite-registry.store.js';
import { describeRegistryStore } from './registry-store.contract.js';

describeRegistryStore('SqliteRegistryStore (:memory:)', async () => {
  const store = new SqliteRegistryStore(':memory:');
  return { store, close: () => store.close() };
});

describeRegistryStore('SqliteRegistryStore (WAL file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'registry-sqlite-'));
  const store = new SqliteRegistryStore(join(dir, 'registry.db'));
  return {
    store,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** SQLite only (Mongo has a TTL index for this): expired keys do not pile up; each claim removes some. */
describe('SqliteRegistryStore: expired idempotency keys are purged by later claims', () => {
  it('keeps about the live keys in the table', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-keys-'));
    const file = join(dir, 'registry.db');
    const store = new SqliteRegistryStore(file);
    try {
      const longAgo = new Date(Date.now() - 3 * 24 * 3600 * 1000);
      for (let i = 0; i < 40; i++) {
        await store.claimIdempotencyKey(newClaim({ modelName: 'm', key: `old-${i}`, operation: 'PROMOTE', fingerprint: 'f'.repeat(64), resultId: `d${i}` }, longAgo));
      }
      const count = () => {
        const db = new Database(file, { readonly: true });
        try {
          return (db.prepare('SELECT COUNT(*) AS n FROM idempotency_keys').get() as { n: number }).n;
        } finally {
          db.close();
        }
      };
      expect(count()).toBe(40);
      for (let i = 0; i < 3; i++) {
        await store.claimIdempotencyKey(newClaim({ modelName: 'm', key: `new-${i}`, operation: 'PROMOTE', fingerprint: 'f'.repeat(64), resultId: `n${i}` }, new Date()));
      }
      expect(count()).toBe(3);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The hot path's cache relies on it: a commit by another connection (another process) moves this store's stamp. */
describe('SqliteRegistryStore: changeStamp sees other connections\' commits', () => {
  it('moves when another store on the same file writes, and only then', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-stamp-'));
    const file = join(dir, 'registry.db');
    const reader = new SqliteRegistryStore(file);
    const writer = new SqliteRegistryStore(file);
    try {
      const before = reader.changeStamp();
      expect(reader.changeStamp()).toBe(before);
      await writer.claimIdempotencyKey(newClaim({ modelName: 'm', key: 'k', operation: 'PROMOTE', fingerprint: 'f'.repeat(64), resultId: 'd' }, new Date()));
      const after = reader.changeStamp();
      expect(after).not.toBe(before);
      expect(reader.changeStamp()).toBe(after);
    } finally {
      await reader.close();
      await writer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
