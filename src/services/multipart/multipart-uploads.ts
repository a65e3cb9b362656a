import type { ArtifactTarget, PresignedRequest } from '../../artifacts/artifact.store.js';
import type { MultipartHandle, PartToJoin } from '../../artifacts/multipart/multipart.port.js';
import { FailedPreconditionError, InvalidArgumentError } from '../../domain/errors.js';
import { SHA256_PATTERN } from '../../domain/limits.js';
import type { Artifact, ModelVersion } from '../../domain/model.js';
import type { ServiceDeps } from '../service-deps.js';
import { DEFAULT_MULTIPART, type MultipartSettings, describeParts, partCount, partLength, partSizeFor, usesMultipart } from './part-plan.js';

/** The multipart plan of one artifact, as register and createUploadUrls answer it. */
export interface MultipartPlan {
  uploadId: string;
  partSizeBytes: number;
  parts: { partNumber: number; upload: PresignedRequest; etag: string | null }[];
}

/** How an artifact of a given size is uploaded: in parts or not, and if so the part size and count (the uploadPlan query). */
export interface UploadPlan {
  inParts: boolean;
  partSizeBytes: number | null;
  partCount: number | null;
}

/** ETags a client sends back for an artifact's parts, in part order (part 1 first). */
export interface GivenParts {
  path: string;
  etags: string[];
}

/** An artifact's parts as the completion will join them. */
export interface PartsToJoin {
  handle: MultipartHandle;
  parts: PartToJoin[];
}

const ETAG = /^"?[A-Za-z0-9-]{1,128}"?$/;

/**
 * Multipart uploads of large artifacts as use cases: the plan at registration (and fresh part URLs
 * later), and, at completion, which parts to join (from the client's ETags, or listed from
 * storage), checked to cover the artifact exactly. The join itself runs in the completion's check.
 */
export class MultipartUploads {
  constructor(private readonly deps: ServiceDeps) {}

  private get settings(): MultipartSettings {
    return this.deps.settings.multipart ?? DEFAULT_MULTIPART;
  }

  /** Whether this artifact is offered in parts (large enough, and the store takes parts). */
  offers(a: Pick<Artifact, 'sizeBytes'>): boolean {
    return this.deps.artifacts.multipart !== undefined && usesMultipart(a.sizeBytes, this.settings);
  }

  /** How an artifact of `sizeBytes` goes up: the one decision `offers` and `plan` take, told to a client before it hashes its parts. */
  uploadPlan(sizeBytes: number): UploadPlan {
    if (!this.offers({ sizeBytes })) return { inParts: false, partSizeBytes: null, partCount: null };
    const partSizeBytes = partSizeFor(sizeBytes, this.settings);
    return { inParts: true, partSizeBytes, partCount: partCount(sizeBytes, partSizeBytes) };
  }

  /**
   * The part hashes a client declared, per artifact path (`given[i]` for `artifacts[i]`; null or
   * absent: none), each list checked by `checkPartHashesOf`. BAD_USER_INPUT names the first wrong one.
   */
  checkPartHashes(field: string, artifacts: readonly Pick<Artifact, 'path' | 'sizeBytes'>[], given: readonly (readonly string[] | null | undefined)[]): Map<string, string[]> {
    const out = new Map<string, string[]>();
    artifacts.forEach((a, i) => {
      const hashes = this.checkPartHashesOf(`${field}[${i}].partSha256`, a, given[i]);
      if (hashes) out.set(a.path, hashes);
    });
    return out;
  }

  /**
   * Checks the part hashes a client declared for artifact `a` (null: none): 64 lowercase hex each,
   * one per part of the part size the registry chooses, and only for an artifact uploaded in parts.
   */
  private checkPartHashesOf(field: string, a: Pick<Artifact, 'path' | 'sizeBytes'>, hashes: readonly string[] | null | undefined): string[] | null {
    if (hashes === null || hashes === undefined) return null;
    const plan = this.uploadPlan(a.sizeBytes);
    if (!plan.inParts) {
      throw new InvalidArgumentError(field, `artifact "${a.path}" (${a.sizeBytes} bytes) is not uploaded in parts (uploadPlan says so): give no part hashes`);
    }
    if (hashes.length !== plan.partCount) {
      throw new InvalidArgumentError(field, `artifact "${a.path}" has ${plan.partCount} parts of ${plan.partSizeBytes} bytes (uploadPlan); ${hashes.length} part hashes were given`);
    }
    const bad = hashes.findIndex((h) => !SHA256_PATTERN.test(h));
    if (bad >= 0) throw new InvalidArgumentError(`${field}[${bad}]`, 'a part SHA-256 is 64 lowercase hex characters');
    return [...hashes];
  }

