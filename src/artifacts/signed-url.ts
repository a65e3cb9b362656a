import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HMAC-SHA256 URL signatures for the filesystem artifact store. The signature covers the method,
 * the object key, the expiry, the content type, for uploads the content length and for downloads
 * the sha256, so none of them can be changed without the server refusing the request.
 */
export interface SignedFields {
  method: 'PUT' | 'GET' | 'HEAD';
  key: string;
  /** Unix seconds. */
  expires: number;
  contentLength: number | null;
  contentType: string | null;
  /** Downloads: the artifact's sha256, served as its ETag (signed, so it cannot be made to lie). */
  sha256?: string | null;
}

export function sign(secret: Buffer, f: SignedFields): string {
  const fields = [f.method, f.key, String(f.expires), f.contentLength === null ? '' : String(f.contentLength), f.contentType ?? ''];
  if (f.sha256) fields.push(f.sha256);
  const payload = fields.join('\n');
  return createHmac('sha256', secret).update(payload).digest('hex');
}

export function signatureMatches(secret: Buffer, f: SignedFields, signature: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(signature)) return false;
  return timingSafeEqual(Buffer.from(sign(secret, f), 'hex'), Buffer.from(signature, 'hex'));
}

/** Percent-encodes each segment of a key for a URL path. */
export function keyToUrlPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
