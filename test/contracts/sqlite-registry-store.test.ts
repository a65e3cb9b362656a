import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
