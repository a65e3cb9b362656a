import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compositeMatches, compositeSha256, partSha256Base64 } from '../../src/artifacts/multipart/part-checksums.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest();

/** S3's forms of part checksums: base64 of a part's digest, and the composite of a joined object. */
describe('part checksums', () => {
  const parts = [randomBytes(1000), randomBytes(1000), randomBytes(10)];
  const hex = parts.map((p) => sha(p).toString('hex'));

  it('gives a part digest as S3 takes it (base64 of the 32 bytes)', () => {
    expect(partSha256Base64(hex[0]!)).toBe(sha(parts[0]!).toString('base64'));
    expect(Buffer.from(partSha256Base64(hex[0]!), 'base64')).toHaveLength(32);
  });

  it('makes the composite from the binary part digests in order, with the part count, never the whole object\'s SHA-256', () => {
    const composite = compositeSha256(hex);
    expect(composite).toBe(`${sha(Buffer.concat(parts.map(sha))).toString('base64')}-3`);
    expect(composite.split('-')[0]).not.toBe(sha(Buffer.concat(parts)).toString('base64'));
    expect(compositeSha256([hex[1]!, hex[0]!, hex[2]!])).not.toBe(composite);
  });

  it('matches a reported composite with or without its part count, never with another count or digest', () => {
    const composite = compositeSha256(hex);
    const digest = composite.split('-')[0]!;
    expect(compositeMatches(composite, composite)).toBe(true);
    expect(compositeMatches(digest, composite)).toBe(true);
    expect(compositeMatches(`${digest}-4`, composite)).toBe(false);
    expect(compositeMatches(compositeSha256(hex.slice(0, 2)), composite)).toBe(false);
  });
});
