import { stat } from 'node:fs/promises';
import { CreateUploadUrlsDocument, type MultipartFieldsFragment, UploadPlanDocument } from './generated/graphql.js';
import { ForbiddenError, NetworkError, RegistryClientError } from './errors.js';
import { type RetryOptions, inParallel, withRetries } from './retry.js';
import { putFile } from './streams.js';
import type { Transport } from './transport.js';

type PartUrl = MultipartFieldsFragment['parts'][number]['upload'];
const PLAN_REFUSALS = new Set(['GRAPHQL_VALIDATION_FAILED', 'FORBIDDEN', 'BAD_USER_INPUT']);

/**
 * The part size the registry will choose for this file (uploadPlan), so its parts can be hashed
 * with the whole file; null when it goes up in one PUT, or the registry predates uploadPlan.
 */
export async function plannedPartSize(t: Transport, file: string): Promise<{ sizeBytes: number; partSizeBytes: number } | null> {
  const { size } = await stat(file);
  if (size === 0) return null;
  try {
    const { uploadPlan } = await t.request(UploadPlanDocument, { sizeBytes: size });
    return uploadPlan.inParts && uploadPlan.partSizeBytes ? { sizeBytes: size, partSizeBytes: uploadPlan.partSizeBytes } : null;
  } catch (err) {
    // A registry without uploadPlan: parts without checksums, as before. A refusal (a token that may
    // not register, a size past the limit) is left to the registration, which answers it as it always
    // did (and records the ACCESS_DENIED).
    if (err instanceof RegistryClientError && PLAN_REFUSALS.has(err.code)) return null;
    throw err;
  }
}

export interface PartsUpload {
  versionId: string;
  path: string;
  file: string;
  sizeBytes: number;
  plan: MultipartFieldsFragment;
  /** Parts sent at once (default 4). */
  parallel: number;
  retry?: RetryOptions;
  /** Bytes moved (negative when a part is sent again from its start). Parts storage already holds count at once. */
  onBytes?: (n: number) => void;
}

/**
 * Uploads one artifact in the parts the registry planned: parts storage already holds (a resumed
 * push: the plan names their ETags) are skipped, the rest go `parallel` at a time, each retried on
 * network errors and 5xx, and a part whose URL expired gets a fresh one (createUploadUrls for the
 * parts still to send). Each part is sent with the headers its URL lists (with part hashes given
 * at registration, its signed x-amz-checksum-sha256). Resolves with every part's ETag, part 1 first.
 */
export async function uploadParts(t: Transport, u: PartsUpload): Promise<string[]> {
  const size = u.plan.partSizeBytes;
  const count = Math.max(1, Math.ceil(u.sizeBytes / size));
  const etags: (string | null)[] = Array.from({ length: count }, () => null);
  const urls = new Map<number, PartUrl>();
  for (const p of u.plan.parts) {
    urls.set(p.partNumber, p.upload);
    if (p.etag) etags[p.partNumber - 1] = p.etag;
  }
  const length = (n: number) => Math.min(size, u.sizeBytes - (n - 1) * size);
  for (let n = 1; n <= count; n++) if (etags[n - 1] !== null) u.onBytes?.(length(n));
  const todo = Array.from({ length: count }, (_, i) => i + 1).filter((n) => etags[n - 1] === null);

  let refreshing: Promise<void> | null = null;
  const refresh = () => (refreshing ??= t.request(CreateUploadUrlsDocument, {
    versionId: u.versionId, paths: [u.path], partNumbers: todo.filter((n) => etags[n - 1] === null),
  }).then(({ createUploadUrls }) => {
    for (const p of createUploadUrls.find((x) => x.path === u.path)?.parts?.parts ?? []) urls.set(p.partNumber, p.upload);
  }).finally(() => (refreshing = null)));
  const expiring = (n: number) => !urls.has(n) || Date.parse(urls.get(n)!.expiresAt) <= Date.now() + 1000;

  await inParallel(todo, u.parallel, async (n) => {
    let sent = 0;
    const put = async () => {
      if (sent) u.onBytes?.(-sent);
      sent = 0;
      const etag = await putFile(urls.get(n)!, u.file, (b) => {
        sent += b;
        u.onBytes?.(b);
      }, { start: (n - 1) * size, length: length(n) });
      if (!etag) throw new RegistryClientError('BAD_RESPONSE', `Storage answered part ${n} of ${u.path} without an ETag`);
      etags[n - 1] = etag;
    };
    await withRetries(async () => {
      if (expiring(n)) await refresh();
      try {
        await put();
      } catch (err) {
        // Refused because the URL expired meanwhile: once more at once, with a fresh one.
        if (!(err instanceof ForbiddenError || err instanceof NetworkError) || !expiring(n)) throw err;
        await refresh();
        await put();
      }
    }, u.retry);
  });
  return etags as string[];
}
