import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * The embedded store's encrypted file format (version 1): a 72-byte header, then the plaintext in
 * 64 KiB chunks, each sealed with AES-256-GCM (ciphertext followed by its 16-byte tag).
 *
 *   0  magic "\x89MRENC\r\n"   8  version (1)   9  reserved (3 zero bytes)
 *  12  chunk size (u32 BE)     16  plaintext length (u64 BE)
 *  24  key id (8 bytes: which master key; a wrong key is named, not mistaken for tampering)
 *  32  salt (32 random bytes: the file key is HKDF-SHA256(master key, salt))
 *  64  nonce prefix (7 random bytes)   71  reserved (zero)
 *
 * Chunk i's nonce is prefix ‖ i (u32 BE) ‖ final flag (1 for the last chunk, else 0), and every
 * chunk authenticates the whole header as additional data (the STREAM construction): an altered
 * byte, a swapped or reordered chunk, a dropped last chunk, an edited length or a wrong key each
 * fail to decrypt. A range reads only the chunks it covers. Sizes, sha256, ranges and ETags the
 * registry reports are always of the plaintext.
 */
export const MAGIC = Buffer.from('\x89MRENC\r\n', 'latin1');
export const HEADER_BYTES = 72;
export const CHUNK_BYTES = 64 * 1024;
export const TAG_BYTES = 16;
const VERSION = 1;
const FILE_KEY_INFO = 'model-registry artifact file key v1';

/** The file could not be decrypted: altered, truncated, reordered, or sealed under another key. */
export class ArtifactIntegrityError extends Error {}

export interface Header {
  chunkBytes: number;
  plaintextBytes: number;
  keyId: Buffer;
  salt: Buffer;
  noncePrefix: Buffer;
  raw: Buffer;
}

/** The 8-byte id of a master key, kept in each file's header (derived, never the key itself). */
export function keyIdOf(masterKey: Buffer): Buffer {
  return createHmac('sha256', masterKey).update('model-registry artifact key id').digest().subarray(0, 8);
}

/** Chunks a plaintext of this length is sealed in (an empty one still has one, final, chunk). */
export function chunkCount(plaintextBytes: number, chunkBytes = CHUNK_BYTES): number {
  return Math.max(1, Math.ceil(plaintextBytes / chunkBytes));
}

/** The exact size of the encrypted file for a plaintext of this length. */
export function sealedFileBytes(plaintextBytes: number, chunkBytes = CHUNK_BYTES): number {
  return HEADER_BYTES + plaintextBytes + TAG_BYTES * chunkCount(plaintextBytes, chunkBytes);
}

export function hasMagic(start: Buffer): boolean {
  return start.length >= MAGIC.length && start.subarray(0, MAGIC.length).equals(MAGIC);
}

export function newHeader(masterKey: Buffer, plaintextBytes: number, chunkBytes = CHUNK_BYTES): Header {
  const raw = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(raw, 0);
  raw.writeUInt8(VERSION, 8);
  raw.writeUInt32BE(chunkBytes, 12);
  raw.writeBigUInt64BE(BigInt(plaintextBytes), 16);
  keyIdOf(masterKey).copy(raw, 24);
  randomBytes(32).copy(raw, 32);
  randomBytes(7).copy(raw, 64);
  return parseHeader(raw);
}

/** Reads a header (the caller checked the magic); a malformed one is an integrity error. */
export function parseHeader(raw: Buffer): Header {
  if (raw.length < HEADER_BYTES || !hasMagic(raw)) throw new ArtifactIntegrityError('not an encrypted artifact (no header)');
  if (raw.readUInt8(8) !== VERSION) throw new ArtifactIntegrityError(`unknown encrypted format version ${raw.readUInt8(8)}`);
  const chunkBytes = raw.readUInt32BE(12);
  const length = raw.readBigUInt64BE(16);
  if (chunkBytes < 16 || chunkBytes > 16 * 1024 * 1024 || length > BigInt(Number.MAX_SAFE_INTEGER)) throw new ArtifactIntegrityError('damaged header');
  const h = Buffer.from(raw.subarray(0, HEADER_BYTES));
  return { chunkBytes, plaintextBytes: Number(length), keyId: h.subarray(24, 32), salt: h.subarray(32, 64), noncePrefix: h.subarray(64, 71), raw: h };
}

export function fileKey(masterKey: Buffer, header: Header): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, header.salt, FILE_KEY_INFO, 32));
}

function nonce(header: Header, index: number, final: boolean): Buffer {
  const n = Buffer.alloc(12);
  header.noncePrefix.copy(n, 0);
  n.writeUInt32BE(index, 7);
  n.writeUInt8(final ? 1 : 0, 11);
  return n;
}

