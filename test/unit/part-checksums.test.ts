import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { partSha256Base64 } from '../../src/artifacts/multipart/part-checksums.js';
import { fullObjectSha256 } from '../../src/artifacts/s3/s3-objects.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest();

/** S3's form of a part checksum: base64 of the part's digest. */
describe('part checksums', () => {
  const parts = [randomBytes(1000), randomBytes(1000), randomBytes(10)];
  const hex = parts.map((p) => sha(p).toString('hex'));

  it('gives a part digest as S3 takes it (base64 of the 32 bytes)', () => {
    expect(partSha256Base64(hex[0]!)).toBe(sha(parts[0]!).toString('base64'));
    expect(Buffer.from(partSha256Base64(hex[0]!), 'base64')).toHaveLength(32);
  });
});

/** What storage reports as an object's SHA-256 is taken for the bytes' own only when it is one. */
describe('fullObjectSha256', () => {
  const digest = sha(randomBytes(64)).toString('base64');
  it('takes a full-object SHA-256 (ChecksumType FULL_OBJECT, or none given)', () => {
    expect(fullObjectSha256('FULL_OBJECT', digest)).toBe(digest);
    expect(fullObjectSha256(undefined, digest)).toBe(digest);
  });
  it('never takes a composite one: ChecksumType COMPOSITE, or a "-<parts>" suffix with no type (some stores on copy)', () => {
    expect(fullObjectSha256('COMPOSITE', digest)).toBeNull();
    expect(fullObjectSha256(undefined, `${digest}-3`)).toBeNull();
    expect(fullObjectSha256('FULL_OBJECT', `${digest}-3`)).toBeNull();
    expect(fullObjectSha256(undefined, undefined)).toBeNull();
  });
});
