import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { type Readable, Transform, pipeline } from 'node:stream';
import {
  ArtifactIntegrityError, PlaintextLengthError, HEADER_BYTES, TAG_BYTES, chunkCount, hasMagic, keyIdOf, openingStream, parseHeader, sealedFileBytes, sealingStream,
} from './chunked-format.js';

/**
 * How the filesystem store writes and reads artifact bytes: sealed with the master key
 * (REGISTRY_ENCRYPTION_KEY_FILE, see docs/operations.md "Encryption at rest"), or, with no key
 * (REGISTRY_ENCRYPTION=off, a benchmark ceiling only), as they are.
 */
export class ArtifactCodec {
  private readonly keyId: Buffer | null;
  /** Once every file from before encryption has been sealed (legacy-migration.ts), a plaintext file is refused. */
  private plaintextRefused = false;

  constructor(private readonly masterKey: Buffer | null) {
    this.keyId = masterKey === null ? null : keyIdOf(masterKey);
  }

  /** From now on a file without the header (plaintext) is refused: with encryption on, none is left after the migration. */
  refusePlaintext(): void {
    if (this.masterKey !== null) this.plaintextRefused = true;
  }

  get encrypts(): boolean {
    return this.masterKey !== null;
  }

  /** The stream to pipe an upload of exactly `plaintextBytes` bytes through before it is written. */
  writer(plaintextBytes: number): Transform {
    return this.masterKey === null ? exactLength(plaintextBytes) : sealingStream(this.masterKey, plaintextBytes);
  }

  /**
   * Opens a stored artifact file for reading its plaintext. A file with the format's magic is
   * decrypted (and refused when its key id, size or chunks do not check out); one without it is
   * read as it is with encryption off, and refused with it once the files from before encryption
   * were sealed (legacy-migration.ts): it can only be a file put there behind the registry's back.
   * Throws ENOENT errors as they are.
   */
  async open(file: string): Promise<ArtifactFile> {
    const handle = await open(file, 'r');
    let start: Buffer;
    let diskBytes: number;
    try {
      diskBytes = (await handle.stat()).size;
      start = Buffer.alloc(Math.min(HEADER_BYTES, diskBytes));
      await handle.read(start, 0, start.length, 0);
    } finally {
      await handle.close();
    }
    if (!hasMagic(start)) {
      if (this.plaintextRefused) throw new ArtifactIntegrityError('the file is not encrypted (no header): it was not written by this registry');
      return plainFile(file, diskBytes);
    }
    const header = parseHeader(start);
    if (this.masterKey === null) throw new ArtifactIntegrityError('the file is encrypted, but encryption is off (REGISTRY_ENCRYPTION=off)');
    if (!header.keyId.equals(this.keyId!)) {
      throw new ArtifactIntegrityError(`the file is encrypted under another key (key id ${header.keyId.toString('hex')}, this server's is ${this.keyId!.toString('hex')})`);
    }
    if (diskBytes !== sealedFileBytes(header.plaintextBytes, header.chunkBytes)) {
      throw new ArtifactIntegrityError(`the encrypted file has ${diskBytes} bytes, ${sealedFileBytes(header.plaintextBytes, header.chunkBytes)} were expected (truncated or extended)`);
    }
    const masterKey = this.masterKey;
    return {
      size: header.plaintextBytes,
      encrypted: true,
      stream(range = null, signal) {
        const sealed = header.chunkBytes + TAG_BYTES;
        const startByte = range?.start ?? 0;
        const endByte = range?.end ?? header.plaintextBytes - 1;
        const first = Math.floor(startByte / header.chunkBytes);
        const last = header.plaintextBytes === 0 ? 0 : Math.min(Math.floor(endByte / header.chunkBytes), chunkCount(header.plaintextBytes, header.chunkBytes) - 1);
        const from = HEADER_BYTES + first * sealed;
        const to = Math.min(HEADER_BYTES + (last + 1) * sealed, diskBytes) - 1;
        const raw = createReadStream(file, { start: from, end: to, highWaterMark: 16 * sealed, ...(signal ? { signal } : {}) });
        const plain = openingStream(masterKey, header, first, last - first + 1, startByte - first * header.chunkBytes, Math.max(0, endByte - startByte + 1));
        // 16 sealed chunks per read (a read per chunk costs more than the decryption); either side failing ends both.
        return pipeline(raw, plain, () => {});
      },
    };
  }

  /**
   * Size and sha256 of the file's plaintext (decrypted as it is read), or null when there is no
   * file. A file that fails to decrypt (altered, truncated, another key, plaintext where none may
   * be) gets `damaged`: finalize reports it as a mismatch, never as verified.
   */
  async digest(file: string, opts: { signal?: AbortSignal; onProgress?: (bytes: number) => void } = {}): Promise<Digest | null> {
    const hash = createHash('sha256');
    let size = 0;
    try {
      const opened = await this.open(file);
      for await (const chunk of opened.stream(null, opts.signal)) {
        size += (chunk as Buffer).length;
        hash.update(chunk as Buffer);
        opts.onProgress?.(size);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      if (err instanceof ArtifactIntegrityError) return { size, sha256: '', damaged: err.message };
      throw err;
    }
    return { size, sha256: hash.digest('hex'), damaged: null };
  }

  /** The plaintext size of a stored file (staged uploads are listed by it); the disk size if it cannot tell. */
  async plaintextSize(file: string, diskBytes: number): Promise<number> {
    try {
      return (await this.open(file)).size;
    } catch {
      return diskBytes;
    }
  }
}

export interface Digest {
  size: number;
  sha256: string;
  /** Why the stored bytes could not be decrypted, or null. */
  damaged: string | null;
}

export interface ArtifactFile {
  /** Plaintext bytes. */
  size: number;
  encrypted: boolean;
  /** The plaintext, or the inclusive byte range of it; fails (ArtifactIntegrityError) rather than pass bytes that are not authentic. */
  stream(range?: { start: number; end: number } | null, signal?: AbortSignal): Readable;
}

function plainFile(file: string, size: number): ArtifactFile {
  return {
    size,
    encrypted: false,
    stream: (range = null, signal) => createReadStream(file, { ...(range ? { start: range.start, end: range.end } : {}), ...(signal ? { signal } : {}) }),
  };
}

/** Passes bytes on as they are, failing with PlaintextLengthError unless there are exactly `bytes`. */
function exactLength(bytes: number): Transform {
  let total = 0;
  return new Transform({
    transform(data: Buffer, _enc, done) {
      total += data.length;
      done(total > bytes ? new PlaintextLengthError(`body exceeds the declared ${bytes} bytes`) : null, data);
    },
    flush(done) {
      done(total !== bytes ? new PlaintextLengthError(`body has ${total} bytes, ${bytes} were declared`) : null);
    },
  });
}
