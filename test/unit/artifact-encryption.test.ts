import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactCodec } from '../../src/artifacts/encryption/artifact-file.js';
import {
  ArtifactIntegrityError, CHUNK_BYTES, HEADER_BYTES, PlaintextLengthError, TAG_BYTES, chunkCount, fileKey, openChunk, openingStream, parseHeader, sealedFileBytes, sealingStream,
} from '../../src/artifacts/encryption/chunked-format.js';
import { EncryptionKeyError, loadOrCreateEncryptionKey } from '../../src/artifacts/encryption/encryption-key.js';

/** The embedded store's encrypted file format (src/artifacts/encryption/chunked-format.ts), on real files. */
const dir = mkdtempSync(join(tmpdir(), 'artifact-crypto-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Seals `plain` through the streaming writer, fed in pieces of `piece` bytes, into a file. */
async function sealToFile(key: Buffer, plain: Buffer, piece = 10_000, chunkBytes = CHUNK_BYTES): Promise<string> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < plain.length; i += piece) pieces.push(plain.subarray(i, i + piece));
  const sealed = await collect(Readable.from(pieces).pipe(sealingStream(key, plain.length, chunkBytes)));
  const file = join(dir, `f${n++}`);
  await writeFile(file, sealed);
  return file;
}

const C = CHUNK_BYTES;
const sizes = [0, 1, C - 1, C, C + 1, 2 * C, 3 * C + 5];

