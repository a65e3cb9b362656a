/**
 * One audit writer of bench/lib/audit-appends.ts, in its own process with its own store
 * (its own SQLite connection or MongoClient), as a registry process would have: appends events
 * back to back from `startAt` until `stopAt` and reports how many and how long each took.
 */
import { randomUUID } from 'node:crypto';
import { MongoRegistryStore } from '../../src/stores/mongo/mongo-registry.store.js';
import type { RegistryStore } from '../../src/stores/registry.store.js';
import { SqliteRegistryStore } from '../../src/stores/sqlite-registry.store.js';

export interface WriterInput {
  engine: 'sqlite' | 'mongodb';
  /** SQLite file, or MongoDB URI. */
  target: string;
  dbName: string;
  writer: number;
}

/** Sent by the parent once every writer is ready: the same window for all. */
export interface WriterGo {
  startAt: number;
  stopAt: number;
}

export interface WriterOutput {
  appends: number;
  latenciesMs: number[];
  error: string | null;
}

function next<T>(): Promise<T> {
  return new Promise((resolve) => process.once('message', (m) => resolve(m as T)));
}

/** Appends back to back within the window; the latency of each append. */
async function appendWithin(store: RegistryStore, writer: number, go: WriterGo): Promise<WriterOutput> {
  const latenciesMs: number[] = [];
  try {
    await new Promise((r) => setTimeout(r, Math.max(0, go.startAt - Date.now())));
    while (Date.now() < go.stopAt) {
      const t = performance.now();
      await store.appendAudit({
        id: randomUUID(), occurredAt: new Date(), actor: `bench-writer-${writer}`, action: 'BENCH_APPEND', modelName: null, versionId: null,
        details: { writer, n: latenciesMs.length },
      });
      latenciesMs.push(performance.now() - t);
    }
    return { appends: latenciesMs.length, latenciesMs, error: null };
  } catch (err) {
    return { appends: latenciesMs.length, latenciesMs, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Opens the store, says it is ready, then runs each window it is sent until told to stop. */
async function main(): Promise<void> {
  const input = await next<WriterInput>();
  const store: RegistryStore = input.engine === 'sqlite'
    ? new SqliteRegistryStore(input.target)
    : await MongoRegistryStore.connect({ uri: input.target, dbName: input.dbName });
  try {
    for (;;) {
      const message = next<WriterGo | { stop: true }>();
      process.send!({ ready: true });
      const m = await message;
      if ('stop' in m) return;
      process.send!(await appendWithin(store, input.writer, m));
    }
  } finally {
    await store.close();
  }
}

void main().then(() => process.exit(0));
