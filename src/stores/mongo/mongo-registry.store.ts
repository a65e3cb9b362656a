import { type ClientSession, type Db, MongoClient, type MongoClientOptions, ReadConcern, ReadPreference } from 'mongodb';
import type { AuditDraft, AuditEvent, Deployment, DeploymentPointer, JsonObject, LegalHold, Model, ModelVersion, NewModelVersion, Page, PageRequest, VersionStatus } from '../../domain/model.js';
import { VERIFIED_STATUSES } from '../../domain/model.js';
import { compareByMetric, ranksAfter } from '../../domain/ranking.js';
import type { ApiToken, NewApiToken } from '../../domain/token.js';
import { decodeCursor, toPage } from '../paging.js';
import type { AuditFilter, Lease, ModelPatch, MoveResult, PurgeMarkResult, RegistryStore, StoreStats, TransitionResult } from '../registry.store.js';
import {
  type AuditDoc, COLLECTIONS, type CollectionName, type DeploymentDoc, type MetricDoc, type ModelDoc, type VersionDoc,
  docToDeployment, docToModel, docToPointer, docToVersion, pointerKey,
} from './mongo-documents.js';
import { MONGO_INDEXES } from './mongo-indexes.js';
import {
  type DeploymentCount, auditHeadQuery, byIdsQuery, latestVersionQuery, stalePendingQuery, versionByNumberQuery, listDeploymentsQuery, listModelsQuery, listVersionsQuery,
  pointersForVersionsQuery, rankQuery, statusCountQuery, unfinishedCountQuery, unrankedQuery,
} from './mongo-queries.js';
import { MongoDeploymentWrites } from './mongo-deployment-writes.js';
import { latestVersionsQuery, versionDeploymentsQuery } from './mongo-batch-queries.js';
import { type VersionKey, versionPages } from '../batched-pages.js';
import { MongoSteps, PENDING_COLLECTIONS, type StoreProblem } from './mongo-steps.js';
import { DEFAULT_OPERATION_TIMEOUT_MS, storeClientOptions, storeWriteConcern } from './mongo-client.js';
import { MongoRetention } from './mongo-retention.js';
import { MongoVersionWrites } from './mongo-version-writes.js';
import { MongoVersionSearch } from './mongo-version-search.js';
import type { Labels } from '../../domain/lineage.js';
import type { VersionSearch } from '../../domain/version-search.js';
import { allPointerDocs, backfillAnchors } from './mongo-anchors.js';
import { acquireMongoLease, getMongoLease, releaseMongoLease } from './mongo-leases.js';
import { MongoAuditLog } from './mongo-audit-log.js';
import { MongoTokens } from './mongo-tokens.js';
import { MongoWebhooks } from './mongo-webhooks.js';
import { MongoGovernance } from './mongo-governance.js';
import type { DeploymentObservation, EnvironmentPolicy, ObservedState, PromotionRequest, PromotionStatus } from '../../domain/governance.js';
import type { NewWebhookDelivery, Webhook, WebhookDelivery, WebhookPatch } from '../../domain/webhook.js';
import { MongoIdempotencyKeys } from './mongo-idempotency.js';
import type { IdempotencyClaim, IdempotencyRecord } from '../../domain/idempotency.js';

