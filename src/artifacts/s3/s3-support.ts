/** Small helpers shared by the S3 artifact store's parts: errors, status codes, key encoding. */

/** A storage failure, naming the operation and key; never a URL or a signature. */
export class S3StorageError extends Error {
  constructor(operation: string, key: string, cause: unknown, detail?: string) {
    const e = cause as { name?: string; $metadata?: { httpStatusCode?: number } };
    const what = detail ?? `${e?.name ?? 'Error'}${e?.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : ''}`;
    super(`S3 ${operation} of "${key}" failed: ${what}`, { cause });
    this.name = 'S3StorageError';
  }
}

export function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

export function errorName(err: unknown): string | undefined {
  return (err as { name?: string; Code?: string })?.Code ?? (err as { name?: string })?.name;
}

/** A 404 about the object, not the bucket: a missing bucket is a storage fault, never "not uploaded". */
export function missingObject(err: unknown): boolean {
  return status(err) === 404 && errorName(err) !== 'NoSuchBucket';
}

/** RFC 3986 encoding, as S3 canonicalizes paths: every segment, including !'()*. */
export function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function encodeKey(key: string): string {
  return key.split('/').map(encodeRfc3986).join('/');
}

export function normalizePrefix(prefix: string | null | undefined): string {
  const p = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (p === '') return '';
  for (const segment of p.split('/')) {
    if (segment === '' || segment === '.' || segment === '..' || !/^[A-Za-z0-9._-]+$/.test(segment)) {
      throw new Error(`S3 prefix "${p}" must be segments of letters, digits and ._- separated by "/"`);
    }
  }
  return `${p}/`;
}

/** Base64 of a hex sha256, as S3 writes checksums (x-amz-checksum-sha256). */
export function sha256HexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}
