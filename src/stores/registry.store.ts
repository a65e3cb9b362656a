import type {
  AuditDraft,
  AuditEvent,
  Deployment,
  DeploymentPointer,
  JsonObject,
  LegalHold,
  Model,
  ModelVersion,
  NewModelVersion,
  Page,
  PageRequest,
  SortDirection,
  VersionStatus,
} from '../domain/model.js';
import type { IdempotencyClaim, IdempotencyRecord } from '../domain/idempotency.js';
import type { RankPosition } from '../domain/ranking.js';
import type { ApiToken, NewApiToken } from '../domain/token.js';
import type { GovernanceStore } from './governance.store.js';
import type { VersionSearchStore } from './version-search.store.js';
import type { WebhookStore } from './webhook.store.js';

/** One parent of a batched per-parent page: a version, with its model. */
export interface VersionKey {
  modelName: string;
  versionId: string;
}

/**
 * The metadata port. Every guarantee of the registry (gap-free version numbers, one live version
 * per environment, a gap-free audit chain, pointer + deployment + audit written together) comes
 * from an implementation of this interface, never from memory in one process.
 *
 * Conventions for every implementation:
 * - a miss returns null (or an empty list); driver errors are translated at the edge
 *   (unique violations → ConflictError);
 * - every write that takes an AuditDraft appends that event to the chain in the same unit of work:
 *   both are visible or neither is (after recovery, for stores without multi-document transactions);
 * - pages are newest first unless said otherwise; cursors are opaque strings owned by the store, and
 *   a cursor the store did not make is refused with InvalidArgumentError('after', …).
 */
export interface RegistryStore extends WebhookStore, GovernanceStore, VersionSearchStore {
  /** Human-readable engine name, for logs and /readyz. */
  readonly engine: string;

  /**
   * A value that differs from the last one read whenever a write committed since, by this process
   * or any other; null when the store has no check much cheaper than the reads it would save
   * (callers then read every time). Synchronous: it gates the inference hot path's cache.
   */
  changeStamp(): string | null;

  /**
   * Creates the model on its first version, gives the version the model's next number
   * (1..n without gaps, also across processes), stores it and appends `audit(version)`.
   * Throws ConflictError if `version.id` is taken.
   * With `idempotency` (its resultId = version.id), the key is claimed in the same write: the
   * version and its key are stored together or neither is; IdempotencyKeyTakenError (nothing
   * written) if the key is held by an unexpired record.
   */
  registerVersion(
    version: NewModelVersion, audit: (stored: ModelVersion) => AuditDraft, idempotency?: IdempotencyClaim | null,
  ): Promise<ModelVersion>;

  getModel(name: string): Promise<Model | null>;
  getModels(names: readonly string[]): Promise<Model[]>;
  /**
   * Ordered by name. `search` matches a substring of the name; `scope` (a token's model scope:
   * `name` exactly, or `prefix*`) limits the list to the models it allows.
   */
  listModels(filter: { search: string | null; scope?: string | null }, page: PageRequest): Promise<Page<Model>>;
  /** Null if the model does not exist. Fields left undefined are unchanged. */
  updateModel(name: string, patch: ModelPatch, audit: AuditDraft): Promise<Model | null>;

  getVersion(id: string): Promise<ModelVersion | null>;
  getVersions(ids: readonly string[]): Promise<ModelVersion[]>;
  /** Newest (highest number) first. */
  listVersions(filter: { modelName: string; status: VersionStatus | null }, page: PageRequest): Promise<Page<ModelVersion>>;
  /** The model's version with this number (1..n), or null. */
  getVersionByNumber(modelName: string, number: number): Promise<ModelVersion | null>;
  /**
   * Versions still PENDING_UPLOAD that were registered before `createdBefore`, oldest first, at
   * most `limit`, across all models (the cleanup of abandoned uploads). Served from an index.
   */
  stalePendingVersions(createdBefore: Date, limit: number): Promise<ModelVersion[]>;
  /** The highest-numbered version of the model, optionally only among those in `status`. */
  latestVersion(modelName: string, status: VersionStatus | null): Promise<ModelVersion | null>;
  /**
   * latestVersion(name, null) of each of these models in one read (the DataLoader behind
   * Model.latestVersion), in no particular order; a model without versions has none in the answer.
   */
  latestVersions(modelNames: readonly string[]): Promise<ModelVersion[]>;
  /**
   * The model's versions in `statuses` (optionally only `versionIds`), best first by `metric` in
   * `direction` (ties: higher number first), then those lacking the metric, higher number first.
   * At most `limit`, starting after `after` (the position of a previous page's last version) when
   * given. Served from an index: O(limit), not O(versions).
   */
  rankVersions(query: {
    modelName: string;
    metric: string;
    direction: SortDirection;
    statuses: readonly VersionStatus[];
    versionIds: readonly string[] | null;
    limit: number;
    after?: RankPosition | null;
  }): Promise<ModelVersion[]>;