/*
 * RegistryStore on MongoDB, without depending on multi-document transactions (standalone or
 * replica set, any number of registry processes). The full write-up is docs/production-mongodb.md.
 *
 * Every multi-document write has ONE commit point: a single-document conditional write that also
 * leaves a `pending` marker (with the audit draft, and for moves the deployment document) on that
 * document. Everything after the commit point is an idempotent step that any process can redo
 * (mongo-recovery.ts plans them; the owner runs the same plan). Recovery runs at start-up, and
 * before reads that depend on the later steps. C(a..b) below is a crash after step a, before b;
 * test/support/mongo-crash-scenarios.ts stops each operation before each of its writes in turn
 * (a fault injected by the test through the `wrapDb` seam) and checks what recovery leaves.
 *
 *
 * registerVersion   R1 read max number   R2 insert version {number: max+1, pending}  ← commit (unique
 *                   {modelName, number}: a duplicate means a concurrent registration; re-read, retry)
 *                   R3 upsert model ($min createdAt, $max versionCount)  R4 upsert metric docs
 *                   ($setOnInsert)  R5 append audit  R6 clear marker.
 *                   C(R1..R2): nothing written.  C(R2..R6): recovery redoes R3..R6.
 * transitionVersion T1 conditional update {status ∈ from, statusRev, no pending} → new status +
 *                   pending ← commit   T2 sync metric docs (guarded by statusRev)  T3 audit  T4 clear.
 *   with requireUndeployed:  T1 reserve (intent marker)  T1' read pointers naming the version (and
 *                   pointer intents to it): any → release, 'deployed'   T1'' commit (conditional on
 *                   our intent still being there)  then T2..T4.
 *                   C(T1..T1''): the intent blocks other writers of this version until the lease
 *                   (intentLeaseMs) expires; then recovery aborts it. C(after commit): redo T2..T4.
 * moveDeploymentPointer  M0 allocate deployment seq ($inc counter; a lost number is harmless)
 *                   M1 reserve pointer {revision = expected, no pending} (upsert of a revision-0
 *                   placeholder when none)  M2 read the version: READY and no status change pending
 *                   M3 commit: pointer := version, revision+1, audit null (conditional on our intent) ← commit
 *                   M4 insert SUCCEEDED deployment   M5 audit   M5' anchor (pointer.audit := the event)
 *                   M6 clear.
 *                   C(M0..M1): nothing but a skipped seq.  C(M1..M3): intent, aborted after the lease;
 *                   readers see the old pointer.  C(M3..M6): recovery redoes M4..M6, and getPointer/
 *                   listDeployments wait for the owner (grace period) or finish it before answering,
 *                   so no reader sees a pointer without its deployment.
 *   Archive (T1') and promotion (M2) each write their reservation first and then read the other's
 *   document (in one causally consistent session): of two concurrent ones at least one sees the
 *   other and backs off, so an ARCHIVED version is never deployed.
 * idempotency keys  K1 claim (unsettled) before the commit point, K2 settle as a step of the write's
 *                   plan; for moves K1 sits between M2 and M3. Recovery: mongo-idempotency.ts.
 * recordRefusedDeployment / createApiToken / updateModel / updateVersionMetadata / revokeApiToken:
 *                   one write carrying the marker ← commit, then audit, (tokens: anchor), clear.
 *
 * After its own commit point an operation always returns its committed result: a failing later
 * step is reported (onProblem) and left to recovery, never thrown as if nothing had happened.
 *
 * A reader or recovery that finishes a LIVE operation is harmless: every step is idempotent. An
 * intent is aborted only when older than the lease (server clock, $$NOW) and only while still an
 * intent; the owner's commit is conditional on its intent, so exactly one of the two applies and
 * the loser sees it (the owner then reports a conflict or retries).
 *
 * Index use per query: mongo-indexes.ts, mongo-queries.ts, mongo-updates.ts (checked by test/unit/mongo-queries.test.ts).
 */

export interface MongoRegistryStoreOptions {
  uri: string;
  dbName: string;
  /** Reservations (intents) older than this may be aborted by recovery. Default 30 s. */
  intentLeaseMs?: number;
  /** Server-side bound (maxTimeMS) on every command, and the base of the client's timeouts (mongo-client.ts). Default 10 s. */
  operationTimeoutMs?: number;
  /** Reads leave committed writes younger than this to their owner (see MongoSteps). Default 2 s. */
  settleGraceMs?: number;
  /**
   * Read concern of pointer reads on a replica set: `majority` (default) or `linearizable` (a read
   * that a deposed primary cannot answer: it sees every promotion acknowledged before it started,
   * at the price of a round to a majority per read). See docs/production-mongodb.md.
   */
  pointerReadConcern?: 'majority' | 'linearizable';
  /** Told about writes the store could not finish (logged by the caller); the store goes on. */
  onProblem?: (problem: StoreProblem) => void;
  /** Merged over the defaults of mongo-client.ts (timeouts, pools, TLS); the database's read and write concern stay the store's. */
  clientOptions?: MongoClientOptions;
  /** Test seam: wraps the database handle (fault injection). Not for production use. */
  wrapDb?: (db: Db) => Db;
}