  /**
   * The plan for `target` (started now, or the one started before), with URLs for `partNumbers`
   * (all when null). `partSha256` (checked by checkPartHashes) starts it with part checksums; an
   * upload started before keeps the hashes it was started with.
   */
  async plan(target: ArtifactTarget, partNumbers: readonly number[] | null, field: string, partSha256: readonly string[] | null = null): Promise<MultipartPlan> {
    const mp = this.deps.artifacts.multipart!;
    const handle = await mp.begin(target, partSizeFor(target.sizeBytes, this.settings), partSha256);
    const count = partCount(target.sizeBytes, handle.partSizeBytes);
    const numbers = partNumbers ?? Array.from({ length: count }, (_, i) => i + 1);
    const wrong = numbers.filter((n) => !Number.isInteger(n) || n < 1 || n > count);
    if (wrong.length > 0) throw new InvalidArgumentError(field, `artifact "${target.path}" has parts 1-${count}; no part ${wrong.join(', ')}`);
    const stored = new Map(((await mp.listParts(target, handle)) ?? []).map((p) => [p.partNumber, p]));
    const ttl = this.deps.settings.uploadUrlTtlSeconds;
    const parts = await Promise.all([...new Set(numbers)].sort((a, b) => a - b).map(async (n) => {
      const size = partLength(target.sizeBytes, handle.partSizeBytes, n);
      const have = stored.get(n);
      return {
        partNumber: n,
        upload: await mp.presignPart(target, handle, n, size, ttl),
        etag: have && (have.sizeBytes === null || have.sizeBytes === size) ? have.etag : null,
      };
    }));
    return { uploadId: handle.uploadId, partSizeBytes: handle.partSizeBytes, parts };
  }

  /**
   * The parts to join, per artifact path, for a completion: from `given` ETags or listed from
   * storage. FAILED_PRECONDITION (nothing written, the version stays PENDING_UPLOAD) when a part
   * is missing or has the wrong size; BAD_USER_INPUT for ETags that name no multipart artifact.
   */
  async partsToJoin(version: ModelVersion, given: readonly GivenParts[] | null, target: (a: Artifact) => ArtifactTarget): Promise<Map<string, PartsToJoin>> {
    const byPath = new Map<string, GivenParts>();
    (given ?? []).forEach((g, i) => {
      const a = version.artifacts.find((x) => x.path === g.path);
      if (!a || !this.offers(a)) throw new InvalidArgumentError(`parts[${i}].path`, `"${g.path}" is not an artifact of this version uploaded in parts`);
      if (byPath.has(g.path)) throw new InvalidArgumentError(`parts[${i}].path`, `"${g.path}" is given twice`);
      if (g.etags.some((e) => !ETAG.test(e))) throw new InvalidArgumentError(`parts[${i}].etags`, 'an ETag is 1-128 letters, digits or dashes, optionally quoted');
      byPath.set(g.path, g);
    });
    const joins = new Map<string, PartsToJoin>();
    const mp = this.deps.artifacts.multipart;
    if (!mp) return joins;
    for (const a of version.artifacts.filter((x) => this.offers(x))) {
      const t = target(a);
      const handle = await mp.find(t);
      if (handle === null) continue; // joined by an earlier completion, or never begun: finalize decides
      const count = partCount(a.sizeBytes, handle.partSizeBytes);
      const listed = await mp.listParts(t, handle);
      const g = byPath.get(a.path);
      // No ETags and no parts listed (none uploaded, or storage that cannot list them, like s3rver):
      // taken as an upload with the single PUT, which finalize checks (it says "not uploaded" if there is none).
      if (!g && (listed === null || listed.length === 0)) continue;
      const stored = new Map((listed ?? []).map((p) => [p.partNumber, p]));
      if (g && g.etags.length !== count) {
        throw new FailedPreconditionError(`artifact "${a.path}" has ${count} parts of ${handle.partSizeBytes} bytes; ${g.etags.length} ETags were given`);
      }
      const numbers = Array.from({ length: count }, (_, i) => i + 1);
      if (listed !== null) {
        const missing = numbers.filter((n) => !stored.has(n));
        if (missing.length > 0) throw new FailedPreconditionError(`artifact "${a.path}": part ${describeParts(missing)} of ${count} not uploaded; upload it (createUploadUrls gives fresh part URLs), then complete`);
        const wrong = numbers.filter((n) => { const s = stored.get(n)!.sizeBytes; return s !== null && s !== partLength(a.sizeBytes, handle.partSizeBytes, n); });
        if (wrong.length > 0) throw new FailedPreconditionError(`artifact "${a.path}": part ${describeParts(wrong)} has the wrong size; upload it again, then complete`);
        if (g) {
          const changed = numbers.filter((n) => unquote(stored.get(n)!.etag) !== unquote(g.etags[n - 1]!));
          if (changed.length > 0) throw new FailedPreconditionError(`artifact "${a.path}": part ${describeParts(changed)} in storage has another ETag than given (uploaded again since?)`);
        }
      }
      joins.set(a.path, { handle, parts: numbers.map((n) => ({ partNumber: n, etag: g ? unquote(g.etags[n - 1]!) : unquote(stored.get(n)!.etag) })) });
    }
    return joins;
  }

  /** Joins an artifact's parts into its staging object; a refusal keeps the version PENDING_UPLOAD (FAILED_PRECONDITION). */
  async join(t: ArtifactTarget, join: PartsToJoin | undefined, signal: AbortSignal): Promise<void> {
    if (!join) return;
    const out = await this.deps.artifacts.multipart!.join(t, join.handle, join.parts, signal);
    if (!out.ok) throw new FailedPreconditionError(out.reason);
  }
}

function unquote(etag: string): string {
  return etag.replace(/"/g, '');
}
