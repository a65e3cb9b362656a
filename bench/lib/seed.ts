import { createHash, randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { verifyChain } from '../../src/audit/hash-chain.js';
import type { AuditDraft, Deployment, JsonObject, ModelVersion, NewModelVersion, VersionStatus } from '../../src/domain/model.js';
import { newVersionId } from '../../src/domain/version-id.js';
import { AuditAction } from '../../src/services/service-deps.js';
import { SqliteRegistryStore } from '../../src/stores/sqlite-registry.store.js';

/**
 * Seeds a registry through the store's own port methods (registerVersion, transitionVersion,
 * moveDeploymentPointer), so the rows, the metric index and the audit chain are exactly what the
 * product writes. The only difference from the server's connection: PRAGMA synchronous=OFF
 * (no fsync per commit), which changes durability, never content. verifySeed() re-checks the chain.
 */
class SeedingStore extends SqliteRegistryStore {
  private readonly conn: Database.Database;
  constructor(file: string) {
    super(file);
    // `db` is private in TypeScript only; durability is the one thing seeding changes.
    this.conn = (this as unknown as { db: Database.Database }).db;
    this.conn.pragma('synchronous = OFF');
  }
  /**
   * Groups many port calls in one outer transaction: each call's own IMMEDIATE transaction then
   * runs as a SAVEPOINT inside it (better-sqlite3 nests them), with the same statements and the
   * same all-or-nothing behaviour per call; only the commit (a WAL write) is shared.
   */
  begin(): void {
    this.conn.exec('BEGIN IMMEDIATE');
  }
  commit(): void {
    this.conn.exec('COMMIT');
  }
}

const BATCH = 500;

/** The model every dashboard and inference figure reads: it holds half of all versions. */
export const BIG_MODEL = 'bench-big';
/** Versions of the other half are spread over models of this many versions each. */
const SMALL_MODEL_SIZE = 50;
const ACTOR = { name: 'bench-seed' };
/** Seeded history starts here and advances 30 s per version (unique, ordered version ids). */
const EPOCH = Date.UTC(2024, 0, 1);
const STEP_MS = 30_000;

export const SEED_ARTIFACT = 'model.pkl';
const WEIGHTS_SHA = createHash('sha256').update('bench weights').digest('hex');

export interface SeedStats {
  versions: number;
  auditEvents: number;
  deployments: number;
  ms: number;
  versionsPerSecond: number;
}

/** Global version index i → (model, clock). Even i: the big model; odd i: small models. */
function modelFor(i: number): string {
  return i % 2 === 0 ? BIG_MODEL : `bench-m${String(Math.floor((i - 1) / 2 / SMALL_MODEL_SIZE)).padStart(5, '0')}`;
}

/** Deterministic pseudo-random in [0, 1) from an integer. */
function rand(i: number, salt: number): number {
  let x = (i * 2654435761 + salt * 40503) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x45d9f3b) >>> 0;
  x ^= x >>> 16;
  return x / 2 ** 32;
}

function draft(action: string, at: Date, target: { modelName: string; versionId: string }, details: JsonObject): AuditDraft {
  return { id: randomUUID(), occurredAt: at, actor: ACTOR.name, action, modelName: target.modelName, versionId: target.versionId, details };
}

/** What a client would register: 4 metrics, hyperparameters, 20 features, 2 artifacts. */
function versionInput(i: number, createdAt: Date): NewModelVersion {
  const modelName = modelFor(i);
  return {
    id: newVersionId(createdAt),
    modelName,
    modelType: 'gradient_boosting',
    status: 'PENDING_UPLOAD',
    failureReason: null,
    description: `nightly training run ${i}`,
    datasetVersion: `ds-${Math.floor(i / 100)}`,
    metrics: [
      { name: 'roc_auc', value: 0.5 + rand(i, 1) * 0.49 },
      { name: 'accuracy', value: 0.5 + rand(i, 2) * 0.49 },
      { name: 'f1', value: 0.4 + rand(i, 3) * 0.5 },
      { name: 'log_loss', value: 0.1 + rand(i, 4) },
    ],
    hyperparameters: { n_estimators: 100 + (i % 400), max_depth: 3 + (i % 8), learning_rate: 0.05, subsample: 0.8 },
    featureNames: Array.from({ length: 20 }, (_, k) => `feature_${k}`),
    training: { trainedAt: createdAt, durationSeconds: 600 + (i % 300), trainingSamples: 100_000, validationSamples: 20_000 },
    tags: ['nightly', i % 3 === 0 ? 'candidate' : 'experiment'],
    artifacts: [
      { path: SEED_ARTIFACT, sizeBytes: 1024 * 1024, sha256: WEIGHTS_SHA, contentType: 'application/octet-stream' },
      { path: 'config.json', sizeBytes: 2048, sha256: WEIGHTS_SHA, contentType: 'application/json' },
    ],
    createdAt,
    createdBy: ACTOR.name,
  };
}