describe('chunked AES-256-GCM artifact format', () => {
  const key = randomBytes(32);
  const codec = new ArtifactCodec(key);

  it.each(sizes)('round-trips %i bytes (chunk boundaries), with the exact sealed size and no plaintext in the file', async (size) => {
    const plain = randomBytes(size);
    const file = await sealToFile(key, plain, 7_777);
    const disk = await readFile(file);
    expect(disk.length).toBe(sealedFileBytes(size));
    expect(disk.length).toBe(HEADER_BYTES + size + TAG_BYTES * chunkCount(size));
    if (size >= 64) expect(disk.includes(plain.subarray(0, 64))).toBe(false);
    const opened = await codec.open(file);
    expect(opened).toMatchObject({ size, encrypted: true });
    expect((await collect(opened.stream())).equals(plain)).toBe(true);
  });

  it('reads any byte range by decrypting only the chunks it covers', async () => {
    const plain = randomBytes(3 * C + 5);
    const opened = await codec.open(await sealToFile(key, plain));
    const ranges: [number, number][] = [
      [0, 0], [0, C - 1], [C - 1, C], [C, C], [C + 1, 2 * C - 1], [100, 3 * C + 4], [3 * C, 3 * C + 4], [3 * C + 4, 3 * C + 4], [5, 2 * C + 17],
    ];
    for (const [start, end] of ranges) {
      const got = await collect(opened.stream({ start, end }));
      expect(got.equals(plain.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
  });

  it('is sealed under a fresh file key and nonce prefix each time: the same plaintext never gives the same bytes', async () => {
    const plain = Buffer.alloc(1000, 7);
    const a = await readFile(await sealToFile(key, plain));
    const b = await readFile(await sealToFile(key, plain));
    expect(a.subarray(HEADER_BYTES).equals(b.subarray(HEADER_BYTES))).toBe(false);
    expect(parseHeader(a).salt.equals(parseHeader(b).salt)).toBe(false);
  });

  it('fails on an altered byte in a chunk, serving nothing of that chunk; a range before it still reads', async () => {
    const plain = randomBytes(2 * C + 100);
    const file = await sealToFile(key, plain);
    const disk = await readFile(file);
    disk[HEADER_BYTES + (C + TAG_BYTES) + 10]! ^= 1; // chunk 1
    await writeFile(file, disk);
    const opened = await codec.open(file);
    const got: Buffer[] = [];
    const err = await (async () => {
      for await (const c of opened.stream()) got.push(c as Buffer);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactIntegrityError);
    expect((err as Error).message).toMatch(/chunk 1 failed authentication/);
    // At most chunk 0 got out (it is authentic), and only as it is: nothing of chunk 1.
    const out = Buffer.concat(got);
    expect(out.length).toBeLessThanOrEqual(C);
    expect(out.equals(plain.subarray(0, out.length))).toBe(true);
    expect((await collect(opened.stream({ start: 0, end: C - 1 }))).equals(plain.subarray(0, C))).toBe(true);
    await expect(collect(opened.stream({ start: C + 5, end: C + 6 }))).rejects.toThrow(ArtifactIntegrityError);
  });

  it('fails on reordered chunks', async () => {
    const plain = randomBytes(3 * C);
    const file = await sealToFile(key, plain);
    const disk = await readFile(file);
    const s = C + TAG_BYTES;
    const c0 = Buffer.from(disk.subarray(HEADER_BYTES, HEADER_BYTES + s));
    disk.copy(disk, HEADER_BYTES, HEADER_BYTES + s, HEADER_BYTES + 2 * s);
    c0.copy(disk, HEADER_BYTES + s);
    await writeFile(file, disk);
    await expect(collect((await codec.open(file)).stream())).rejects.toThrow(/chunk 0 failed authentication/);
  });

  it('refuses a truncated or extended file before reading, and detects a dropped last chunk in the stream itself', async () => {
    const plain = randomBytes(2 * C + 3);
    const file = await sealToFile(key, plain);
    const disk = await readFile(file);
    for (const changed of [disk.subarray(0, disk.length - 1), disk.subarray(0, disk.length - (3 + TAG_BYTES)), Buffer.concat([disk, Buffer.alloc(1)])]) {
      await writeFile(file, changed);
      await expect(codec.open(file)).rejects.toThrow(/truncated or extended/);
    }
    // The stream alone (the size check aside): the last chunk missing, or a non-final chunk passed off as final.
    const header = parseHeader(disk);
    const withoutLast = disk.subarray(HEADER_BYTES, HEADER_BYTES + 2 * (C + TAG_BYTES));
    await expect(collect(Readable.from([withoutLast]).pipe(openingStream(key, header, 0, 3, 0, plain.length)))).rejects.toThrow(/chunk 2 is cut short/);
    const k = fileKey(key, header);
    const chunk1 = disk.subarray(HEADER_BYTES + C + TAG_BYTES, HEADER_BYTES + 2 * (C + TAG_BYTES));
    expect(openChunk(k, header, 1, false, chunk1).equals(plain.subarray(C, 2 * C))).toBe(true);
    expect(() => openChunk(k, header, 1, true, chunk1)).toThrow(ArtifactIntegrityError);
  });

  it('fails when the header is edited (length, salt, nonce prefix): every chunk authenticates it', async () => {
    const plain = randomBytes(C + 10);
    const file = await sealToFile(key, plain);
    const disk = await readFile(file);
    for (const offset of [40, 66]) {
      const edited = Buffer.from(disk);
      edited[offset]! ^= 0x80;
      await writeFile(file, edited);
      await expect(collect((await codec.open(file)).stream())).rejects.toThrow(ArtifactIntegrityError);
    }
    const longer = Buffer.from(disk);
    longer.writeBigUInt64BE(BigInt(plain.length - 1), 16);
    await writeFile(file, longer);
    await expect(codec.open(file)).rejects.toThrow(/truncated or extended/);
  });

  it('names a wrong key (another key id), and refuses an encrypted file when encryption is off', async () => {
    const file = await sealToFile(key, randomBytes(500));
    await expect(new ArtifactCodec(randomBytes(32)).open(file)).rejects.toThrow(/encrypted under another key \(key id [0-9a-f]{16}/);
    await expect(new ArtifactCodec(null).open(file)).rejects.toThrow(/encryption is off/);
  });

  it('reads a plaintext file from before encryption (no header magic) as it is', async () => {
    const plain = Buffer.from('weights written before encryption was turned on');
    const file = join(dir, 'legacy.bin');
    await writeFile(file, plain);
    const opened = await codec.open(file);
    expect(opened).toMatchObject({ size: plain.length, encrypted: false });
    expect((await collect(opened.stream({ start: 8, end: 14 }))).toString()).toBe('written');
  });

  it('fails a body of another length than the header was written for', async () => {
    await expect(collect(Readable.from([randomBytes(99)]).pipe(sealingStream(key, 100)))).rejects.toThrow(PlaintextLengthError);
    await expect(collect(Readable.from([randomBytes(101)]).pipe(sealingStream(key, 100)))).rejects.toThrow(PlaintextLengthError);
    await expect(collect(Readable.from([randomBytes(101)]).pipe(new ArtifactCodec(null).writer(100)))).rejects.toThrow(PlaintextLengthError);
  });
});

describe('the artifact encryption key file', () => {
  it('is created with mode 0600 holding 64 hex characters, and read back unchanged', async () => {
    const file = join(dir, 'keys', 'artifact-encryption.key');
    const key = await loadOrCreateEncryptionKey(file, join(dir, 'no-artifacts'));
    expect(key.length).toBe(32);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe(key.toString('hex'));
    expect((await loadOrCreateEncryptionKey(file, join(dir, 'no-artifacts'))).equals(key)).toBe(true);
  });

  it('is not created anew when the artifact folder already holds encrypted artifacts (a data directory restored without its key)', async () => {
    const root = join(dir, `restored-${n++}`);
    await mkdir(join(root, 'models', 'iris', 'v1'), { recursive: true });
    await writeFile(join(root, 'models', 'iris', 'v1', 'plain.bin'), 'from before encryption');
    const fresh = join(root, '..', `fresh-${n++}.key`);
    expect((await loadOrCreateEncryptionKey(fresh, root)).length).toBe(32); // plaintext only: a key may be made
    const sealed = await sealToFile(randomBytes(32), randomBytes(10));
    await writeFile(join(root, 'models', 'iris', 'v1', 'model.bin'), await readFile(sealed));
    const missing = join(root, '..', `missing-${n++}.key`);
    const err = await loadOrCreateEncryptionKey(missing, root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EncryptionKeyError);
    expect((err as Error).message).toContain(`${missing} does not exist, but ${root} holds encrypted artifacts`);
    await expect(stat(missing)).rejects.toThrow(); // and none was made
    const marked = join(dir, `marked-${n++}`);
    await mkdir(marked);
    await writeFile(join(marked, '.encryption-v1'), '');
    await expect(loadOrCreateEncryptionKey(join(dir, `k-${n++}.key`), marked)).rejects.toThrow(EncryptionKeyError);
  });

  it.each([['empty', ''], ['not hex', 'z'.repeat(64)], ['too short', 'ab'.repeat(16)]])('refuses a damaged key file (%s), naming it', async (_w, content) => {
    const file = join(dir, `damaged-${n++}.key`);
    await writeFile(file, content);
    const err = await loadOrCreateEncryptionKey(file, join(dir, 'no-artifacts')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EncryptionKeyError);
    expect((err as Error).message).toContain(`${file} is damaged`);
    expect(await readFile(file, 'utf8')).toBe(content); // never replaced by a new key
  });
});
