import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { ArtifactStore, ArtifactTarget, FinalizeOptions, FinalizeOutcome, PresignedRequest } from './artifact.store.js';
import { ArrivalDigests } from './arrival-digest.js';
import { ArtifactCodec, type Digest } from './encryption/artifact-file.js';
import { sealFilesFromBefore } from './encryption/legacy-migration.js';
import { fsCheckpointNames, readFsCheckpoint, writeFsCheckpoint } from './fs-checkpoints.js';
import { listFsStaged, removeFsStaged } from './fs-staging.js';
import type { StagedGroup } from './artifact.store.js';
import { loadOrCreateSigningSecret } from './signing-secret.js';
import { keyToUrlPath, sign } from './signed-url.js';
import { FsMultipart } from './multipart/fs-multipart.js';

/** Where each stage of an artifact lives, relative to the root. Chosen here, never by a client. */
export type Stage = 'uploads' | 'verifying' | 'models';

/** How often finalize tries again when a concurrent call takes the bytes it was about to check. */
const CLAIM_ATTEMPTS = 3;

export function objectKey(stage: Stage, t: Pick<ArtifactTarget, 'modelName' | 'versionId' | 'path'>): string {
  return `${stage}/${t.modelName}/${t.versionId}/${t.path}`;
}

/**
 * What a signed URL's key may name: the upload stage (PUT) or the final stage (GET) of some
 * version's artifact, `<stage>/<model>/<versionId>/<path>`; never the verifying stage, a file at
 * the root (the signing secret) or anything else. Null for any other key.
 */
export function parseObjectKey(key: string, stage: 'uploads' | 'models'): { modelName: string; versionId: string; path: string } | null {
  const segments = key.split('/');
  if (segments.length < 4 || segments[0] !== stage) return null;
  if (segments.some((s) => s === '' || s === '.' || s === '..') || segments[1]!.startsWith('.') || segments[2]!.startsWith('.')) return null;
  return { modelName: segments[1]!, versionId: segments[2]!, path: segments.slice(3).join('/') };
}

/**
 * Artifacts as files under `<root>`; the URLs it hands out point at the registry's own HTTP server
 * (`<publicUrl>/artifacts/...`, see fs-artifact.http.ts) and are signed with HMAC-SHA256.
 *
 * finalize claims the staging file by renaming it to a name of its own under `verifying/` (a
 * replayed upload URL then writes a new staging file, and a concurrent finalize claims that one,
 * never the bytes being checked), hashes it, and renames that same file to the final key: the
 * bytes moved are the bytes hashed. Every step is a rename, so a crash leaves the file in one of
 * the three places and a repeated finalize picks it up from there.
 */
export class FsArtifactStore implements ArtifactStore {
  readonly engine = 'filesystem';
  /** Plaintext files from before encryption that opening the store sealed (the first start with encryption on). */
  sealedFromBefore = 0;
  readonly multipart: FsMultipart;
  /** Digests of uploads taken as their bytes arrived: finalize uses them instead of reading the file again. */
  readonly arrivals: ArrivalDigests;

  private constructor(
    readonly root: string,
    private readonly publicUrl: () => string,
    readonly secret: Buffer,
    /** Seals every artifact byte written under the root, and opens it on the way out (encryption/). */
    readonly codec: ArtifactCodec,
    private readonly now: () => Date,
  ) {
    this.arrivals = new ArrivalDigests(root, secret);
    this.multipart = new FsMultipart({
      root, fileFor: (key) => this.fileFor(key), stagingKey: (t) => objectKey('uploads', t), secret, publicUrl, codec, now, arrivals: this.arrivals,
    });
  }

  /**
   * Opens the store under `root`; `publicUrl` gives the base of the registry's own HTTP server
   * (a function, because with port 0 it is known only once the server listens). The signing secret is `secret` when given, otherwise the one kept
   * in `<root>/.signing-secret`, created (32 random bytes, mode 0600) on first use.
   * `encryptionKey`: the master key artifacts are sealed with (AES-256-GCM, chunked), or null to
   * write them as they are (REGISTRY_ENCRYPTION=off, a benchmark ceiling only). Always explicit.
   */
  static async open(opts: {
    root: string; publicUrl: () => string; encryptionKey: Buffer | null; secret?: string | null; now?: () => Date;
  }): Promise<FsArtifactStore> {
    const root = resolve(opts.root);
    await mkdir(root, { recursive: true });
    const secret = opts.secret ? Buffer.from(opts.secret, 'utf8') : await loadOrCreateSigningSecret(join(root, '.signing-secret'));
    const codec = new ArtifactCodec(opts.encryptionKey);
    const sealedFromBefore = await sealFilesFromBefore(root, codec);
    const store = new FsArtifactStore(root, opts.publicUrl, secret, codec, opts.now ?? (() => new Date()));
    store.sealedFromBefore = sealedFromBefore;
    return store;
  }

