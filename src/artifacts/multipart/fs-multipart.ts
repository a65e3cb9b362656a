import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactTarget, FinalizeOutcome, PresignedRequest } from '../artifact.store.js';
import { ArrivalDigests } from '../arrival-digest.js';
import type { ArtifactCodec } from '../encryption/artifact-file.js';
import { PlaintextLengthError } from '../encryption/chunked-format.js';
import { keyToUrlPath, sign } from '../signed-url.js';
import type { ArtifactKey, MultipartArtifacts, MultipartHandle, PartToJoin, StoredPart } from './multipart.port.js';
import { PART_SHA256, partSha256Base64 } from './part-checksums.js';

export interface FsMultipartDeps {
  root: string;
  fileFor: (key: string) => string;
  /** The staging key of an artifact (`uploads/…`): where the joined file goes. */
  stagingKey: (t: ArtifactKey) => string;
  secret: Buffer;
  publicUrl: () => string;
  codec: ArtifactCodec;
  now: () => Date;
  /** Where the joined file's digest goes, so that finalize need not read it again. */
  arrivals: ArrivalDigests;
}

/** A part's key: `multipart/<model>/<version>/<artifact hash>/<uploadId>/<partNumber>`. */
export const PART_KEY = /^multipart\/([^/]+)\/([^/]+)\/([0-9a-f]{32})\/([0-9a-f]{32})\/([1-9][0-9]{0,4})$/;

/**
 * Multipart uploads on the embedded store, in the plan shape S3 has, so clients have one code path.
 * Parts are PUT to `/artifacts/part/<key>` (fs-multipart.http.ts) and sealed as they stream in,
 * like single uploads (encryption at rest), into `multipart/<model>/<version>/<h>/<uploadId>/<n>`,
 * where `<h>` names the artifact by a hash of its path and `plan.json` beside holds the upload id,
 * part size and the parts' SHA-256 when the client declared them (each then signed into its part's
 * URL and checked as the part streams in). `join` decrypts the parts in order (checking each
 * against its recorded SHA-256) and seals them again as one file into the artifact's staging key;
 * `finalize` then verifies it as it does a single upload.
 */
export class FsMultipart implements MultipartArtifacts {
  constructor(private readonly d: FsMultipartDeps) {}

  dirKey(t: ArtifactKey): string {
    return `multipart/${t.modelName}/${t.versionId}/${createHash('sha256').update(t.path).digest('hex').slice(0, 32)}`;
  }

  async begin(t: ArtifactTarget, partSizeBytes: number, partSha256?: readonly string[] | null): Promise<MultipartHandle> {
    const found = await this.find(t);
    if (found) return found;
    const dir = this.d.fileFor(this.dirKey(t));
    await mkdir(dir, { recursive: true });
    const handle: MultipartHandle = { uploadId: randomBytes(16).toString('hex'), partSizeBytes, ...(partSha256?.length ? { partSha256: [...partSha256] } : {}) };
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
      const hashes = recordedHashes(plan.partSha256);
      return { uploadId: plan.uploadId, partSizeBytes: plan.partSizeBytes, ...(hashes ? { partSha256: hashes } : {}) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async presignPart(t: ArtifactTarget, upload: MultipartHandle, partNumber: number, sizeBytes: number, ttlSeconds: number): Promise<PresignedRequest> {
    const key = `${this.dirKey(t)}/${upload.uploadId}/${partNumber}`;
    const expires = Math.floor(this.d.now().getTime() / 1000) + ttlSeconds;
    // The part's SHA-256, when recorded, is signed too (`sha`): the part route refuses other bytes.
    const sha = upload.partSha256?.[partNumber - 1] ?? null;
    const sig = sign(this.d.secret, { method: 'PUT', key, expires, contentLength: sizeBytes, contentType: null, sha256: sha });
    const query = new URLSearchParams({ expires: String(expires), len: String(sizeBytes), ...(sha ? { sha } : {}), sig });
    // The same header S3 signs, so a client sends what the URL lists whichever the store.
    const headers = sha ? [{ name: 'x-amz-checksum-sha256', value: partSha256Base64(sha) }] : [];
    return { url: `${this.d.publicUrl().replace(/\/+$/, '')}/artifacts/part/${keyToUrlPath(key)}?${query.toString()}`, method: 'PUT', headers, expiresAt: new Date(expires * 1000) };
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
    const hashes = upload.partSha256 ?? null;
    try {
      // Decrypted part by part and sealed again as one file, like a single upload: no plaintext reaches
      // the disk. Each part is hashed on the way when its SHA-256 was recorded.
      const joined = Readable.from((async function* () {
        for (const [i, file] of files.entries()) {
          const h = hashes ? createHash('sha256') : null;
          for await (const chunk of (await codec.open(file)).stream(null, signal) as AsyncIterable<Buffer>) {
            h?.update(chunk);
            yield chunk;
          }
          const want = hashes?.[parts[i]!.partNumber - 1];
          if (h && want && h.digest('hex') !== want) throw new PartHashError(parts[i]!.partNumber);
        }
      })());
      const out = createWriteStream(tmp, { flags: 'wx' });
      // The whole file is hashed as it is written: finalize takes that digest instead of reading it again.
      const whole = ArrivalDigests.hasher();
      await (signal ? pipeline(joined, whole.stream, codec.writer(t.sizeBytes), out, { signal }) : pipeline(joined, whole.stream, codec.writer(t.sizeBytes), out));
      await this.d.arrivals.record(t, tmp, whole.result());
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof PlaintextLengthError) return { ok: false, reason: `artifact "${t.path}": its parts do not add up to the ${t.sizeBytes} bytes declared` };
      if (err instanceof PartHashError) return { ok: false, reason: `artifact "${t.path}": part ${err.partNumber} does not have the SHA-256 declared for it; upload it again, then complete` };
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

class PartHashError extends Error {
  constructor(readonly partNumber: number) {
    super(`part ${partNumber} has another SHA-256 than recorded`);
  }
}

/** The part hashes of a plan.json, when it records valid ones. */
function recordedHashes(v: unknown): string[] | null {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && PART_SHA256.test(x)) ? (v as string[]) : null;
}

/** A part file's ETag: changes whenever the part is written again (a new file, a new inode and time). */
export function partEtag(info: { ino: number; mtimeMs: number; size: number }): string {
  return createHash('sha256').update(`${info.ino}:${info.mtimeMs}:${info.size}`).digest('hex').slice(0, 32);
}