type OpenOptions = Pick<MongoRegistryStoreOptions, 'intentLeaseMs' | 'operationTimeoutMs' | 'settleGraceMs' | 'onProblem'> & {
  pointerReads?: 'local' | 'linearizable';
  onClose?: () => Promise<void>;
};

const DEFAULT_INTENT_LEASE_MS = 30_000;
const DEFAULT_SETTLE_GRACE_MS = 2_000;

export class MongoRegistryStore implements RegistryStore {
  readonly engine = 'mongodb';

  /** None cheaper than the pointer read it would save: the hot path reads MongoDB every time (see DeployedCache). */
  changeStamp(): null {
    return null;
  }
  private readonly steps: MongoSteps;
  private readonly versionWrites: MongoVersionWrites;
  private readonly search: MongoVersionSearch;
  private readonly retention: MongoRetention;
  private readonly deploymentWrites: MongoDeploymentWrites;
  private readonly auditLog: MongoAuditLog;
  private readonly tokens: MongoTokens;
  private readonly webhooks: MongoWebhooks;
  private readonly governance: MongoGovernance;
  private readonly keys: MongoIdempotencyKeys;
  private readonly onClose: () => Promise<void>;

  private constructor(private readonly db: Db, options: OpenOptions) {
    this.steps = new MongoSteps(db, {
      maxTimeMS: options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
      intentLeaseMs: options.intentLeaseMs ?? DEFAULT_INTENT_LEASE_MS,
      settleGraceMs: options.settleGraceMs ?? DEFAULT_SETTLE_GRACE_MS,
      onProblem: options.onProblem,
    });
    this.onClose = options.onClose ?? (async () => {});
    const session = <T>(fn: (s: ClientSession) => Promise<T>) => this.session(fn);
    this.keys = new MongoIdempotencyKeys(this.steps);
    this.versionWrites = new MongoVersionWrites(this.steps, session, this.keys);
    this.retention = new MongoRetention(this.steps);
    this.search = new MongoVersionSearch(this.steps);
    this.deploymentWrites = new MongoDeploymentWrites(this.steps, session, this.keys, options.pointerReads === 'linearizable' ? 'linearizable' : null);
    this.auditLog = new MongoAuditLog(this.steps);
    this.tokens = new MongoTokens(this.steps);
    this.webhooks = new MongoWebhooks(this.steps);
    this.governance = new MongoGovernance(this.steps);
  }

  /** Connects, creates the indexes (idempotent) and runs recovery. */
  static async connect(options: MongoRegistryStoreOptions): Promise<MongoRegistryStore> {
    const timeouts = { operationMs: options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS };
    const writeConcern = storeWriteConcern(timeouts);
    const client = new MongoClient(options.uri, storeClientOptions(timeouts, options.clientOptions));
    await client.connect();
    try {
      // A standalone server has no replication, so "local" is as strong as "majority" there.
      // `hello` exists from MongoDB 4.4.2 (and 5.0); 4.4.0-4.4.1 only know `isMaster`.
      const admin = client.db('admin');
      const hello = await admin.command({ hello: 1 }).catch(() => admin.command({ isMaster: 1 }));
      const replicated = typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
      const db = client.db(options.dbName, {
        readConcern: new ReadConcern(replicated ? 'majority' : 'local'), writeConcern, readPreference: ReadPreference.PRIMARY,
      });
      return await MongoRegistryStore.open(options.wrapDb ? options.wrapDb(db) : db, {
        ...options, pointerReads: replicated && options.pointerReadConcern === 'linearizable' ? 'linearizable' : 'local', onClose: () => client.close(),
      });
    } catch (err) {
      await client.close();
      throw err;
    }
  }

