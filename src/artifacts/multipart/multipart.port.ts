import type { ArtifactTarget, FinalizeOutcome, PresignedRequest } from '../artifact.store.js';

/** Which artifact: enough to name its keys. */
export type ArtifactKey = Pick<ArtifactTarget, 'modelName' | 'versionId' | 'path'>;

/** A multipart upload of one artifact: storage's id for it and the part size the registry chose. */
export interface MultipartHandle {
  uploadId: string;
  partSizeBytes: number;
  /**
   * Each part's SHA-256 (64 lowercase hex, part 1 first), when the client declared them at
   * registration: recorded beside the upload id, signed into every part URL, checked by storage
   * (or the embedded store) as the part arrives and again at the join. Absent: none declared.
   */
  partSha256?: readonly string[];
}

/** A part storage holds: its number, its ETag, and its size when storage reports it. */
export interface StoredPart {
  partNumber: number;
  etag: string;
  sizeBytes: number | null;
}

/** A part to join: its number and the ETag storage gave it. */
export interface PartToJoin {
  partNumber: number;
  etag: string;
}

/**
 * Multipart uploads of large artifacts (issue 16). Parts go to storage that no final key names
 * (S3: parts of a multipart upload on the staging key; filesystem: part files under
 * `multipart/`); `join` makes the staging object of them, and the store's usual `finalize` then
 * verifies size and sha256 and moves it, exactly as for one PUT. The store chooses every key;
 * the upload id is storage's, recorded by the store (a marker beside the parts), never a client's.
 */
export interface MultipartArtifacts {
  /**
   * Starts the multipart upload of the artifact, or finds the one already started (then its part
   * size and part hashes stand). With `partSha256` (one per part), the upload is begun for SHA-256
   * part checksums (S3: `ChecksumAlgorithm: SHA256`, after which storage refuses a part without its
   * checksum) and the hashes are recorded beside the upload id.
   */
  begin(t: ArtifactTarget, partSizeBytes: number, partSha256?: readonly string[] | null): Promise<MultipartHandle>;
  /** The artifact's multipart upload, or null when none was started (or it was joined or aborted). */
  find(t: ArtifactKey): Promise<MultipartHandle | null>;
  /** A URL to PUT part `partNumber` (1-based) of exactly `sizeBytes` bytes (and, when the upload has part hashes, of that part's SHA-256). */
  presignPart(t: ArtifactTarget, upload: MultipartHandle, partNumber: number, sizeBytes: number, ttlSeconds: number): Promise<PresignedRequest>;
  /** The parts storage holds, in part order; null when the storage cannot list parts (s3rver). */
  listParts(t: ArtifactTarget, upload: MultipartHandle): Promise<StoredPart[] | null>;
  /**
   * Joins the parts, in order, into the artifact's staging object and ends the multipart upload.
   * A refusal (a part storage does not hold with that ETag, or whose bytes differ from its recorded
   * SHA-256) leaves the parts as they are.
   */
  join(t: ArtifactTarget, upload: MultipartHandle, parts: readonly PartToJoin[], signal?: AbortSignal): Promise<FinalizeOutcome>;
  /** Aborts the artifact's multipart upload (if any) and removes its parts and its marker. */
  abort(t: ArtifactKey): Promise<void>;
}
