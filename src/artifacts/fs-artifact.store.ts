import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { ArtifactStore, ArtifactTarget, FinalizeOutcome, PresignedRequest } from './artifact.store.js';
import { keyToUrlPath, sign } from './signed-url.js';

/** Where each stage of an artifact lives, relative to the root. Chosen here, never by a client. */
export type Stage = 'uploads' | 'verifying' | 'models';

export function objectKey(stage: Stage, t: Pick<ArtifactTarget, 'modelName' | 'versionId' | 'path'>): string {
  return `${stage}/${t.modelName}/${t.versionId}/${t.path}`;
}

/**
 * Artifacts as files under `<root>`; the URLs it hands out point at the registry's own HTTP server
 * (`<publicUrl>/artifacts/...`, see fs-artifact.http.ts) and are signed with HMAC-SHA256.
 *
 * finalize moves the staging file to a verifying location first (an atomic rename: a replayed
 * upload URL then writes a new staging file, never the bytes being checked), hashes it, and renames
 * it to the final key. Every step is a rename, so a crash leaves a file in one of the three places
 * and a repeated finalize picks it up from there.
 */
export class FsArtifactStore implements ArtifactStore {
  readonly engine = 'filesystem';

  private constructor(
    readonly root: string,
    private readonly publicUrl: () => string,
    readonly secret: Buffer,
    private readonly now: () => Date,
  ) {}

  /**
   * Opens the store under `root`; `publicUrl` gives the base of the registry's own HTTP server
   * (a function, because with port 0 it is known only once the server listens). The signing secret is `secret` when given, otherwise the one kept
   * in `<root>/.signing-secret`, created (32 random bytes, mode 0600) on first use.
   */
  static async open(opts: { root: string; publicUrl: () => string; secret?: string | null; now?: () => Date }): Promise<FsArtifactStore> {
    const root = resolve(opts.root);
    await mkdir(root, { recursive: true });
    const secret = opts.secret ? Buffer.from(opts.secret, 'utf8') : await loadOrCreateSecret(join(root, '.signing-secret'));
    return new FsArtifactStore(root, opts.publicUrl, secret, opts.now ?? (() => new Date()));
  }

  /** The absolute file for a key; refuses anything that would leave the root. */
  fileFor(key: string): string {
    const file = resolve(this.root, key);
    if (!file.startsWith(this.root + sep)) throw new Error('object key escapes the artifact root');
    return file;
  }

  async presignUpload(t: ArtifactTarget, ttlSeconds: number): Promise<PresignedRequest> {
    return this.presign('PUT', objectKey('uploads', t), ttlSeconds, t.sizeBytes, t.contentType);
  }

  async presignDownload(t: ArtifactTarget, ttlSeconds: number, method: 'GET' | 'HEAD' = 'GET'): Promise<PresignedRequest> {
    return this.presign(method, objectKey('models', t), ttlSeconds, null, t.contentType);
  }

  /** URLs signed this second, by what they sign: the same request within a second gets the same URL. */
  private readonly signedThisSecond = new Map<string, PresignedRequest>();

  private presign(method: PresignedRequest['method'], key: string, ttlSeconds: number, contentLength: number | null, contentType: string): PresignedRequest {
    const expires = Math.floor(this.now().getTime() / 1000) + ttlSeconds;
    const cacheKey = `${method}\n${key}\n${ttlSeconds}\n${contentLength ?? ''}\n${contentType}`;
    const recent = this.signedThisSecond.get(cacheKey);
    if (recent && recent.expiresAt.getTime() === expires * 1000) return recent;
    if (this.signedThisSecond.size >= 1000) this.signedThisSecond.clear();
    const request = this.signRequest(method, key, expires, contentLength, contentType);
    this.signedThisSecond.set(cacheKey, request);
    return request;
  }

  private signRequest(method: PresignedRequest['method'], key: string, expires: number, contentLength: number | null, contentType: string): PresignedRequest {
    const signature = sign(this.secret, { method, key, expires, contentLength, contentType });
    const op = method === 'PUT' ? 'upload' : 'download';
    const query = new URLSearchParams({ expires: String(expires), ct: contentType, sig: signature });
    if (contentLength !== null) query.set('len', String(contentLength));
    return {
      url: `${this.publicUrl().replace(/\/+$/, '')}/artifacts/${op}/${keyToUrlPath(key)}?${query.toString()}`,
      method,
      headers: method === 'PUT' ? [{ name: 'Content-Type', value: contentType }] : [],
      expiresAt: new Date(expires * 1000),
    };
  }

  async finalize(t: ArtifactTarget, sha256: string): Promise<FinalizeOutcome> {
    const staging = this.fileFor(objectKey('uploads', t));
    const verifying = this.fileFor(objectKey('verifying', t));
    const final = this.fileFor(objectKey('models', t));
    await mkdir(dirname(verifying), { recursive: true });
    await renameIfExists(staging, verifying);
    let candidate = verifying;
    let digest = await digestIfExists(verifying);
    if (digest === null) {
      candidate = final;
      digest = await digestIfExists(final);
    }
    if (digest === null) return { ok: false, reason: `artifact "${t.path}" was not uploaded` };
    const problem = mismatch(t, sha256, digest);
    if (problem !== null) {
      await rm(candidate, { force: true });
      return { ok: false, reason: problem };
    }
    if (candidate === verifying) {
      await mkdir(dirname(final), { recursive: true });
      await rename(verifying, final);
    }
    return { ok: true };
  }

  async discard(targets: readonly ArtifactTarget[]): Promise<void> {
    for (const t of targets) {
      for (const stage of ['uploads', 'verifying', 'models'] as const) await rm(this.fileFor(objectKey(stage, t)), { force: true });
    }
  }

  async ping(): Promise<void> {
    await stat(this.root);
  }
}

function mismatch(t: ArtifactTarget, sha256: string, got: { size: number; sha256: string }): string | null {
  if (got.size !== t.sizeBytes) return `artifact "${t.path}" has ${got.size} bytes, ${t.sizeBytes} were declared`;
  if (got.sha256 !== sha256) return `artifact "${t.path}" has sha256 ${got.sha256}, ${sha256} was declared`;
  return null;
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

async function digestIfExists(file: string): Promise<{ size: number; sha256: string } | null> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(file)) {
      size += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return { size, sha256: hash.digest('hex') };
}

async function loadOrCreateSecret(file: string): Promise<Buffer> {
  try {
    return Buffer.from((await readFile(file, 'utf8')).trim(), 'hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // Written aside, then hard-linked into place: link() fails if another process won the race,
  // and a reader never sees a half-written file.
  const secret = randomBytes(32);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, secret.toString('hex'), { mode: 0o600 });
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return Buffer.from((await readFile(file, 'utf8')).trim(), 'hex');
  } finally {
    await rm(tmp, { force: true });
  }
  return secret;
}