  /** Uses an open database handle (the caller owns the client unless `onClose` closes it). */
  static async open(db: Db, options: OpenOptions = {}): Promise<MongoRegistryStore> {
    const store = new MongoRegistryStore(db, options);
    for (const [collection, indexes] of Object.entries(MONGO_INDEXES)) await store.steps.createIndexes(collection as CollectionName, indexes);
    await store.recover();
    await backfillAnchors(store.steps);
    return store;
  }

  /** Finishes every pending operation (and aborts reservations older than the lease). Idempotent. */
  async recover(): Promise<void> {
    await this.steps.settleAll(undefined, 'all');
    await this.keys.recoverAll();
  }

  private async session<T>(fn: (s: ClientSession) => Promise<T>): Promise<T> {
    // Causal consistency: a read after our own write in the same operation sees everything before that write.
    const s = this.db.client.startSession({ causalConsistency: true });
    try {
      return await fn(s);
    } finally {
      await s.endSession();
    }
  }

  // ---- versions and models (writes: mongo-version-writes.ts) ----

  registerVersion(version: NewModelVersion, audit: (stored: ModelVersion) => AuditDraft, idempotency?: IdempotencyClaim | null): Promise<ModelVersion> {
    return this.versionWrites.registerVersion(version, audit, idempotency ?? null);
  }

  updateModel(name: string, patch: ModelPatch, audit: AuditDraft): Promise<Model | null> {
    return this.versionWrites.updateModel(name, patch, audit);
  }

  transitionVersion(
    id: string,
    change: { from: readonly VersionStatus[]; to: VersionStatus; failureReason: string | null; requireUndeployed: boolean; requireNoHold?: boolean },
    audit: AuditDraft,
  ): Promise<TransitionResult> {
    return this.versionWrites.transitionVersion(id, change, audit);
  }

  setLegalHold(id: string, hold: LegalHold | null, audit: AuditDraft): Promise<ModelVersion | null> {
    return this.retention.setLegalHold(id, hold, audit);
  }

  markVersionPurged(id: string, purgedAt: Date, audit: AuditDraft): Promise<PurgeMarkResult> {
    return this.retention.markVersionPurged(id, purgedAt, audit);
  }

  searchVersions(search: VersionSearch, page: PageRequest): Promise<Page<ModelVersion>> {
    return this.search.searchVersions(search, page);
  }

  setVersionLabels(id: string, labels: Labels, audit: AuditDraft): Promise<ModelVersion | null> {
    return this.search.setVersionLabels(id, labels, audit);
  }

  updateVersionMetadata(id: string, patch: { description?: string | null; tags?: string[] }, audit: AuditDraft): Promise<ModelVersion | null> {
    return this.versionWrites.updateVersionMetadata(id, patch, audit);
  }

  async getModel(name: string): Promise<Model | null> {
    await this.steps.settle(COLLECTIONS.versions, { modelName: name });
    const doc = await this.steps.findById<ModelDoc>(COLLECTIONS.models, name);
    return doc ? docToModel(doc) : null;
  }

  async getModels(names: readonly string[]): Promise<Model[]> {
    if (names.length === 0) return [];
    await this.steps.settle(COLLECTIONS.versions);
    return (await this.steps.find<ModelDoc>(byIdsQuery(COLLECTIONS.models, names))).map(docToModel);
  }

  async listModels(filter: { search: string | null; scope?: string | null }, page: PageRequest): Promise<Page<Model>> {
    const after = decodeCursor(page.after, ['string'] as const);
    await this.steps.settle(COLLECTIONS.versions);
    const q = listModelsQuery(filter, after?.[0] ?? null, page.first);
    const [rows, total] = await Promise.all([this.steps.find<ModelDoc>(q.page), this.steps.count(q.count)]);
    return toPage(rows.map(docToModel), page.first, total, (m) => [m.name]);
  }

  async getVersion(id: string): Promise<ModelVersion | null> {
    const doc = await this.steps.findById<VersionDoc>(COLLECTIONS.versions, id);
    return doc ? docToVersion(doc) : null;
  }

