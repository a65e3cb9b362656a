import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashFile } from '../../src/client/streams.js';

/** The client's one read of a file: the whole file's SHA-256 and each part's, whether parts are smaller or larger than its 1 MiB reads. */
describe('hashFile with a part size', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hash-parts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bytes = randomBytes(3 * 1024 * 1024 + 5);
  const file = join(dir, 'f.bin');
  writeFileSync(file, bytes);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const expected = (size: number) => Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => sha(bytes.subarray(i * size, (i + 1) * size)));

  it.each([
    ['smaller than a read', 100_000],
    ['larger than a read, not a multiple of it', 1.5 * 1024 * 1024 + 3],
    ['dividing the file but its last 5 bytes', 1024 * 1024],
    ['larger than the file (one part)', 8 * 1024 * 1024],
  ])('part size %s', async (_name, size) => {
    const got = await hashFile(file, undefined, size);
    expect(got.sizeBytes).toBe(bytes.length);
    expect(got.sha256).toBe(sha(bytes));
    expect(got.partSha256).toEqual(expected(size));
  });

  it('gives no part hashes without a part size, and a file that is an exact number of parts has no empty last part', async () => {
    expect((await hashFile(file)).partSha256).toBeNull();
    const exact = join(dir, 'exact.bin');
    writeFileSync(exact, bytes.subarray(0, 2 * 65536));
    expect((await hashFile(exact, undefined, 65536)).partSha256).toEqual([sha(bytes.subarray(0, 65536)), sha(bytes.subarray(65536, 131072))]);
  });
});