export function sealChunk(key: Buffer, header: Header, index: number, final: boolean, plain: Buffer): Buffer {
  const c = createCipheriv('aes-256-gcm', key, nonce(header, index, final));
  c.setAAD(header.raw);
  const body = c.update(plain);
  c.final();
  return Buffer.concat([body, c.getAuthTag()]);
}

/** Decrypts and authenticates one sealed chunk; nothing of it is returned unless it is authentic. */
export function openChunk(key: Buffer, header: Header, index: number, final: boolean, sealed: Buffer): Buffer {
  if (sealed.length < TAG_BYTES) throw new ArtifactIntegrityError(`chunk ${index} is cut short`);
  const d = createDecipheriv('aes-256-gcm', key, nonce(header, index, final));
  d.setAAD(header.raw);
  d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const body = d.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    d.final();
  } catch {
    throw new ArtifactIntegrityError(`chunk ${index} failed authentication (altered, reordered or truncated ciphertext)`);
  }
  return body;
}

/** The plaintext did not have the length the header was written for. */
export class PlaintextLengthError extends Error {}

/**
 * Encrypts a plaintext stream of exactly `plaintextBytes` bytes into the format above, chunk by
 * chunk as it arrives (nothing plaintext is buffered beyond one chunk). A stream of another length
 * fails with PlaintextLengthError.
 */
export function sealingStream(masterKey: Buffer, plaintextBytes: number, chunkBytes = CHUNK_BYTES): Transform {
  const header = newHeader(masterKey, plaintextBytes, chunkBytes);
  const key = fileKey(masterKey, header);
  const last = chunkCount(plaintextBytes, chunkBytes) - 1;
  const pending = Buffer.alloc(chunkBytes);
  let filled = 0;
  let index = 0;
  let total = 0;
  let headerSent = false;
  const emitHeader = (t: Transform): void => {
    if (!headerSent) t.push(header.raw);
    headerSent = true;
  };
  return new Transform({
    transform(data: Buffer, _enc, done: TransformCallback) {
      total += data.length;
      if (total > plaintextBytes) return done(new PlaintextLengthError(`body exceeds the declared ${plaintextBytes} bytes`));
      emitHeader(this);
      let at = 0;
      while (at < data.length) {
        const n = Math.min(chunkBytes - filled, data.length - at);
        data.copy(pending, filled, at, at + n);
        filled += n;
        at += n;
        // A full chunk is sealed at once unless it is the last one (sealed at the end, flagged final).
        if (filled === chunkBytes && index < last) {
          this.push(sealChunk(key, header, index++, false, pending));
          filled = 0;
        }
      }
      done();
    },
    flush(done: TransformCallback) {
      if (total !== plaintextBytes) return done(new PlaintextLengthError(`body has ${total} bytes, ${plaintextBytes} were declared`));
      emitHeader(this);
      this.push(sealChunk(key, header, index, true, pending.subarray(0, filled)));
      done();
    },
  });
}

/**
 * Decrypts `count` sealed chunks from chunk `first` on (their bytes, in order, as read from the
 * file) and passes on their plaintext from byte `skip`, `take` bytes in all. A chunk that fails
 * authentication, or input that ends early, fails the stream before any of that chunk's bytes pass.
 */
export function openingStream(masterKey: Buffer, header: Header, first: number, count: number, skip: number, take: number): Transform {
  const key = fileKey(masterKey, header);
  const sealedChunk = header.chunkBytes + TAG_BYTES;
  const lastOfFile = chunkCount(header.plaintextBytes, header.chunkBytes) - 1;
  let index = first;
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let toSkip = skip;
  let left = take;
  const emit = (t: Transform, sealed: Buffer): void => {
    if (index >= first + count) throw new ArtifactIntegrityError('the encrypted file is longer than its header says');
    let plain = openChunk(key, header, index, index === lastOfFile, sealed);
    index++;
    if (toSkip > 0) {
      const s = Math.min(toSkip, plain.length);
      plain = plain.subarray(s);
      toSkip -= s;
    }
    if (plain.length > left) plain = plain.subarray(0, left);
    left -= plain.length;
    if (plain.length > 0) t.push(plain);
  };
  return new Transform({
    transform(data: Buffer, _enc, done: TransformCallback) {
      try {
        buffered.push(data);
        bufferedBytes += data.length;
        if (bufferedBytes < sealedChunk) return done();
        let all = buffered.length === 1 ? buffered[0]! : Buffer.concat(buffered, bufferedBytes);
        while (all.length >= sealedChunk) {
          emit(this, all.subarray(0, sealedChunk));
          all = all.subarray(sealedChunk);
        }
        buffered = all.length > 0 ? [all] : [];
        bufferedBytes = all.length;
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        if (bufferedBytes > 0 || index < first + count) emit(this, Buffer.concat(buffered, bufferedBytes));
        if (index !== first + count || left > 0) throw new ArtifactIntegrityError('the encrypted file ends early');
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
}
