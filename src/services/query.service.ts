import type { PresignedRequest } from '../artifacts/artifact.store.js';
import type { ChainVerification } from '../audit/hash-chain.js';
import { verifyRegistryAudit } from './audit-verification.js';
import { type CompareArgs, type VersionComparison, rankPage } from './comparison/ranking.js';
export type { VersionComparison } from './comparison/ranking.js';
import { TOKEN_ACTION_PREFIX } from '../domain/audit-actions.js';
import { ArtifactsPurgedError, NotFoundError } from '../domain/errors.js';
import { DEFAULT_ENVIRONMENT } from '../domain/limits.js';
import type { Artifact, AuditEvent, Deployment, DeploymentPointer, Model, ModelVersion, Page, VersionStatus } from '../domain/model.js';
import { VERIFIED_STATUSES } from '../domain/model.js';
import {
  checkEnvironment, checkModelName, checkPageSize, checkText, checkUrlTtl, checkVersionIdFormat,
} from '../domain/validation.js';
import { parseVersionRef } from '../domain/version-ref.js';
import type { AuditFilter, StoreStats } from '../stores/registry.store.js';
import type { Principal } from '../domain/token.js';
import type { AccessService } from './access.service.js';
import type { ServiceDeps } from './service-deps.js';
import { artifactTarget } from './version.service.js';
import { type Deployed, DeployedCache } from './hot-path/deployed-cache.js';

export interface PageArgs {
  first: number;
  after?: string | null;
}

/** Verified versions kept for the download route (each holds at most 100 artifacts). */
const DOWNLOADABLE_CACHE_SIZE = 1000;
/** How long a cached version is trusted: a purge in another process is seen by this process within this time. */
const DOWNLOADABLE_CACHE_MS = 60_000;