  async getVersions(ids: readonly string[]): Promise<ModelVersion[]> {
    if (ids.length === 0) return [];
    return (await this.steps.find<VersionDoc>(byIdsQuery(COLLECTIONS.versions, ids))).map(docToVersion);
  }

  async listVersions(filter: { modelName: string; status: VersionStatus | null }, page: PageRequest): Promise<Page<ModelVersion>> {
    const after = decodeCursor(page.after, ['number'] as const);
    const q = listVersionsQuery(filter, after?.[0] ?? null, page.first);
    const [rows, total] = await Promise.all([this.steps.find<VersionDoc>(q.page), this.steps.count(q.count)]);
    return toPage(rows.map(docToVersion), page.first, total, (v) => [v.number]);
  }

  async getVersionByNumber(modelName: string, number: number): Promise<ModelVersion | null> {
    const [doc] = await this.steps.find<VersionDoc>(versionByNumberQuery(modelName, number));
    return doc ? docToVersion(doc) : null;
  }

  async stalePendingVersions(createdBefore: Date, limit: number): Promise<ModelVersion[]> {
    return (await this.steps.find<VersionDoc>(stalePendingQuery(createdBefore, limit))).map(docToVersion);
  }

  async latestVersion(modelName: string, status: VersionStatus | null): Promise<ModelVersion | null> {
    const [doc] = await this.steps.find<VersionDoc>(latestVersionQuery(modelName, status));
    return doc ? docToVersion(doc) : null;
  }

  async latestVersions(modelNames: readonly string[]): Promise<ModelVersion[]> {
    if (modelNames.length === 0) return [];
    const groups = await this.steps.aggregate<{ _id: string; doc: VersionDoc }>(latestVersionsQuery(modelNames));
    return groups.map((g) => docToVersion(g.doc));
  }

  async rankVersions(q: Parameters<RegistryStore['rankVersions']>[0]): Promise<ModelVersion[]> {
    if (q.versionIds !== null) {
      const docs = await this.steps.find<VersionDoc>(byIdsQuery(COLLECTIONS.versions, q.versionIds));
      const after = q.after ? ranksAfter(q.metric, q.direction, q.after) : () => true;
      return docs
        .filter((d) => d.modelName === q.modelName && q.statuses.includes(d.status))
        .map(docToVersion)
        .filter(after)
        .sort(compareByMetric(q.metric, q.direction))
        .slice(0, q.limit);
    }
    // The ranking index only knows verified/unverified, so it serves exactly the verified statuses.
    const onlyVerified = q.statuses.length === VERIFIED_STATUSES.length && VERIFIED_STATUSES.every((s) => q.statuses.includes(s));
    if (!onlyVerified) throw new Error('rankVersions ranks READY and ARCHIVED versions only');
    if (q.limit <= 0) return [];
    // The `verified` flags must reflect every committed status change of this model.
    await this.steps.settle(COLLECTIONS.versions, { modelName: q.modelName });
    // A position lacking the metric is past every version having it.
    const pastLacking = q.after?.value === null;
    const ranked = pastLacking ? [] : await this.steps.find<MetricDoc>(rankQuery({ ...q, after: q.after ? { value: q.after.value!, number: q.after.number } : null }));
    const byId = new Map((await this.getVersions(ranked.map((m) => m.versionId))).map((v) => [v.id, v]));
    const top = ranked.map((m) => byId.get(m.versionId)).filter((v): v is ModelVersion => v !== undefined);
    if (ranked.length >= q.limit) return top;
    const lacking = await this.steps.find<VersionDoc>(unrankedQuery({ ...q, limit: q.limit - ranked.length, beforeNumber: pastLacking ? q.after!.number : null }));
    return [...top, ...lacking.map(docToVersion)];
  }

  // ---- deployment pointers and deployments (writes: mongo-deployment-writes.ts) ----

  async getPointer(modelName: string, environment: string): Promise<DeploymentPointer | null> {
    return (await this.getPointers([{ modelName, environment }]))[0] ?? null;
  }

