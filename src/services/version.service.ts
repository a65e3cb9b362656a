import type { ArtifactTarget, PresignedRequest } from '../artifacts/artifact.store.js';
import { ConflictError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../domain/errors.js';
import { LIMITS } from '../domain/limits.js';
import type { Actor, Artifact, JsonObject, Metric, Model, ModelVersion, NewModelVersion, TrainingInfo } from '../domain/model.js';
import {
  checkArtifacts, checkHyperparameters, checkMetrics, checkModelName, checkOptionalText, checkStringList, checkTags,
  checkMetricName, checkText, checkTraining, checkVersionIdFormat,
} from '../domain/validation.js';
import { newVersionId } from '../domain/version-id.js';
import { type VersionSource, checkDataset, checkLabels, checkSource } from '../domain/lineage.js';
import { legalHoldRefusal } from '../domain/retention.js';
import { type IdempotencyRecord, checkIdempotencyKey, idempotencyFingerprint } from '../domain/idempotency.js';
import type { AccessService } from './access.service.js';
import { type ClaimFor, IdempotentRequests } from './idempotency/idempotent-requests.js';
import { type MultipartPlan, MultipartUploads, type UploadPlan } from './multipart/multipart-uploads.js';
import { AuditAction, type ServiceDeps, auditDraft } from './service-deps.js';

export interface RegisterVersionCommand {
  modelName: string;
  modelType: string;
  datasetVersion: string;
  metrics: Metric[];
  hyperparameters: unknown;
  featureNames: string[];
  training: Partial<TrainingInfo> | null;
  description: string | null;
  tags: string[];
  /** `partSha256`: the SHA-256 of each part (artifacts uploaded in parts only; see uploadPlan). */
  artifacts: (Artifact & { partSha256?: string[] | null })[];
  /** Same key and input within 24 h: the same version (fresh upload URLs while PENDING_UPLOAD). */
  idempotencyKey?: string | null;
  /** Lineage (domain/lineage.ts); absent: none. */
  source?: Partial<Record<keyof VersionSource, unknown>> | null;
  dataset?: { uri?: unknown; digest?: unknown } | null;
  labels?: unknown;
}

export interface RegisteredVersion {
  version: ModelVersion;
  /** Per artifact: one PUT, and for a large artifact also its multipart plan (issue 16). */
  uploads: { path: string; upload: PresignedRequest; parts: MultipartPlan | null }[];
}

/** Which URLs createUploadUrls issues: of these artifacts only (null: all), and of these parts only (null: all). */
export interface UploadUrlSelection {
  paths: string[] | null;
  partNumbers: number[] | null;
}

const ID_ATTEMPTS = 3;

export function artifactTarget(v: Pick<ModelVersion, 'modelName' | 'id'>, a: Artifact): ArtifactTarget {
  return { modelName: v.modelName, versionId: v.id, path: a.path, sizeBytes: a.sizeBytes, contentType: a.contentType, sha256: a.sha256 };
}

/** Use cases that create and change versions and models. */
export class VersionService {
  private readonly idempotent: IdempotentRequests;
  private readonly multipart: MultipartUploads;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
  ) {
    this.idempotent = new IdempotentRequests(deps);
    this.multipart = new MultipartUploads(deps);
  }

  async register(cmd: RegisterVersionCommand, actor: Actor): Promise<RegisteredVersion> {
    await this.access.require(actor, 'publish', cmd.modelName, 'register model versions');
    const f = 'input';
    const base = {
      modelName: checkModelName(`${f}.modelName`, cmd.modelName),
      modelType: checkText(`${f}.modelType`, cmd.modelType, LIMITS.modelTypeChars),
      datasetVersion: checkText(`${f}.datasetVersion`, cmd.datasetVersion, LIMITS.datasetVersionChars),
      metrics: checkMetrics(`${f}.metrics`, cmd.metrics),
      hyperparameters: checkHyperparameters(`${f}.hyperparameters`, cmd.hyperparameters),
      featureNames: checkStringList(`${f}.featureNames`, cmd.featureNames, LIMITS.featureNames, LIMITS.featureNameChars),
      training: checkTraining(`${f}.training`, cmd.training),
      description: checkOptionalText(`${f}.description`, cmd.description, LIMITS.descriptionChars),
      tags: checkTags(`${f}.tags`, cmd.tags),
      artifacts: checkArtifacts(`${f}.artifacts`, cmd.artifacts),
      // Lineage only when given: the idempotency fingerprint of a registration without it stays what it was.
      ...givenLineage(f, cmd),
    };
    const partHashes = this.multipart.checkPartHashes(`${f}.artifacts`, base.artifacts, cmd.artifacts.map((a) => a.partSha256));
    const key = checkIdempotencyKey(`${f}.idempotencyKey`, cmd.idempotencyKey);
    // Part hashes are not in the fingerprint: they follow from the bytes (size, sha256, part size), and a
    // registration retried with them, after one without (or the reverse), is the same registration.
    // A replay keeps the hashes its multipart upload began with.
    const request = key === null ? null : { modelName: base.modelName, key, operation: 'REGISTER' as const, fingerprint: idempotencyFingerprint('REGISTER', base) };
    return this.idempotent.run(
      request,
      (record) => this.replayRegistration(record, actor),
      (claim) => this.registerNew(base, claim, actor, partHashes),
    );
  }

  /** How a file of `sizeBytes` would be uploaded (in parts? of what size?), for any role that may register versions. */
  uploadPlan(sizeBytes: number, actor: Actor): UploadPlan {
    this.access.check(actor, 'publish', 'plan uploads');
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes > LIMITS.artifactMaxBytes) {
      throw new InvalidArgumentError('sizeBytes', `must be a positive integer of at most ${LIMITS.artifactMaxBytes}`);
    }
    return this.multipart.uploadPlan(sizeBytes);
  }

  private async registerNew(
    base: Omit<NewModelVersion, 'id' | 'status' | 'failureReason' | 'createdAt' | 'createdBy'>, claim: ClaimFor, actor: Actor,
    partHashes: ReadonlyMap<string, string[]>,
  ): Promise<RegisteredVersion> {
    for (let attempt = 1; ; attempt++) {
      const now = this.deps.now();
      const version: NewModelVersion = {
        ...base,
        id: newVersionId(now),
        status: 'PENDING_UPLOAD',
        failureReason: null,
        createdAt: now,
        createdBy: actor.name,
      };
      // URLs first: if storage cannot sign, nothing is written.
      const uploads = await this.presignUploads(version, undefined, partHashes);
      try {
        const stored = await this.deps.store.registerVersion(version, (v) =>
          auditDraft(this.deps, actor, AuditAction.versionRegistered, { modelName: v.modelName, versionId: v.id }, {
            number: v.number,
            modelType: v.modelType,
            datasetVersion: v.datasetVersion,
            metrics: Object.fromEntries(v.metrics.map((m) => [m.name, m.value])),
            artifacts: v.artifacts.map((a) => ({ path: a.path, sizeBytes: a.sizeBytes, sha256: a.sha256 })),
            ...lineageDetails(v),
            ...(claim.key !== null && { idempotencyKey: claim.key }),
          }),
          claim(version.id),
        );
        return { version: stored, uploads };
      } catch (err) {
        // A version id collision (same second, same 32 random bits) gets a new id.
        if (err instanceof ConflictError && attempt < ID_ATTEMPTS && (await this.deps.store.getVersion(version.id)) !== null) continue;
        throw err;
      }
    }
  }

  /** A retry of a keyed registration: the version it made, with fresh upload URLs while it waits for its files. */
  private async replayRegistration(record: IdempotencyRecord, actor: Actor): Promise<RegisteredVersion> {
    const version = await this.deps.store.getVersion(record.resultId);
    if (!version) throw new Error(`idempotency key "${record.key}" names missing version ${record.resultId}`);
    if (version.status !== 'PENDING_UPLOAD') return { version, uploads: [] };
    return { version, uploads: await this.issueUploadUrls(version, actor, { idempotencyKey: record.key }) };
  }

  /** Fresh upload URLs for a version still waiting for its files (the first ones expired). */
  async createUploadUrls(versionId: string, actor: Actor, only: UploadUrlSelection = { paths: null, partNumbers: null }): Promise<RegisteredVersion['uploads']> {
    const version = await this.requireVersion('versionId', versionId);
    await this.access.requireById(actor, 'publish', version.modelName, 'issue upload URLs', notFound(versionId));
    const unknown = (only.paths ?? []).filter((p) => !version.artifacts.some((a) => a.path === p));
    if (unknown.length > 0) throw new InvalidArgumentError('paths', `not artifacts of version ${version.id}: ${unknown.map((p) => `"${p}"`).join(', ')}`);
    if (version.status !== 'PENDING_UPLOAD') {
      throw new FailedPreconditionError(`Version ${version.id} is ${version.status}; upload URLs are only issued for PENDING_UPLOAD versions`);
    }
    return this.issueUploadUrls(version, actor, {}, only);
  }

  /** Fresh upload URLs for a PENDING_UPLOAD version, recorded as UPLOAD_URLS_ISSUED (with `extra` details). */
  private async issueUploadUrls(
    version: ModelVersion, actor: Actor, extra: JsonObject, only: UploadUrlSelection = { paths: null, partNumbers: null },
  ): Promise<RegisteredVersion['uploads']> {
    const uploads = await this.presignUploads(version, only);
    await this.deps.store.appendAudit(
      auditDraft(this.deps, actor, AuditAction.uploadUrlsIssued, { modelName: version.modelName, versionId: version.id }, {
        paths: uploads.map((u) => u.path),
        expiresAt: uploads[0]?.upload.expiresAt.toISOString() ?? null,
        ...(only.partNumbers !== null && { partNumbers: only.partNumbers }),
        ...extra,
      }),
    );
    return uploads;
  }

  /**
   * One PUT per artifact, and for an artifact offered in parts its multipart plan (started here the
   * first time, with the part hashes given at registration; later calls find them recorded).
   */
  private presignUploads(
    version: Pick<ModelVersion, 'modelName' | 'id' | 'artifacts'>, only: UploadUrlSelection = { paths: null, partNumbers: null },
    partHashes: ReadonlyMap<string, string[]> = new Map(),
  ): Promise<RegisteredVersion['uploads']> {
    const ttl = this.deps.settings.uploadUrlTtlSeconds;
    return Promise.all(
      version.artifacts.filter((a) => only.paths === null || only.paths.includes(a.path)).map(async (a) => {
        const inParts = this.multipart.offers(a);
        const target = { ...artifactTarget(version, a), multipart: inParts };
        return {
          path: a.path,
          upload: await this.deps.artifacts.presignUpload(target, ttl),
          parts: inParts ? await this.multipart.plan(target, only.partNumbers, 'partNumbers', partHashes.get(a.path) ?? null) : null,
        };
      }),
    );
  }

  async archive(versionId: string, reason: string | null, actor: Actor): Promise<ModelVersion> {
    const version = await this.requireVersion('versionId', versionId);
    await this.access.requireById(actor, 'deploy', version.modelName, 'archive versions', notFound(versionId));
    const why = checkOptionalText('reason', reason, LIMITS.reasonChars);
    if (version.status === 'ARCHIVED') return version;
    const result = await this.deps.store.transitionVersion(
      version.id,
      { from: ['READY'], to: 'ARCHIVED', failureReason: version.failureReason, requireUndeployed: true, requireNoHold: true },
      auditDraft(this.deps, actor, AuditAction.versionArchived, { modelName: version.modelName, versionId: version.id }, { reason: why }),
    );
    switch (result.kind) {
      case 'ok':
        return result.version;
      case 'not-found':
        throw new NotFoundError(notFound(versionId));
      case 'wrong-status':
        if (result.version.status === 'ARCHIVED') return result.version;
        throw new FailedPreconditionError(`Version ${version.id} is ${result.version.status}; only READY versions can be archived`);
      case 'deployed':
        throw new FailedPreconditionError(
          `Version ${version.id} is deployed in ${result.environments.join(', ')}; promote or roll back to another version first`,
        );
      case 'on-hold':
        throw new FailedPreconditionError(legalHoldRefusal(version.id, 'archived', result.version.legalHold?.reason ?? ''));
    }
  }

  /** `undefined` leaves a field unchanged; a null description clears it; null tags leave them unchanged. */
  async updateVersion(versionId: string, patch: { description?: string | null; tags?: string[] | null }, actor: Actor): Promise<ModelVersion> {
    const version = await this.requireVersion('versionId', versionId);
    await this.access.requireById(actor, 'publish', version.modelName, 'update versions', notFound(versionId));
    const changes: { description?: string | null; tags?: string[] } = {};
    if (patch.description !== undefined) changes.description = checkOptionalText('description', patch.description, LIMITS.descriptionChars);
    if (patch.tags !== undefined && patch.tags !== null) changes.tags = checkTags('tags', patch.tags);
    const changed = Object.keys(changes).filter((k) => JSON.stringify(changes[k as keyof typeof changes]) !== JSON.stringify(version[k as keyof typeof changes]));
    if (changed.length === 0) return version;
    const updated = await this.deps.store.updateVersionMetadata(
      version.id,
      changes,
      auditDraft(this.deps, actor, AuditAction.versionUpdated, { modelName: version.modelName, versionId: version.id }, { ...changes, changed }),
    );
    if (!updated) throw new NotFoundError(notFound(versionId));
    return updated;
  }

  /**
   * Changes what is given: `description` (null clears it), `primaryMetric` (null or absent: no
   * change). Checks everything before writing; a change to nothing writes nothing.
   */
  async updateModel(name: string, patch: { description?: string | null; primaryMetric?: string | null }, actor: Actor): Promise<Model> {
    checkModelName('name', name);
    await this.access.require(actor, 'publish', name, 'update models');
    const text = patch.description === undefined ? undefined : checkOptionalText('description', patch.description, LIMITS.descriptionChars);
    const metric = patch.primaryMetric == null ? undefined : checkMetricName('primaryMetric', patch.primaryMetric);
    const model = await this.deps.store.getModel(name);
    if (!model) throw new NotFoundError(`Model "${name}" does not exist`);
    const changes: { description?: string | null; primaryMetric?: string } = {};
    if (text !== undefined && text !== model.description) changes.description = text;
    if (metric !== undefined && metric !== model.primaryMetric) changes.primaryMetric = metric;
    if (Object.keys(changes).length === 0) return model;
    const updated = await this.deps.store.updateModel(
      name,
      changes,
      auditDraft(this.deps, actor, AuditAction.modelUpdated, { modelName: name, versionId: null }, changes),
    );
    if (!updated) throw new NotFoundError(`Model "${name}" does not exist`);
    return updated;
  }

  private async requireVersion(field: string, id: string): Promise<ModelVersion> {
    checkVersionIdFormat(field, id);
    const v = await this.deps.store.getVersion(id);
    if (!v) throw new NotFoundError(notFound(id));
    return v;
  }
}

/** The answer for a version id that does not exist, or that the caller's scope does not cover. */
export function notFound(versionId: string): string {
  return `Model version ${versionId} does not exist`;
}

/** The lineage given at registration, for its audit event (only what was given). */
function lineageDetails(v: ModelVersion): JsonObject {
  return {
    ...(v.source !== null && { source: { ...v.source } }),
    ...(v.dataset !== null && { dataset: { ...v.dataset } }),
    ...(Object.keys(v.labels).length > 0 && { labels: { ...v.labels } }),
  };
}

function givenLineage(f: string, cmd: RegisterVersionCommand): Partial<Pick<ModelVersion, 'source' | 'dataset' | 'labels'>> {
  const source = checkSource(`${f}.source`, cmd.source);
  const dataset = checkDataset(`${f}.dataset`, cmd.dataset);
  const labels = checkLabels(`${f}.labels`, cmd.labels);
  return { ...(source !== null && { source }), ...(dataset !== null && { dataset }), ...(Object.keys(labels).length > 0 && { labels }) };
}