  /** The absolute file for a key; refuses anything that would leave the root. */
  fileFor(key: string): string {
    const file = resolve(this.root, key);
    if (!file.startsWith(this.root + sep)) throw new Error('object key escapes the artifact root');
    return file;
  }

  async presignUpload(t: ArtifactTarget, ttlSeconds: number): Promise<PresignedRequest> {
    return this.presign('PUT', objectKey('uploads', t), ttlSeconds, t.sizeBytes, t.contentType, null);
  }

  async presignDownload(t: ArtifactTarget, ttlSeconds: number, method: 'GET' | 'HEAD' = 'GET'): Promise<PresignedRequest> {
    return this.presign(method, objectKey('models', t), ttlSeconds, null, t.contentType, t.sha256 ?? null);
  }

  /** URLs signed this second, by what they sign: the same request within a second gets the same URL. */
  private readonly signedThisSecond = new Map<string, PresignedRequest>();

  private presign(
    method: PresignedRequest['method'], key: string, ttlSeconds: number, contentLength: number | null, contentType: string, sha256: string | null,
  ): PresignedRequest {
    const expires = Math.floor(this.now().getTime() / 1000) + ttlSeconds;
    const cacheKey = `${method}\n${key}\n${ttlSeconds}\n${contentLength ?? ''}\n${contentType}\n${sha256 ?? ''}`;
    const recent = this.signedThisSecond.get(cacheKey);
    if (recent && recent.expiresAt.getTime() === expires * 1000) return recent;
    if (this.signedThisSecond.size >= 1000) this.signedThisSecond.clear();
    const request = this.signRequest(method, key, expires, contentLength, contentType, sha256);
    this.signedThisSecond.set(cacheKey, request);
    return request;
  }

  private signRequest(
    method: PresignedRequest['method'], key: string, expires: number, contentLength: number | null, contentType: string, sha256: string | null,
  ): PresignedRequest {
    const signature = sign(this.secret, { method, key, expires, contentLength, contentType, sha256 });
    const op = method === 'PUT' ? 'upload' : 'download';
    const query = new URLSearchParams({ expires: String(expires), ct: contentType, sig: signature });
    if (contentLength !== null) query.set('len', String(contentLength));
    if (sha256 !== null) query.set('sha', sha256);
    return {
      url: `${this.publicUrl().replace(/\/+$/, '')}/artifacts/${op}/${keyToUrlPath(key)}?${query.toString()}`,
      method,
      headers: method === 'PUT' ? [{ name: 'Content-Type', value: contentType }] : [],
      expiresAt: new Date(expires * 1000),
    };
  }

