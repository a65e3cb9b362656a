import type { MultipartArtifacts } from './multipart/multipart.port.js';

/**
 * The artifact port. The store chooses every object key from (model, versionId, path); no
 * client-supplied location ever reaches it. Uploads go to a staging key; `finalize` verifies
 * size and sha256 from the stored bytes and moves them to the final key, which no upload URL ever
 * names, so the bytes behind a READY version cannot change.
 */
export interface ArtifactTarget {
  modelName: string;
  versionId: string;
  /** A path already checked by domain rules (relative, safe segments). */
  path: string;
  sizeBytes: number;
  contentType: string;
  /** The declared sha256 (hex), when known: a store may bind the upload to it (S3 checks the body against it). */
  sha256?: string;
  /**
   * The registry offers this artifact in parts too (multipart): a single PUT larger than storage
   * takes in one (5 GiB on S3) is then still signed, for old clients, and storage refuses its body.
   */
  multipart?: boolean;
}

export interface PresignedRequest {
  url: string;
  method: 'PUT' | 'GET' | 'HEAD';
  /** Headers the client must send exactly. */
  headers: { name: string; value: string }[];
  expiresAt: Date;
}

export type FinalizeOutcome = { ok: true } | { ok: false; reason: string };

export interface FinalizeOptions {
  /** Told the bytes read back so far as they are hashed (for a progress report). */
  onProgress?: (bytesRead: number) => void;
  /** Stops the read-back (shutdown): finalize then rejects, and nothing has become final. */
  signal?: AbortSignal;
}

export interface ArtifactStore {
  readonly engine: string;
  /** Multipart uploads of large artifacts (both stores offer them; see multipart/multipart.port.ts). */
  readonly multipart?: MultipartArtifacts;
  /** A URL to PUT the artifact's bytes to its staging key, bound to its size and content type. */
  presignUpload(target: ArtifactTarget, ttlSeconds: number): Promise<PresignedRequest>;
  /**
   * A URL to GET the artifact's final (verified) bytes, or, with `method` HEAD, to ask for their
   * size and type only (a URL is signed for one method). Served as an attachment of the declared type.
   */
  presignDownload(target: ArtifactTarget, ttlSeconds: number, method?: 'GET' | 'HEAD'): Promise<PresignedRequest>;
  /**
   * Checks the uploaded bytes against `sha256` and `target.sizeBytes`, computed by the server from
   * the stored bytes, and on success makes them the final object. Idempotent: when the staging
   * object is gone but a final object exists (a crash after the move), it verifies the final one.
   * On a mismatch it removes the staging object and says why.
   */
  finalize(target: ArtifactTarget, sha256: string, opts?: FinalizeOptions): Promise<FinalizeOutcome>;
  /** Removes staging and final objects of the targets (a version that failed verification). */
  discard(targets: readonly ArtifactTarget[]): Promise<void>;
  /**
   * Staged objects (unverified uploads, verification leftovers, cut-off writes), grouped by
   * version, in the store's key order. Final objects are never listed.
   */
  listStaged(): AsyncIterable<StagedGroup>;
  /** Removes the staged objects of a group this store listed (never a final object). */
  removeStaged(group: StagedGroup): Promise<void>;
  /**
   * Stores a signed audit checkpoint under `name` (server-chosen, `<16 digits>.json`) in a place
   * no presigned URL can name; a checkpoint is never overwritten.
   */
  writeAuditCheckpoint(name: string, body: Buffer): Promise<void>;
  /** The names of every stored audit checkpoint, in order. */
  auditCheckpointNames(): Promise<string[]>;
  /** A stored audit checkpoint's bytes, or null when there is none by that name. */
  readAuditCheckpoint(name: string): Promise<Buffer | null>;
  /** Throws if storage cannot be reached (for /readyz). */
  ping(): Promise<void>;
}

/**
 * Staged bytes: uploads not yet verified, copies an interrupted verification left, partial writes
 * of an upload cut off mid-way. The cleanup of abandoned uploads lists them and removes those of
 * versions that will never complete. Keys are the store's own (from its listing), never a client's.
 */
export interface StagedGroup {
  /** The version the objects belong to; null for a partial write that names none (a cut-off upload). */
  modelName: string | null;
  versionId: string | null;
  /** The store's own keys of the objects. */
  keys: string[];
  bytes: number;
  /** The newest object's time. */
  lastModified: Date;
}
