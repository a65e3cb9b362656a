import { RegistryClientError } from './errors.js';
import type { Transport } from './transport.js';

/** `GET /v1/models/{name}/versions/{ref}/manifest`: what a worker needs to pull a version. */
export interface Manifest {
  model: string;
  versionId: string;
  number: number;
  status: 'READY' | 'ARCHIVED' | 'PENDING_UPLOAD' | 'FAILED';
  /** The environment when the ref was one, else null. */
  environment: string | null;
  artifacts: { path: string; sizeBytes: number; sha256: string; contentType: string; url: string; expiresAt: string }[];
}

export type ManifestAnswer = { notModified: false; etag: string | null; manifest: Manifest } | { notModified: true; etag: string };

const routeOf = (model: string, ref: string) => `/v1/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(ref)}/manifest`;

/**
 * The manifest of `model@ref` (a version id, a number, `latest` or an environment). With `etag`
 * (from an earlier answer) the registry answers 304 while the ref still resolves to the same
 * version: `{ notModified: true }`, and nothing is signed.
 */
export async function fetchManifest(t: Transport, model: string, ref: string, etag?: string | null): Promise<ManifestAnswer> {
  const res = await t.get(routeOf(model, ref), etag ? { 'if-none-match': etag } : {});
  if (res.status === 304) {
    await res.arrayBuffer();
    return { notModified: true, etag: res.headers.get('etag') ?? etag! };
  }
  if (res.status !== 200) throw new RegistryClientError('BAD_RESPONSE', `The manifest route answered HTTP ${res.status}`, res.status);
  return { notModified: false, etag: res.headers.get('etag'), manifest: (await res.json()) as Manifest };
}

const VERSION_ID = /^v\d{14}_[0-9a-f]{8}$/;

/** The version id a ref stands for now (a version id is taken as it is; anything else asks the manifest route, whose errors name the ref). */
export async function resolveVersionId(t: Transport, model: string, ref: string): Promise<string> {
  if (VERSION_ID.test(ref)) return ref;
  const answer = await fetchManifest(t, model, ref);
  if (answer.notModified) throw new RegistryClientError('BAD_RESPONSE', `Unexpected 304 for ${model}@${ref}`);
  return answer.manifest.versionId;
}
