/**
 * Audit appends per second with 1, 4 and 16 concurrent writers (issue 19 item 2): the audit chain
 * is one global append point, so this is the registry's ceiling for audited writes of any kind.
 * Each writer is a child process with its own store (its own SQLite connection, or its own
 * MongoClient), as separate registry processes would be. SQLite always (a temporary WAL file); MongoDB
 * when MONGODB_URI is set (a fresh database, dropped afterwards). After each load the chain is
 * read back and verified: every append is in it, gap-free.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { verifyChain } from '../../src/audit/hash-chain.js';
import { MongoRegistryStore } from '../../src/stores/mongo/mongo-registry.store.js';
import type { RegistryStore } from '../../src/stores/registry.store.js';
import { SqliteRegistryStore } from '../../src/stores/sqlite-registry.store.js';
import type { WriterGo, WriterInput, WriterOutput } from './audit-append-worker.js';

export interface AppendFigure {
  engine: 'sqlite' | 'mongodb';
  writers: number;
  seconds: number;
  appends: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: string[];
  /** The chain after the load: events counted and verified. */
  chainValid: boolean;
}

const WRITERS = [1, 4, 16] as const;
const WORKER = new URL('./audit-append-worker.ts', import.meta.url);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A writer process, driven over IPC: ready once its store is open (and after each window); runs a window when sent one. */
class Writer {
  private readonly child: ChildProcess;
  private readonly messages: ({ ready: true } | WriterOutput)[] = [];
  private waiting: (() => void) | null = null;
  private exited: Error | null = null;

  constructor(input: WriterInput) {
    // A child process running TypeScript as this one does (tsx's loader flags).
    this.child = fork(fileURLToPath(WORKER), [], { execArgv: process.execArgv.filter((a) => a !== '--eval'), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: { ready: true } | WriterOutput) => {
      this.messages.push(m);
      this.waiting?.();
    });
    this.child.once('exit', (code) => {
      this.exited = new Error(`audit writer exited with ${code}`);
      this.waiting?.();
    });
    this.child.send(input);
  }

  private async take(): Promise<{ ready: true } | WriterOutput> {
    while (this.messages.length === 0) {
      if (this.exited) throw this.exited;
      await new Promise<void>((r) => { this.waiting = r; });
      this.waiting = null;
    }
    return this.messages.shift()!;
  }

  async ready(): Promise<void> {
    const m = await this.take();
    if (!('ready' in m)) throw new Error('audit writer: expected ready');
  }

  async window(go: WriterGo): Promise<WriterOutput> {
    this.child.send(go);
    const m = await this.take();
    if ('ready' in m) throw new Error('audit writer: expected a result');
    return m;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exit = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.send({ stop: true });
    await exit;
  }
}

/** The loads of one engine: the writers start once (all ready before any clock starts); each load uses the first `n` of them. */
async function loads(engine: AppendFigure['engine'], target: string, dbName: string, seconds: number, open: () => Promise<RegistryStore>, progress: (line: string) => void): Promise<AppendFigure[]> {
  const writers = Array.from({ length: Math.max(...WRITERS) }, (_, writer) => new Writer({ engine, target, dbName, writer }));
  const figures: AppendFigure[] = [];
  let before = 0;
  try {
    await Promise.all(writers.map((w) => w.ready()));
    for (const n of WRITERS) {
      progress(`audit appends: ${engine}, ${n} writer(s), ${seconds} s`);
      const startAt = Date.now() + 200;
      const outs = await Promise.all(writers.slice(0, n).map((w) => w.window({ startAt, stopAt: startAt + seconds * 1000 })));
      await Promise.all(writers.slice(0, n).map((w) => w.ready()));
      const latencies = outs.flatMap((o) => o.latenciesMs).sort((a, b) => a - b);
      const appends = outs.reduce((sum, o) => sum + o.appends, 0);
      const store = await open();
      try {
        const head = (await store.stats()).auditEvents;
        const chain = await verifyChain(store.auditEventsAscending());
        figures.push({
          engine, writers: n, seconds, appends, perSecond: appends / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99),
          errors: outs.map((o) => o.error).filter((e): e is string => e !== null),
          chainValid: chain.valid && head === before + appends,
        });
      } finally {
        await store.close();
      }
      before += appends;
    }
  } finally {
    await Promise.all(writers.map((w) => w.stop()));
  }
  return figures;
}

/** Runs the loads: SQLite always, MongoDB when `mongoUri` is given. `seconds` per load. */
export async function measureAuditAppends(opts: { seconds: number; mongoUri: string | null; progress: (line: string) => void }): Promise<AppendFigure[]> {
  const figures: AppendFigure[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'registry-bench-audit-'));
  try {
    const file = join(dir, 'registry.db');
    await new SqliteRegistryStore(file).close(); // creates the file and its schema once
    figures.push(...(await loads('sqlite', file, '', opts.seconds, async () => new SqliteRegistryStore(file), opts.progress)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (opts.mongoUri !== null) {
    const uri = opts.mongoUri;
    const dbName = `registry_bench_${randomBytes(6).toString('hex')}`;
    try {
      await (await MongoRegistryStore.connect({ uri, dbName })).close();
      figures.push(...(await loads('mongodb', uri, dbName, opts.seconds, () => MongoRegistryStore.connect({ uri, dbName }), opts.progress)));
    } finally {
      const client = await new MongoClient(uri).connect();
      await client.db(dbName).dropDatabase();
      await client.close();
    }
  }
  return figures;
}