  async getPointers(keys: readonly { modelName: string; environment: string }[]): Promise<DeploymentPointer[]> {
    if (keys.length === 0) return [];
    const ids = keys.map((k) => pointerKey(k.modelName, k.environment));
    return this.deploymentWrites.readPointers(byIdsQuery(COLLECTIONS.pointers, ids));
  }

  async pointersForVersions(versionIds: readonly string[]): Promise<DeploymentPointer[]> {
    if (versionIds.length === 0) return [];
    return this.deploymentWrites.readPointers(pointersForVersionsQuery(versionIds));
  }

  /** Settled pointers only: a committed move met on the way is finished (whatever its age), so every pointer names its event. */
  async *allPointers(): AsyncIterable<DeploymentPointer> {
    for await (const doc of allPointerDocs(this.steps)) {
      const settled = await this.steps.settled(COLLECTIONS.pointers, doc, undefined, 'all');
      const pointer = settled && docToPointer(settled);
      if (pointer) yield pointer;
    }
  }

  moveDeploymentPointer(deployment: Deployment, expectedRevision: number | null, audit: AuditDraft, idempotency?: IdempotencyClaim | null): Promise<MoveResult> {
    return this.deploymentWrites.moveDeploymentPointer(deployment, expectedRevision, audit, idempotency ?? null);
  }

  recordRefusedDeployment(deployment: Deployment, audit: AuditDraft, idempotency?: IdempotencyClaim | null): Promise<Deployment> {
    return this.deploymentWrites.recordRefusedDeployment(deployment, audit, idempotency ?? null);
  }

  // ---- idempotency keys (mongo-idempotency.ts) ----

  async claimIdempotencyKey(claim: IdempotencyClaim): Promise<void> {
    await this.keys.claim(claim, { resultKind: 'deployment', pointerId: null }, false);
  }

  getIdempotencyRecord(modelName: string, key: string, now: Date): Promise<IdempotencyRecord | null> {
    return this.keys.get(modelName, key, now);
  }

  async getDeployments(ids: readonly string[]): Promise<Deployment[]> {
    if (ids.length === 0) return [];
    let docs = await this.steps.find<DeploymentDoc>(byIdsQuery(COLLECTIONS.deployments, ids));
    if (docs.length < new Set(ids).size) {
      // A committed move may not have stored its deployment yet: finish pending moves, look again.
      await this.steps.settle(COLLECTIONS.pointers, {}, undefined, 'wait');
      docs = await this.steps.find<DeploymentDoc>(byIdsQuery(COLLECTIONS.deployments, ids));
    }
    return docs.map(docToDeployment);
  }

  async listDeployments(
    filter: { modelName: string; environment: string | null; versionId: string | null; status: 'SUCCEEDED' | 'FAILED' | null },
    page: PageRequest,
  ): Promise<Page<Deployment>> {
    const after = decodeCursor(page.after, ['number'] as const);
    await this.steps.settle(COLLECTIONS.pointers, { modelName: filter.modelName }, undefined, 'wait');
    const q = listDeploymentsQuery(filter, after?.[0] ?? null, page.first);
    const [rows, total] = await Promise.all([this.steps.find<DeploymentDoc>(q.page), this.deploymentTotal(q.count)]);
    const seqOf = new Map(rows.map((r) => [r._id, r.seq]));
    return toPage(rows.map(docToDeployment), page.first, total, (d) => [seqOf.get(d.id)!]);
  }

  async listVersionDeployments(versions: readonly VersionKey[], first: number): Promise<Map<string, Page<Deployment>>> {
    if (versions.length === 0) return new Map();
    // As listDeployments: committed moves of these models are finished (or waited for) first.
    const models = [...new Set(versions.map((v) => v.modelName))];
    await this.steps.settle(COLLECTIONS.pointers, models.length === 1 ? { modelName: models[0]! } : {}, undefined, 'wait');
    const groups = await this.steps.aggregate<{ _id: string; total: number; docs: DeploymentDoc[] }>(versionDeploymentsQuery(versions, first));
    // The version id names its model: deployments of a version asked under another model's name are not its own.
    const modelOf = new Map(versions.map((v) => [v.versionId, v.modelName]));
    const mine = groups.filter((g) => g.docs[0]?.modelName === modelOf.get(g._id));
    const rows = mine.flatMap((g) => g.docs.map((d) => ({ deployment: docToDeployment(d), seq: d.seq })));
    return versionPages(versions, first, rows, new Map(mine.map((g) => [g._id, g.total])));
  }

