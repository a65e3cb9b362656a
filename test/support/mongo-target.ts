import { randomBytes } from 'node:crypto';
import { type Db, MongoClient } from 'mongodb';
import { MongoRegistryStore, type MongoRegistryStoreOptions } from '../../src/stores/mongo/mongo-registry.store.js';
import { CommandMonitor } from './mongo-command-monitor.js';

/**
 * A database the Mongo store tests run on: `open` starts an independent store on it (like another
 * registry process), `db` is a raw handle for inspecting documents.
 */
export interface MongoTarget {
  open(options?: Pick<MongoRegistryStoreOptions, 'wrapDb' | 'intentLeaseMs' | 'settleGraceMs' | 'onProblem' | 'pointerReadConcern'>): Promise<MongoRegistryStore>;
  db: Db;
  /** Every command the stores opened here sent; dispose() fails if one went out without maxTimeMS. */
  monitor: CommandMonitor;
  dispose(): Promise<void>;
}

/** The MongoDB server for tests, or null (then the suites are registered as skipped). */
export const MONGODB_URI: string | null = process.env.MONGODB_URI || null;

export function announceSkip(suite: string): void {
  if (MONGODB_URI === null) {
    console.log(`[mongo] ${suite} NOT RUN: MONGODB_URI is not set (no MongoDB server is available here); the suite is registered as skipped.`);
  }
}

/** A fresh database with a random name on the server in MONGODB_URI, dropped by dispose(). */
export async function realMongoTarget(): Promise<MongoTarget> {
  if (MONGODB_URI === null) throw new Error('MONGODB_URI is not set');
  const uri = MONGODB_URI;
  const dbName = `registry_test_${randomBytes(6).toString('hex')}`;
  const client = await new MongoClient(uri).connect();
  const stores: MongoRegistryStore[] = [];
  const monitor = new CommandMonitor();
  return {
    db: client.db(dbName),
    monitor,
    async open(options = {}) {
      const store = await MongoRegistryStore.connect({
        uri, dbName, ...options, clientOptions: { monitorCommands: true },
        wrapDb: (db) => {
          monitor.watch(db.client);
          return options.wrapDb ? options.wrapDb(db) : db;
        },
      });
      stores.push(store);
      return store;
    },
    async dispose() {
      await Promise.all(stores.map((s) => s.close()));
      await client.db(dbName).dropDatabase();
      await client.close();
      if (monitor.unbounded.length > 0) throw new Error(`commands sent without maxTimeMS: ${monitor.unbounded.join('; ')}`);
    },
  };
}