  /**
   * Moves a version from one of `from` to `to` and appends the audit event, atomically.
   * With `requireUndeployed`, refuses while any deployment pointer names the version.
   * With `requireNoHold`, refuses ('on-hold') while the version is under legal hold; a hold set
   * concurrently either lands before (the move is refused) or after the move, never in between.
   */
  transitionVersion(
    id: string,
    change: { from: readonly VersionStatus[]; to: VersionStatus; failureReason: string | null; requireUndeployed: boolean; requireNoHold?: boolean },
    audit: AuditDraft,
  ): Promise<TransitionResult>;
  /**
   * Sets (`hold` given) or releases (null) the version's legal hold with its audit event, in one
   * write. Null if the version does not exist.
   */
  setLegalHold(id: string, hold: LegalHold | null, audit: AuditDraft): Promise<ModelVersion | null>;
  /**
   * Records the purge of an ARCHIVED version that is not on hold: sets `purgedAt` and appends the
   * audit event in one write, BEFORE any byte is deleted. A version already purged is returned as
   * it is ('already-purged', nothing written) so the caller can finish deleting its bytes.
   */
  markVersionPurged(id: string, purgedAt: Date, audit: AuditDraft): Promise<PurgeMarkResult>;
  /** Null if the version does not exist. Fields left undefined are unchanged. */
  updateVersionMetadata(id: string, patch: { description?: string | null; tags?: string[] }, audit: AuditDraft): Promise<ModelVersion | null>;

  getPointer(modelName: string, environment: string): Promise<DeploymentPointer | null>;
  getPointers(keys: readonly { modelName: string; environment: string }[]): Promise<DeploymentPointer[]>;
  /** Every pointer that names one of these versions. */
  pointersForVersions(versionIds: readonly string[]): Promise<DeploymentPointer[]>;
  /** Every pointer of the registry, in (model, environment) order, for checking them against the chain. */
  allPointers(): AsyncIterable<DeploymentPointer>;

  /**
   * Compare-and-set of the (model, environment) pointer: applies only if the pointer's revision is
   * `expectedRevision` (null: no pointer exists yet) and the deployment's version is READY. Writes
   * the pointer (revision `deployment.revision` = expectedRevision + 1, or 1), the SUCCEEDED
   * deployment and the audit event together; the pointer's `audit` names that event.
   * With `idempotency` (resultId = deployment.id), the key is claimed with the move, only if it
   * moves; IdempotencyKeyTakenError (nothing written) if the key is held by an unexpired record.
   */
  moveDeploymentPointer(deployment: Deployment, expectedRevision: number | null, audit: AuditDraft, idempotency?: IdempotencyClaim | null): Promise<MoveResult>;
  /** Stores a FAILED deployment (a refused promotion or rollback) with its audit event (and the key, as for moves). */
  recordRefusedDeployment(deployment: Deployment, audit: AuditDraft, idempotency?: IdempotencyClaim | null): Promise<Deployment>;
  getDeployments(ids: readonly string[]): Promise<Deployment[]>;
  /** Newest first: for one (model, environment), SUCCEEDED deployments come in pointer-revision order. */
  listDeployments(
    filter: { modelName: string; environment: string | null; versionId: string | null; status: 'SUCCEEDED' | 'FAILED' | null },
    page: PageRequest,
  ): Promise<Page<Deployment>>;
  /**
   * Per-parent pages in one read (the DataLoader behind ModelVersion.deployments): for each
   * version, the page listDeployments({ modelName, versionId }, { first, after: null }) gives,
   * keyed by version id; every version asked gets a page (empty when it has no deployment).
   */
  listVersionDeployments(versions: readonly VersionKey[], first: number): Promise<Map<string, Page<Deployment>>>;

  /**
   * Claims a key for an answer that writes nothing else (a promotion of the version already
   * deployed answers with the existing deployment). IdempotencyKeyTakenError if held.
   */
  claimIdempotencyKey(claim: IdempotencyClaim): Promise<void>;
  /**
   * The record of (model, key), unless there is none or it expired by `now`. A record whose
   * operation is still running elsewhere comes back with `settled: false` (MongoDB; SQLite
   * records are always settled).
   */
  getIdempotencyRecord(modelName: string, key: string, now: Date): Promise<IdempotencyRecord | null>;