/**
 * Grows the registry in `file` from `from` to `to` versions (global indexes from..to-1). Per model,
 * by version number k: k%20 = 19 FAILED, 18 left PENDING_UPLOAD, 17 READY then ARCHIVED, else READY;
 * k%10 = 0 promoted to production, k%10 = 5 promoted to staging. That is 2.2 audit events and
 * 0.2 deployments per version.
 */
export async function seedRegistry(file: string, from: number, to: number): Promise<SeedStats> {
  const store = new SeedingStore(file);
  const started = process.hrtime.bigint();
  let events = 0;
  let deployments = 0;
  try {
    for (let i = from; i < to; i++) {
      if ((i - from) % BATCH === 0) {
        if (i > from) store.commit();
        store.begin();
      }
      const at = new Date(EPOCH + i * STEP_MS);
      const later = (ms: number) => new Date(at.getTime() + ms);
      const stored = await store.registerVersion(versionInput(i, at), (v) =>
        draft(AuditAction.versionRegistered, at, { modelName: v.modelName, versionId: v.id }, {
          number: v.number,
          modelType: v.modelType,
          datasetVersion: v.datasetVersion,
          metrics: Object.fromEntries(v.metrics.map((m) => [m.name, m.value])),
          artifacts: v.artifacts.map((a) => ({ path: a.path, sizeBytes: a.sizeBytes, sha256: a.sha256 })),
        }),
      );
      events++;
      const target = { modelName: stored.modelName, versionId: stored.id };
      const k = stored.number % 20;
      if (k === 18) continue;
      const failed = k === 19;
      const failureReason = failed ? `artifact "${SEED_ARTIFACT}" has sha256 0000, ${WEIGHTS_SHA} was declared` : null;
      await transition(store, stored.id, ['PENDING_UPLOAD'], failed ? 'FAILED' : 'READY', failureReason,
        draft(failed ? AuditAction.versionFailed : AuditAction.versionReady, later(1000), target,
          failed ? { failureReason } : { artifacts: stored.artifacts.length }));
      events++;
      if (failed) continue;
      if (k === 17) {
        await transition(store, stored.id, ['READY'], 'ARCHIVED', null, draft(AuditAction.versionArchived, later(2000), target, { reason: 'superseded' }));
        events++;
        continue;
      }
      const env = stored.number % 10 === 0 ? 'production' : stored.number % 10 === 5 ? 'staging' : null;
      if (env) {
        await promote(store, stored, env, later(3000));
        events++;
        deployments++;
      }
    }
    if (to > from) store.commit();
  } finally {
    await store.close();
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const versions = to - from;
  return { versions, auditEvents: events, deployments, ms, versionsPerSecond: versions / (ms / 1000) };
}

async function transition(store: SqliteRegistryStore, id: string, from: VersionStatus[], to: VersionStatus, failureReason: string | null, audit: AuditDraft) {
  const r = await store.transitionVersion(id, { from, to, failureReason, requireUndeployed: to === 'ARCHIVED' }, audit);
  if (r.kind !== 'ok') throw new Error(`seeding: transition of ${id} to ${to} gave ${r.kind}`);
}

/** The same records DeploymentService.promote writes for an unconditional promotion. */
async function promote(store: SqliteRegistryStore, v: ModelVersion, environment: string, at: Date) {
  const pointer = await store.getPointer(v.modelName, environment);
  const deployment: Deployment = {
    id: randomUUID(),
    modelName: v.modelName,
    environment,
    action: 'PROMOTE',
    status: 'SUCCEEDED',
    versionId: v.id,
    previousVersionId: pointer?.versionId ?? null,
    reason: null,
    failureReason: null,
    deployedAt: at,
    deployedBy: ACTOR.name,
    revision: null,
    priorDeploymentId: pointer?.deploymentId ?? null,
    restoredDeploymentId: null,
  };
  const r = await store.moveDeploymentPointer(deployment, pointer?.revision ?? null,
    draft(AuditAction.versionPromoted, at, { modelName: v.modelName, versionId: v.id }, {
      environment,
      deploymentId: deployment.id,
      previousVersionId: deployment.previousVersionId,
      reason: null,
      policy: null,
    }));
  if (r.kind !== 'moved') throw new Error(`seeding: promotion of ${v.id} gave ${r.kind}`);
}

/** Recomputes the whole chain with the product's verifier, through the product's store (normal connection). */
export async function verifySeed(file: string): Promise<{ valid: boolean; events: number; ms: number; versions: number }> {
  const store = new SqliteRegistryStore(file);
  try {
    const started = process.hrtime.bigint();
    const result = await verifyChain(store.auditEventsAscending());
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const stats = await store.stats();
    if (!result.valid) throw new Error(`seeded audit chain is invalid: ${result.message}`);
    return { valid: result.valid, events: result.eventsChecked, ms, versions: stats.versions };
  } finally {
    await store.close();
  }
}
