import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { newClaim } from '../../src/domain/idempotency.js';
import { SqliteRegistryStore } from '../../src/stores/sqlite-registry.store.js';
import { describeRegistryStore } from './registry-store.contract.js';
import { EMPTY_FILTER, type VersionFilter } from '../../src/domain/version-search.js';
import { draft, newVersion } from '../support/fixtures.js';

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

/** SQLite only: a registry file from before the search tables gets them, filled from its versions, when it is opened. */
describe('SqliteRegistryStore: the search tables are created and filled for an older registry file', () => {
  it('finds the versions of an older file by tag and label after the upgrade', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-search-upgrade-'));
    const file = join(dir, 'registry.db');
    try {
      const store = new SqliteRegistryStore(file);
      const tagged = await store.registerVersion(newVersion('old', { tags: ['gpu'], labels: { team: 'ml' } }), () => draft('MODEL_VERSION_REGISTERED'));
      await store.registerVersion(newVersion('old', { tags: ['cpu'] }), () => draft('MODEL_VERSION_REGISTERED'));
      const deep = await store.registerVersion(newVersion('old', { tags: ['gpu'], hyperparameters: {} }), () => draft('MODEL_VERSION_REGISTERED'));
      await store.close();
      // The file as an earlier release left it: no search tables, indexes nor columns; and one document nested deeper than
      // SQLite's JSON functions accept (earlier releases took any depth), which must not stop the upgrade.
      const db = new Database(file);
      db.exec(`DROP TABLE version_tags; DROP TABLE version_labels; DROP INDEX versions_by_model_created; DROP INDEX versions_by_model_dataset;
               DROP INDEX versions_by_model_creator; DROP INDEX version_metrics_search;
               ALTER TABLE versions DROP COLUMN dataset_version; ALTER TABLE versions DROP COLUMN created_by;`);
      const { doc } = db.prepare('SELECT doc FROM versions WHERE id = ?').get(deep.id) as { doc: string };
      db.prepare('UPDATE versions SET doc = ? WHERE id = ?').run(doc.replace('"hyperparameters":{}', `"hyperparameters":${'{"d":'.repeat(5000)}1${'}'.repeat(5000)}`), deep.id);
      db.close();
      const reopened = new SqliteRegistryStore(file);
      const find = (filter: Partial<VersionFilter>) => reopened.searchVersions({ modelName: 'old', filter: { ...EMPTY_FILTER, ...filter }, order: { by: 'NUMBER', metric: null, direction: 'DESC' } }, { first: 10, after: null });
      expect((await find({ tags: ['gpu'] })).items.map((i) => i.node.id)).toEqual([tagged.id]);
      expect((await find({ labels: { team: 'ml' } })).items.map((i) => i.node.id)).toEqual([tagged.id]);
      expect((await find({ createdBy: 'tester' })).totalCount).toBe(2);
      await reopened.close();
      // Opening again adds nothing twice.
      const again = new SqliteRegistryStore(file);
      expect((await again.searchVersions({ modelName: 'old', filter: { ...EMPTY_FILTER, tags: ['gpu'] }, order: { by: 'NUMBER', metric: null, direction: 'DESC' } }, { first: 10, after: null })).totalCount).toBe(1);
      await again.close();
    } finally {
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