  private async deploymentTotal(count: DeploymentCount): Promise<number> {
    if (!('revisions' in count)) return this.steps.count(count);
    const [pointers, failed] = await Promise.all([
      count.revisions ? this.steps.find<{ revision: number }>(count.revisions) : [],
      count.failed ? this.steps.count(count.failed) : 0,
    ]);
    return pointers.reduce((n, p) => n + p.revision, 0) + failed;
  }

  // ---- audit (mongo-audit-log.ts) ----

  /** Idempotent for the same draft; a different event under an existing id is a conflict. */
  appendAudit(draft: AuditDraft): Promise<AuditEvent> {
    return this.auditLog.appendAudit(draft);
  }

  listAuditEvents(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEvent>> {
    return this.auditLog.listAuditEvents(filter, page);
  }

  lastTokenChange(tokenId: string): Promise<AuditEvent | null> {
    return this.auditLog.lastTokenChange(tokenId);
  }

  auditEventsAfter(afterSequence: number, limit: number): Promise<AuditEvent[]> {
    return this.auditLog.auditEventsAfter(afterSequence, limit);
  }

  auditEventsAscending(): AsyncIterable<AuditEvent> {
    return this.auditLog.auditEventsAscending();
  }

  // ---- api tokens (mongo-tokens.ts) ----

  createApiToken(token: NewApiToken, audit: AuditDraft): Promise<ApiToken> {
    return this.tokens.createApiToken(token, audit);
  }

  findApiTokenByHash(secretHash: string): Promise<ApiToken | null> {
    return this.tokens.findApiTokenByHash(secretHash);
  }

  listApiTokens(): Promise<ApiToken[]> {
    return this.tokens.listApiTokens();
  }

  revokeApiToken(id: string, revokedAt: Date, audit: AuditDraft): Promise<ApiToken | null> {
    return this.tokens.revokeApiToken(id, revokedAt, audit);
  }

  touchApiToken(id: string, lastUsedAt: Date): Promise<void> {
    return this.tokens.touchApiToken(id, lastUsedAt);
  }

  // ---- leases (mongo-leases.ts) ----

  acquireLease(name: string, holder: string, ttlMs: number, details?: JsonObject | null): Promise<boolean> {
    return acquireMongoLease(this.steps, name, holder, ttlMs, details);
  }

  getLease(name: string): Promise<Lease | null> {
    return getMongoLease(this.steps, name);
  }

  releaseLease(name: string, holder: string): Promise<void> {
    return releaseMongoLease(this.steps, name, holder);
  }

  // ---- operations ----

  // ---- governance (mongo-governance.ts) ----
  deploymentLiveAt(m: string, env: string, at: Date): Promise<Deployment | null> { return this.governance.deploymentLiveAt(m, env, at); }
  recordObservation(o: DeploymentObservation, audit: (p: DeploymentObservation | null) => AuditDraft | null): Promise<boolean> { return this.governance.recordObservation(o, audit); }
  listObservations(id: string, limit: number): Promise<DeploymentObservation[]> { return this.governance.listObservations(id, limit); }
  countObservations(id: string, state: ObservedState): Promise<number> { return this.governance.countObservations(id, state); }
  setEnvironmentPolicy(p: EnvironmentPolicy, audit: AuditDraft): Promise<EnvironmentPolicy> { return this.governance.setEnvironmentPolicy(p, audit); }
  getEnvironmentPolicy(m: string, env: string): Promise<EnvironmentPolicy | null> { return this.governance.getEnvironmentPolicy(m, env); }
  createPromotionRequest(r: PromotionRequest, audit: AuditDraft): Promise<PromotionRequest> { return this.governance.createPromotionRequest(r, audit); }
  getPromotionRequest(id: string): Promise<PromotionRequest | null> { return this.governance.getPromotionRequest(id); }
  updatePromotionRequest(r: PromotionRequest, rev: number, audit: AuditDraft): Promise<PromotionRequest | null> { return this.governance.updatePromotionRequest(r, rev, audit); }
  listPromotionRequests(f: { modelName: string; status: PromotionStatus | null; now: Date }, page: PageRequest): Promise<Page<PromotionRequest>> {
    return this.governance.listPromotionRequests(f, page);
  }

  // ---- webhooks (mongo-webhooks.ts) ----
  createWebhook(w: Webhook, audit: AuditDraft): Promise<Webhook> { return this.webhooks.createWebhook(w, audit); }
  updateWebhook(id: string, patch: WebhookPatch, at: Date, audit: AuditDraft): Promise<Webhook | null> { return this.webhooks.updateWebhook(id, patch, at, audit); }
  deleteWebhook(id: string, at: Date, audit: AuditDraft): Promise<Webhook | null> { return this.webhooks.deleteWebhook(id, at, audit); }
  getWebhook(id: string): Promise<Webhook | null> { return this.webhooks.getWebhook(id); }
  listWebhooks(): Promise<Webhook[]> { return this.webhooks.listWebhooks(); }
  advanceWebhookCursor(id: string, expected: number, next: number): Promise<boolean> { return this.webhooks.advanceWebhookCursor(id, expected, next); }
  recordWebhookDelivery(d: NewWebhookDelivery): Promise<WebhookDelivery> { return this.webhooks.recordWebhookDelivery(d); }
  settleWebhookDelivery(d: NewWebhookDelivery, expected: number): Promise<boolean> { return this.webhooks.settleWebhookDelivery(d, expected); }
  listWebhookDeliveries(id: string, page: PageRequest): Promise<Page<WebhookDelivery>> { return this.webhooks.listWebhookDeliveries(id, page); }
  lastWebhookDelivery(id: string, seq: number): Promise<WebhookDelivery | null> { return this.webhooks.lastWebhookDelivery(id, seq); }
  requestWebhookRedelivery(id: string, seq: number, at: Date): Promise<void> { return this.webhooks.requestWebhookRedelivery(id, seq, at); }
  webhookRedeliveries(id: string, limit: number): Promise<number[]> { return this.webhooks.webhookRedeliveries(id, limit); }
  clearWebhookRedelivery(id: string, seq: number): Promise<void> { return this.webhooks.clearWebhookRedelivery(id, seq); }

  async stats(): Promise<StoreStats> {
    const counts = await Promise.all(
      (['ARCHIVED', 'FAILED', 'PENDING_UPLOAD', 'READY'] as const).map(async (status) => ({ status, count: await this.steps.count(statusCountQuery(status)) })),
    );
    const [head] = await this.steps.find<AuditDoc>(auditHeadQuery());
    const [models, versions, deployments] = await Promise.all(
      [COLLECTIONS.models, COLLECTIONS.versions, COLLECTIONS.deployments].map((c) => this.steps.count({ collection: c, filter: {}, index: '_id_' })),
    );
    return {
      models: models!, versions: versions!, deployments: deployments!,
      versionsByStatus: counts.filter((c) => c.count > 0),
      auditEvents: head?.sequence ?? 0,
      unfinishedWrites: await this.unfinishedWrites(),
    };
  }

  /** Markers older than the grace period, over the (normally empty) partial pending indexes. */
  async unfinishedWrites(): Promise<number> {
    const cutoff = new Date(Date.now() - this.steps.settleGraceMs);
    const counts = await Promise.all([...PENDING_COLLECTIONS.map((c) => this.steps.count(unfinishedCountQuery(c, cutoff))), this.keys.unfinished(cutoff)]);
    return counts.reduce((a, b) => a + b, 0);
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.onClose();
  }
}
