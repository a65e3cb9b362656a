import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactTarget, FinalizeOutcome, PresignedRequest } from '../artifact.store.js';
import type { ArtifactCodec } from '../encryption/artifact-file.js';
import { PlaintextLengthError } from '../encryption/chunked-format.js';
import { keyToUrlPath, sign } from '../signed-url.js';
import type { ArtifactKey, MultipartArtifacts, MultipartHandle, PartToJoin, StoredPart } from './multipart.port.js';

export interface FsMultipartDeps {
  root: string;
  fileFor: (key: string) => string;
  /** The staging key of an artifact (`uploads/…`): where the joined file goes. */
  stagingKey: (t: ArtifactKey) => string;
  secret: Buffer;
  publicUrl: () => string;
  codec: ArtifactCodec;
  now: () => Date;
}

/** A part's key: `multipart/<model>/<version>/<artifact hash>/<uploadId>/<partNumber>`. */
export const PART_KEY = /^multipart\/([^/]+)\/([^/]+)\/([0-9a-f]{32})\/([0-9a-f]{32})\/([1-9][0-9]{0,4})$/;

/**
 * Multipart uploads on the embedded store, in the plan shape S3 has, so clients have one code path.
 * Parts are PUT to `/artifacts/part/<key>` (fs-multipart.http.ts) and sealed as they stream in,
 * like single uploads (encryption at rest), into `multipart/<model>/<version>/<h>/<uploadId>/<n>`,
 * where `<h>` names the artifact by a hash of its path and `plan.json` beside holds the upload id
 * and part size. `join` decrypts the parts in order and seals them again as one file into the
 * artifact's staging key; `finalize` then verifies it as it does a single upload.
 */
export class FsMultipart implements MultipartArtifacts {
  constructor(private readonly d: FsMultipartDeps) {}

  dirKey(t: ArtifactKey): string {
    return `multipart/${t.modelName}/${t.versionId}/${createHash('sha256').update(t.path).digest('hex').slice(0, 32)}`;
  }

  async begin(t: ArtifactTarget, partSizeBytes: number): Promise<MultipartHandle> {
    const found = await this.find(t);
    if (found) return found;
    const dir = this.d.fileFor(this.dirKey(t));
    await mkdir(dir, { recursive: true });
    const handle = { uploadId: randomBytes(16).toString('hex'), partSizeBytes };
    try {
      await writeFile(join(dir, 'plan.json'), JSON.stringify({ ...handle, path: t.path }), { flag: 'wx' });
      return handle;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return (await this.find(t))!; // a concurrent begin won
    }
  }

  async find(t: ArtifactKey): Promise<MultipartHandle | null> {
    try {
      const plan = JSON.parse(await readFile(join(this.d.fileFor(this.dirKey(t)), 'plan.json'), 'utf8')) as MultipartHandle;
      return { uploadId: plan.uploadId, partSizeBytes: plan.partSizeBytes };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async presignPart(t: ArtifactTarget, upload: MultipartHandle, partNumber: number, sizeBytes: number, ttlSeconds: number): Promise<PresignedRequest> {
    const key = `${this.dirKey(t)}/${upload.uploadId}/${partNumber}`;
    const expires = Math.floor(this.d.now().getTime() / 1000) + ttlSeconds;
    const sig = sign(this.d.secret, { method: 'PUT', key, expires, contentLength: sizeBytes, contentType: null });
    const query = new URLSearchParams({ expires: String(expires), len: String(sizeBytes), sig });
    return { url: `${this.d.publicUrl().replace(/\/+$/, '')}/artifacts/part/${keyToUrlPath(key)}?${query.toString()}`, method: 'PUT', headers: [], expiresAt: new Date(expires * 1000) };
  }

  async listParts(t: ArtifactKey, upload: MultipartHandle): Promise<StoredPart[]> {
    const dir = this.d.fileFor(`${this.dirKey(t)}/${upload.uploadId}`);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const parts: StoredPart[] = [];
    for (const name of names.filter((n) => /^[1-9][0-9]{0,4}$/.test(n))) {
      const file = join(dir, name);
      const info = await stat(file).catch(() => null);
      if (info) parts.push({ partNumber: Number(name), etag: partEtag(info), sizeBytes: await this.d.codec.plaintextSize(file, info.size) });
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async join(t: ArtifactTarget, upload: MultipartHandle, parts: readonly PartToJoin[], signal?: AbortSignal): Promise<FinalizeOutcome> {
    const stored = new Map((await this.listParts(t, upload)).map((p) => [p.partNumber, p]));
    for (const p of parts) {
      const s = stored.get(p.partNumber);
      if (!s || s.etag !== p.etag.replace(/"/g, '')) {
        return { ok: false, reason: `artifact "${t.path}": part ${p.partNumber} ${s ? 'was uploaded again since (its ETag differs)' : 'is not uploaded'}; upload it, then complete` };
      }
    }
    const dir = this.d.fileFor(`${this.dirKey(t)}/${upload.uploadId}`);
    const files = parts.map((p) => join(dir, String(p.partNumber)));
    const tmp = join(this.d.root, 'tmp', randomUUID());
    await mkdir(dirname(tmp), { recursive: true });
    const codec = this.d.codec;
    try {
      // Decrypted part by part and sealed again as one file, like a single upload: no plaintext reaches the disk.
      const joined = Readable.from((async function* () {
        for (const file of files) yield* (await codec.open(file)).stream(null, signal);
      })());
      const out = createWriteStream(tmp, { flags: 'wx' });
      await (signal ? pipeline(joined, codec.writer(t.sizeBytes), out, { signal }) : pipeline(joined, codec.writer(t.sizeBytes), out));
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof PlaintextLengthError) return { ok: false, reason: `artifact "${t.path}": its parts do not add up to the ${t.sizeBytes} bytes declared` };
      throw err;
    }
    const staging = this.d.fileFor(this.d.stagingKey(t));
    await mkdir(dirname(staging), { recursive: true });
    await rename(tmp, staging);
    await rm(this.d.fileFor(this.dirKey(t)), { recursive: true, force: true });
    return { ok: true };
  }

  async abort(t: ArtifactKey): Promise<void> {
    await rm(this.d.fileFor(this.dirKey(t)), { recursive: true, force: true });
  }
}

/** A part file's ETag: changes whenever the part is written again (a new file, a new inode and time). */
export function partEtag(info: { ino: number; mtimeMs: number; size: number }): string {
  return createHash('sha256').update(`${info.ino}:${info.mtimeMs}:${info.size}`).digest('hex').slice(0, 32);
}
