import { SHA256_PATTERN } from '../../domain/limits.js';

/** One part's SHA-256 as the client declares it: 64 lowercase hex (as a whole artifact's). */
export const PART_SHA256 = SHA256_PATTERN;

/** A part's SHA-256 as S3 takes it in `x-amz-checksum-sha256` and `ChecksumSHA256`: base64 of the digest. */
export function partSha256Base64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}