  async finalize(t: ArtifactTarget, sha256: string, opts: FinalizeOptions = {}): Promise<FinalizeOutcome> {
    const final = this.fileFor(objectKey('models', t));
    for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
      // Already moved (a crash or a concurrent call after the move): only verified bytes get there.
      const done = await this.codec.digest(final, opts);
      if (done !== null) {
        await this.arrivals.forget(t);
        return outcome(mismatch(t, sha256, done));
      }
      const callDir = join(this.verifyingDir(t), randomUUID());
      // An error or an abort (shutdown) leaves the claimed file in callDir, where the next finalize claims it again.
      const claimed = await this.claim(t, callDir);
      const digest = claimed === null ? null : ((await this.arrivals.lookup(t, claimed)) ?? (await this.codec.digest(claimed, opts)));
      if (digest === null) {
        await rm(callDir, { recursive: true, force: true });
        // Nothing to claim: never uploaded, unless a concurrent call holds (or just moved) the bytes.
        // Looked at twice: a claim moving between two other calls' folders can slip past one look.
        if ((await this.foundNowhere(t, final)) && (await this.foundNowhere(t, final))) {
          return { ok: false, reason: `artifact "${t.path}" was not uploaded` };
        }
        continue;
      }
      opts.signal?.throwIfAborted();
      const problem = mismatch(t, sha256, digest);
      if (problem === null && !(await moveIfExists(claimed!, final))) continue; // taken by a concurrent call meanwhile
      await rm(callDir, { recursive: true, force: true });
      await this.arrivals.forget(t);
      return outcome(problem);
    }
    // Never reached while the completion lease keeps calls apart: say so rather than call the upload missing.
    throw new Error(`artifact "${t.path}" is being verified by another call; try again`);
  }

  /** `verifying/<model>/<version>`: one folder per finalize call below it. */
  private verifyingDir(t: ArtifactTarget): string {
    return dirname(this.fileFor(objectKey('verifying', { ...t, path: 'x' })));
  }

  /** Call folders under `verifying/` that hold this artifact (another call's claim, or one an interrupted call left). */
  private async claimsOf(t: ArtifactTarget, except: string | null): Promise<string[]> {
    let calls: string[];
    try {
      calls = await readdir(this.verifyingDir(t));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return calls.map((call) => join(this.verifyingDir(t), call, t.path)).filter((file) => except === null || !file.startsWith(except + sep));
  }

  /** No final file, no claim in any call's folder, no staging file. */
  private async foundNowhere(t: ArtifactTarget, final: string): Promise<boolean> {
    if ((await stat(final).catch(() => null)) !== null || (await this.claimedElsewhere(t))) return false;
    return (await stat(this.fileFor(objectKey('uploads', t))).catch(() => null)) === null;
  }

  private async claimedElsewhere(t: ArtifactTarget): Promise<boolean> {
    for (const file of await this.claimsOf(t, null)) if ((await stat(file).catch(() => null)) !== null) return true;
    return false;
  }

  /**
   * Renames a file an interrupted finalize left in its call folder, or else the staging file, into
   * `callDir`, a folder only this call knows. Earlier claims come first: they were uploaded before
   * any upload still in staging. Null if there is none.
   */
  private async claim(t: ArtifactTarget, callDir: string): Promise<string | null> {
    const mine = join(callDir, t.path);
    await mkdir(dirname(mine), { recursive: true });
    for (const from of [...(await this.claimsOf(t, callDir)), this.fileFor(objectKey('uploads', t))]) {
      if (await renameIfExists(from, mine)) return mine;
    }
    return null;
  }

  async discard(targets: readonly ArtifactTarget[]): Promise<void> {
    for (const t of targets) {
      await this.multipart.abort(t);
      for (const stage of ['uploads', 'models'] as const) await rm(this.fileFor(objectKey(stage, t)), { force: true });
      await rm(this.verifyingDir(t), { recursive: true, force: true });
      await this.arrivals.forget(t);
    }
  }

  listStaged(): AsyncIterable<StagedGroup> {
    return listFsStaged(this.root, (file, diskBytes) => this.codec.plaintextSize(file, diskBytes));
  }

  async removeStaged(group: StagedGroup): Promise<void> {
    await removeFsStaged(this.root, (key) => this.fileFor(key), group);
    if (group.modelName !== null && group.versionId !== null) await this.arrivals.forgetVersion(group.modelName, group.versionId);
  }

  writeAuditCheckpoint(name: string, body: Buffer): Promise<void> {
    return writeFsCheckpoint(this.root, name, body);
  }

  auditCheckpointNames(): Promise<string[]> {
    return fsCheckpointNames(this.root);
  }

  readAuditCheckpoint(name: string): Promise<Buffer | null> {
    return readFsCheckpoint(this.root, name);
  }

  /** The root must be there and writable (uploads are written under tmp/ first): /readyz says so. */
  async ping(): Promise<void> {
    await stat(this.root);
    const probe = join(this.root, 'tmp', `.ready-${process.pid}-${randomUUID()}`);
    await mkdir(dirname(probe), { recursive: true });
    await writeFile(probe, '');
    await rm(probe, { force: true });
  }
}

function outcome(problem: string | null): FinalizeOutcome {
  return problem === null ? { ok: true } : { ok: false, reason: problem };
}

function mismatch(t: ArtifactTarget, sha256: string, got: Digest): string | null {
  if (got.damaged !== null) return `artifact "${t.path}" failed to decrypt: ${got.damaged}`;
  if (got.size !== t.sizeBytes) return `artifact "${t.path}" has ${got.size} bytes, ${t.sizeBytes} were declared`;
  if (got.sha256 !== sha256) return `artifact "${t.path}" has sha256 ${got.sha256}, ${sha256} was declared`;
  return null;
}

/** Moves verified bytes to their final key; false if they were taken meanwhile. */
async function moveIfExists(from: string, to: string): Promise<boolean> {
  await mkdir(dirname(to), { recursive: true });
  return renameIfExists(from, to);
}

async function renameIfExists(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return false;
  }
}