/** Read use cases, including the batch reads behind the per-request DataLoaders. */
export class QueryService {
  private readonly downloadable = new Map<string, { version: ModelVersion; at: number }>();
  /** (model, environment) → deployed version, checked against the store's change stamp on every read. */
  private readonly deployed: DeployedCache;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
  ) {
    this.deployed = new DeployedCache(() => deps.store.changeStamp());
  }

  /** The pointer of (model, environment) and its version, through the per-process cache; null without a pointer. */
  private deployment(modelName: string, environment: string): Promise<Deployed | null> {
    return this.deployed.get(modelName, environment, async () => {
      const pointer = await this.store.getPointer(modelName, environment);
      const version = pointer?.versionId ? await this.store.getVersion(pointer.versionId) : null; // null: undeployed
      return pointer && version ? { pointer, version } : null;
    });
  }

  private get store() {
    return this.deps.store;
  }

  async model(principal: Principal, name: string): Promise<Model | null> {
    checkModelName('name', name);
    return this.access.canSee(principal, name) ? this.store.getModel(name) : null;
  }

  async models(principal: Principal, search: string | null | undefined, page: PageArgs): Promise<Page<Model>> {
    // Model names are lowercase: so is the search, the same on every store.
    const s = search ? checkText('search', search, 100).toLowerCase() : null;
    return this.store.listModels({ search: s, scope: principal.modelScope }, pageRequest(page));
  }

  async version(principal: Principal, id: string): Promise<ModelVersion | null> {
    checkVersionIdFormat('id', id);
    const v = await this.store.getVersion(id);
    return v && this.access.canSee(principal, v.modelName) ? v : null;
  }

  async versions(principal: Principal, modelName: string, status: VersionStatus | null | undefined, page: PageArgs): Promise<Page<ModelVersion>> {
    await this.requireModel(principal, 'modelName', modelName);
    return this.store.listVersions({ modelName, status: status ?? null }, pageRequest(page));
  }

  /** The version deployed in the environment now, or null. NOT_FOUND for an unknown model. */
  async deployedVersion(principal: Principal, modelName: string, environment: string | null | undefined): Promise<ModelVersion | null> {
    const env = checkEnvironment('environment', environment ?? DEFAULT_ENVIRONMENT);
    checkModelName('modelName', modelName);
    this.access.requireVisible(principal, modelName);
    // The hot path of inference workers: a pointer proves the model exists, so look it up first.
    const deployed = await this.deployment(modelName, env);
    if (deployed) return deployed.version;
    await this.requireModel(principal, 'modelName', modelName);
    return null;
  }

  /** compareVersions (see comparison/ranking.ts): a page of the ranking; NOT_FOUND for an unknown model. */
  async compare(principal: Principal, args: CompareArgs & { modelName: string }): Promise<Page<VersionComparison>> {
    const model = await this.requireModel(principal, 'modelName', args.modelName);
    return rankPage(this.store, model, args);
  }

  async deploymentHistory(principal: Principal, modelName: string, environment: string | null | undefined, page: PageArgs): Promise<Page<Deployment>> {
    await this.requireModel(principal, 'modelName', modelName);
    const env = environment ? checkEnvironment('environment', environment) : null;
    return this.store.listDeployments({ modelName, environment: env, versionId: null, status: null }, pageRequest(page));
  }

  async versionDeployments(version: ModelVersion, page: PageArgs): Promise<Page<Deployment>> {
    return this.store.listDeployments({ modelName: version.modelName, environment: null, versionId: version.id, status: null }, pageRequest(page));
  }

  /** ModelVersion.deployments without `after`, for many versions in one store call (the per-request loader's batch). */
  async versionDeploymentPages(versions: readonly ModelVersion[], first: number): Promise<Map<string, Page<Deployment>>> {
    const n = checkPageSize('first', first);
    return this.store.listVersionDeployments(versions.map((v) => ({ modelName: v.modelName, versionId: v.id })), n);
  }

  /** A scoped token sees only the events of models in its scope; token events (ids, names, roles, scopes) are for admins only. */
  async auditEvents(principal: Principal, filter: Omit<AuditFilter, 'modelScope' | 'hiddenActionPrefix'>, page: PageArgs): Promise<Page<AuditEvent>> {
    if (filter.modelName !== null) checkModelName('modelName', filter.modelName);
    if (filter.actor !== null) checkText('actor', filter.actor, 200);
    if (filter.action !== null) checkText('action', filter.action, 100);
    const hiddenActionPrefix = principal.role === 'admin' ? null : TOKEN_ACTION_PREFIX;
    return this.store.listAuditEvents({ ...filter, modelScope: principal.modelScope, hiddenActionPrefix }, pageRequest(page));
  }

  async verifyAuditLog(principal: Principal): Promise<ChainVerification> {
    this.access.requireUnscoped(principal, 'the whole audit log');
    return verifyRegistryAudit(this.store);
  }

  async stats(principal: Principal): Promise<StoreStats> {
    this.access.requireUnscoped(principal, 'registry statistics');
    return this.store.stats();
  }

  /** A presigned GET for a verified version's artifact; null for versions not READY or ARCHIVED. */
  async downloadUrl(version: ModelVersion, artifact: Artifact, ttlSeconds: number, method: 'GET' | 'HEAD' = 'GET'): Promise<PresignedRequest | null> {
    const ttl = checkUrlTtl('expiresInSeconds', ttlSeconds);
    if (!VERIFIED_STATUSES.includes(version.status) || version.purgedAt !== null) return null;
    return this.deps.artifacts.presignDownload(artifactTarget(version, artifact), ttl, method);
  }

  /**
   * The inference download: `ref` as for resolveRef. NOT_FOUND when the model, version, deployment
   * or file does not exist or is not downloadable. `method`: the URL is signed for the request's
   * own method (storage refuses HEAD on a GET URL).
   */
  async resolveDownload(
    principal: Principal, modelName: string, ref: string, path: string, method: 'GET' | 'HEAD' = 'GET',
  ): Promise<{ request: PresignedRequest; version: ModelVersion; artifact: Artifact }> {
    const { version } = await this.resolveRef(principal, modelName, ref);
    const artifact = version.artifacts.find((a) => a.path === path);
    if (!artifact) throw new NotFoundError(`Version ${version.id} has no artifact "${path}"`);
    const request = await this.downloadUrl(version, artifact, this.deps.settings.downloadUrlTtlSeconds, method);
    if (!request) throw new NotFoundError(`Version ${version.id} is ${version.status}; only verified versions can be downloaded`);
    return { request, version, artifact };
  }

  /**
   * The verified (READY or ARCHIVED) version a download or manifest `ref` names: a version id, a
   * version number of the model (`3`), `latest` (the newest READY) or an environment name (its
   * deployed version; `environment` is then that name). NOT_FOUND alike for a missing model, one
   * outside the caller's scope, a missing version and one not verified; BAD_USER_INPUT (with the
   * rule) for a malformed model name or ref.
   */
  async resolveRef(principal: Principal, modelName: string, ref: string): Promise<{ version: ModelVersion; environment: string | null }> {
    checkModelName('model', modelName);
    // A malformed ref is refused with its rule before anything is looked up.
    const parsed = parseVersionRef('ref', ref);
    this.access.requireVisible(principal, modelName);
    let version: ModelVersion | null;
    let environment: string | null = null;
    if (parsed.kind === 'id') {
      version = await this.verifiedVersion(parsed.id);
      if (version && version.modelName !== modelName) version = null;
      // Without the version, say whether the model itself exists.
      if (!version) await this.requireModel(principal, 'model', modelName);
    } else if (parsed.kind === 'number') {
      version = await this.store.getVersionByNumber(modelName, parsed.number);
      if (!version) await this.requireModel(principal, 'model', modelName);
    } else if (parsed.kind === 'latest') {
      await this.requireModel(principal, 'model', modelName);
      version = await this.store.latestVersion(modelName, 'READY');
    } else {
      environment = parsed.environment;
      // A pointer proves the model exists; only without one is the model looked up (for the message).
      const deployed = await this.deployment(modelName, environment);
      if (!deployed) {
        await this.requireModel(principal, 'model', modelName);
        throw new NotFoundError(`Model "${modelName}" has no deployment in ${environment}`);
      }
      version = deployed.version;
    }
    if (!version) throw new NotFoundError(`Model "${modelName}" has no version ${ref}`);
    if (!VERIFIED_STATUSES.includes(version.status)) {
      throw new NotFoundError(`Version ${version.id} is ${version.status}; only verified versions can be downloaded`);
    }
    if (version.purgedAt !== null) throw new ArtifactsPurgedError(version.id, version.purgedAt);
    return { version, environment };
  }

  /**
   * A version for downloading, with verified (READY or ARCHIVED) versions kept in a small
   * per-process cache. Safe across processes: a verified version's artifacts never change and it
   * stays downloadable (READY → ARCHIVED only) until a purge, which may come after retention:
   * entries are trusted for DOWNLOADABLE_CACHE_MS, and the purging process drops its own at once.
   */
  private async verifiedVersion(id: string): Promise<ModelVersion | null> {
    const cached = this.downloadable.get(id);
    if (cached && this.deps.now().getTime() - cached.at < DOWNLOADABLE_CACHE_MS) return cached.version;
    const v = await this.store.getVersion(id);
    if (v && VERIFIED_STATUSES.includes(v.status) && v.purgedAt === null) {
      if (this.downloadable.size >= DOWNLOADABLE_CACHE_SIZE) this.downloadable.clear();
      this.downloadable.set(id, { version: v, at: this.deps.now().getTime() });
    } else {
      this.downloadable.delete(id);
    }
    return v;
  }

  /** Drops a version from the download cache (this process purged it). */
  forgetDownloadable(id: string): void {
    this.downloadable.delete(id);
  }

  // Batch reads for DataLoaders: one store call per batch.
  versionsById(ids: readonly string[]): Promise<ModelVersion[]> {
    return this.store.getVersions(ids);
  }
  pointersForVersions(ids: readonly string[]): Promise<DeploymentPointer[]> {
    return this.store.pointersForVersions(ids);
  }
  pointers(keys: readonly { modelName: string; environment: string }[]): Promise<DeploymentPointer[]> {
    return this.store.getPointers(keys);
  }
  latestVersions(modelNames: readonly string[]): Promise<ModelVersion[]> {
    return this.store.latestVersions(modelNames);
  }

  /** NOT_FOUND for a missing model and, alike, for one outside the caller's scope. */
  private async requireModel(principal: Principal, field: string, name: string): Promise<Model> {
    checkModelName(field, name);
    this.access.requireVisible(principal, name);
    const model = await this.store.getModel(name);
    if (!model) throw new NotFoundError(`Model "${name}" does not exist`);
    return model;
  }
}

function pageRequest(page: PageArgs): { first: number; after: string | null } {
  return { first: checkPageSize('first', page.first), after: page.after ?? null };
}
