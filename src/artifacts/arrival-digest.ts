import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import type { ArtifactKey } from './multipart/multipart.port.js';
import type { Digest } from './encryption/artifact-file.js';

/** What an upload's plaintext hashed to as it arrived. */
export interface ArrivedBytes {
  sha256: string;
  size: number;
}

interface DigestRecord extends ArrivedBytes {
  key: string;
  /** The stored file the record is for: its inode, size on disk and modification time (ns). */
  ino: string;
  diskBytes: string;
  mtimeNs: string;
  mac: string;
}

/**
 * Digests of uploads taken while their bytes arrived (issue 13: completion need not read the file
 * again). Each is kept in `digests/<model>/<version>/<hash of the path>.json`, a folder no URL
 * names, bound to the one stored file it was taken of (inode, size on disk, modification time,
 * which renames keep and rewrites change) and authenticated with the store's signing secret.
 * A record that does not match the file in hand is ignored: finalize then reads the file, as it
 * always did. With encryption at rest, bytes altered on disk after their arrival still fail the
 * authentication of every later read (downloads); without it they are as unprotected as any
 * verified file.
 */
export class ArrivalDigests {
  constructor(
    private readonly root: string,
    private readonly secret: Buffer,
  ) {}

  /** A pass-through stream hashing what flows through it; `result()` once it has ended. */
  static hasher(): { stream: Transform; result: () => ArrivedBytes } {
    const hash = createHash('sha256');
    let size = 0;
    const stream = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    let sha256: string | null = null;
    return { stream, result: () => ({ sha256: (sha256 ??= hash.digest('hex')), size }) };
  }

  /** Records `arrived` for `file`, the stored upload of artifact `t` (written through tmp/ and renamed). */
  async record(t: ArtifactKey, file: string, arrived: ArrivedBytes): Promise<void> {
    const s = await stat(file, { bigint: true });
    const body = { key: keyOf(t), sha256: arrived.sha256, size: arrived.size, ino: String(s.ino), diskBytes: String(s.size), mtimeNs: String(s.mtimeNs) };
    const record: DigestRecord = { ...body, mac: this.mac(body) };
    const path = this.pathFor(t);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, JSON.stringify(record));
    await rename(tmp, path);
  }

  /** The digest recorded for `file` (the artifact's upload, wherever a rename has taken it), or null. */
  async lookup(t: ArtifactKey, file: string): Promise<Digest | null> {
    let record: DigestRecord;
    try {
      record = JSON.parse(await readFile(this.pathFor(t), 'utf8')) as DigestRecord;
    } catch {
      return null;
    }
    const s = await stat(file, { bigint: true }).catch(() => null);
    if (s === null || record.key !== keyOf(t) || record.ino !== String(s.ino) || record.diskBytes !== String(s.size) || record.mtimeNs !== String(s.mtimeNs)) return null;
    const { mac, ...body } = record;
    const expected = Buffer.from(this.mac(body), 'hex');
    const given = Buffer.from(String(mac), 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    return { sha256: record.sha256, size: record.size, damaged: null };
  }

  async forget(t: ArtifactKey): Promise<void> {
    await rm(this.pathFor(t), { force: true });
  }

  /** Every record of a version (its staged bytes were removed). */
  async forgetVersion(modelName: string, versionId: string): Promise<void> {
    await rm(join(this.root, 'digests', modelName, versionId), { recursive: true, force: true });
  }

  private pathFor(t: ArtifactKey): string {
    if ([t.modelName, t.versionId].some((s) => s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\\'))) throw new Error('not an artifact key');
    return join(this.root, 'digests', t.modelName, t.versionId, `${createHash('sha256').update(t.path).digest('hex').slice(0, 32)}.json`);
  }

  private mac(body: Omit<DigestRecord, 'mac'>): string {
    return createHmac('sha256', this.secret).update('arrival-digest\n').update(JSON.stringify(body)).digest('hex');
  }
}

function keyOf(t: ArtifactKey): string {
  return `${t.modelName}/${t.versionId}/${t.path}`;
}