  /** Appends one event at the head of the chain (sequence head+1, previousHash head.hash). */
  appendAudit(draft: AuditDraft): Promise<AuditEvent>;
  /** Newest (highest sequence) first. `since` inclusive, `until` exclusive. */
  listAuditEvents(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEvent>>;
  /** The whole chain in ascending sequence, streamed in batches. */
  auditEventsAscending(): AsyncIterable<AuditEvent>;
  /**
   * Reading the log forward (subscriptions): the events after `afterSequence`, ascending, at most
   * `limit`, from the sequence index. Only a contiguous run: it starts at afterSequence + 1 and
   * stops before the first sequence not visible yet (a concurrent appender's earlier event may
   * become visible after a later one), so a reader that resumes from the last event it got
   * never skips one.
   */
  auditEventsAfter(afterSequence: number, limit: number): Promise<AuditEvent[]>;
  /** The newest event that created or changed the API token `tokenId` (TOKEN_CHANGE_ACTIONS), from an index; null if none. */
  lastTokenChange(tokenId: string): Promise<AuditEvent | null>;

  /**
   * Stores a new token with its audit event; the stored token's `audit` names that event.
   * ConflictError if the id or hash exists.
   */
  createApiToken(token: NewApiToken, audit: AuditDraft): Promise<ApiToken>;
  findApiTokenByHash(secretHash: string): Promise<ApiToken | null>;
  /** Every token, newest first (a registry has few). */
  listApiTokens(): Promise<ApiToken[]>;
  /**
   * Sets revokedAt once (a second revoke keeps the first time) and appends the audit event; the
   * token's `audit` then names that event. Null if no such token.
   */
  revokeApiToken(id: string, revokedAt: Date, audit: AuditDraft): Promise<ApiToken | null>;
  /** Records use; callers throttle it. Never audited. */
  touchApiToken(id: string, lastUsedAt: Date): Promise<void>;

  /**
   * Takes or renews the lease `name` for `holder` until now + `ttlMs`: true if `holder` holds it
   * now (it was free, expired, or already its own). `details` (when given) are stored with it for
   * readers of getLease. The store's clock decides expiry, so every
   * process agrees. One holder at a time, also across processes.
   */
  acquireLease(name: string, holder: string, ttlMs: number, details?: JsonObject | null): Promise<boolean>;
  /** Gives the lease up if `holder` holds it; otherwise does nothing. */
  releaseLease(name: string, holder: string): Promise<void>;
  /** The lease as stored (with the `details` its holder last gave, e.g. progress); null if none or expired. */
  getLease(name: string): Promise<Lease | null>;

  stats(): Promise<StoreStats>;
  /**
   * Writes that committed but whose remaining steps are still not done after a grace period
   * (always 0 for a store with transactions). Recovery finishes them; a lasting count needs an
   * operator (the store logs why). Cheap: for /readyz.
   */
  unfinishedWrites(): Promise<number>;
  /** Throws if the store cannot serve requests (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface ModelPatch {
  description?: string | null;
  primaryMetric?: string;
}

export type TransitionResult =
  | { kind: 'ok'; version: ModelVersion }
  | { kind: 'not-found' }
  | { kind: 'wrong-status'; version: ModelVersion }
  | { kind: 'deployed'; version: ModelVersion; environments: string[] }
  | { kind: 'on-hold'; version: ModelVersion };

export type PurgeMarkResult =
  | { kind: 'marked'; version: ModelVersion }
  | { kind: 'already-purged'; version: ModelVersion }
  | { kind: 'not-found' }
  | { kind: 'wrong-status'; version: ModelVersion }
  | { kind: 'on-hold'; version: ModelVersion };

export type MoveResult =
  | { kind: 'moved'; deployment: Deployment; pointer: DeploymentPointer }
  /** The pointer is not at `expectedRevision` any more: `current` is what it is now. */
  | { kind: 'conflict'; current: DeploymentPointer | null }
  | { kind: 'version-not-ready'; status: VersionStatus | null };

export interface AuditFilter {
  modelName: string | null;
  /** A token's model scope (`name` or `prefix*`): only events of models it allows. */
  modelScope?: string | null;
  /** Leaves out events whose action starts with this prefix (token events, for callers who are not admins). */
  hiddenActionPrefix?: string | null;
  actor: string | null;
  action: string | null;
  since: Date | null;
  until: Date | null;
}

export interface Lease {
  name: string;
  holder: string;
  expiresAt: Date;
  details: JsonObject | null;
}

export interface StoreStats {
  models: number;
  versions: number;
  versionsByStatus: { status: VersionStatus; count: number }[];
  deployments: number;
  auditEvents: number;
  /** See RegistryStore.unfinishedWrites. */
  unfinishedWrites: number;
}
