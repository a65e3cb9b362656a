import { createHash } from 'node:crypto';
import { SHA256_PATTERN } from '../../domain/limits.js';

/** One part's SHA-256 as the client declares it: 64 lowercase hex (as a whole artifact's). */
export const PART_SHA256 = SHA256_PATTERN;

/** A part's SHA-256 as S3 takes it in `x-amz-checksum-sha256` and `ChecksumSHA256`: base64 of the digest. */
export function partSha256Base64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/**
 * The composite checksum S3 gives an object joined from parts uploaded with SHA-256 checksums:
 * the base64 of the SHA-256 of the concatenated binary part digests, then "-<number of parts>".
 * It binds the object to its parts' hashes, not to a SHA-256 of the whole object.
 */
export function compositeSha256(partHexes: readonly string[]): string {
  const h = createHash('sha256');
  for (const hex of partHexes) h.update(Buffer.from(hex, 'hex'));
  return `${h.digest('base64')}-${partHexes.length}`;
}

/**
 * Whether a composite checksum storage reports equals the expected one. Storage may leave out the
 * "-<parts>" suffix (MinIO in some releases); the digest must match either way, and the count when given.
 */
export function compositeMatches(reported: string, expected: string): boolean {
  const [digest, count] = reported.split('-');
  const [want, wantCount] = expected.split('-');
  return digest === want && (count === undefined || count === wantCount);
}
