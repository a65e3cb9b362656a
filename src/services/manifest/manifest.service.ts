import { createHash } from 'node:crypto';
import type { Principal } from '../../domain/token.js';
import type { ModelVersion, VersionStatus } from '../../domain/model.js';
import { ArtifactsPurgedError, NotFoundError } from '../../domain/errors.js';
import type { QueryService } from '../query.service.js';
import type { ServiceDeps } from '../service-deps.js';

/** What `GET /v1/models/{name}/versions/{ref}/manifest` answers: everything a worker needs to pull a version. */
export interface Manifest {
  model: string;
  versionId: string;
  number: number;
  status: VersionStatus;
  /** The environment when the ref was one; null for a version id, number or `latest`. */
  environment: string | null;
  artifacts: { path: string; sizeBytes: number; sha256: string; contentType: string; url: string; expiresAt: string }[];
}

/** A resolved ref before anything is signed: enough to answer a conditional request with 304. */
export interface ResolvedManifest {
  version: ModelVersion;
  environment: string | null;
  /** Strong ETag (quoted): changes only when the resolved version (or its status) changes. */
  etag: string;
}

/**
 * The manifest of a version for inference workers: resolve the ref (one place, shared with the
 * download route), give an ETag of what it resolved to, and sign the download URLs only when the
 * client's copy is stale, so a worker polling with If-None-Match costs one or two store reads.
 */
export class ManifestService {
  constructor(
    private readonly deps: Pick<ServiceDeps, 'artifacts' | 'settings' | 'store'>,
    private readonly queries: QueryService,
  ) {}

  async resolve(principal: Principal, modelName: string, ref: string): Promise<ResolvedManifest> {
    const { version, environment } = await this.queries.resolveRef(principal, modelName, ref);
    // What the ref resolved to, and nothing a process may have cached differently (the status of a
    // verified version goes READY -> ARCHIVED): every process gives the same ETag for the same version.
    const tag = createHash('sha256').update(JSON.stringify([version.modelName, version.id, environment])).digest('base64url');
    return { version, environment, etag: `"${tag.slice(0, 32)}"` };
  }

  /** The manifest with a fresh presigned GET per artifact (lifetime: the download route's). */
  async sign(resolved: ResolvedManifest): Promise<Manifest> {
    const { version } = resolved;
    const artifacts = await Promise.all(
      version.artifacts.map(async (a) => {
        const url = await this.queries.downloadUrl(version, a, this.deps.settings.downloadUrlTtlSeconds);
        if (!url) throw new NotFoundError(`Version ${version.id} is ${version.status}; only verified versions can be downloaded`);
        return { path: a.path, sizeBytes: a.sizeBytes, sha256: a.sha256, contentType: a.contentType, url: url.url, expiresAt: url.expiresAt.toISOString() };
      }),
    );
    // The resolution may come from a per-process cache of verified versions: the status is read now.
    const current = await this.deps.store.getVersion(version.id);
    if (current?.purgedAt) throw new ArtifactsPurgedError(version.id, current.purgedAt);
    const status = current?.status ?? version.status;
    return { model: version.modelName, versionId: version.id, number: version.number, status, environment: resolved.environment, artifacts };
  }
}

/** Whether an If-None-Match header names `etag` (a list, weak validators compared weakly, or `*`). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').map((t) => t.trim().replace(/^W\//, '')).some((t) => t === '*' || t === etag);
}
