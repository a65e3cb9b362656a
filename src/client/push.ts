import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, ForbiddenError, NetworkError, RegistryClientError, VersionFailedError } from './errors.js';
import {
  CompleteModelVersionUploadDocument, CreateUploadUrlsDocument, ModelVersionDocument, RegisterModelVersionDocument, type RegisterModelVersionInput, type VersionSummaryFragment,
} from './generated/graphql.js';
import { inParallel, withRetries } from './retry.js';
import { hashFile, putFile } from './streams.js';
import { plannedPartSize, uploadParts } from './multipart-push.js';
import type { Transport } from './transport.js';
import type { ProgressListener } from './progress.js';

export interface PushFile {
  /** The file on disk. */
  file: string;
  /** Its path inside the version, e.g. "model.pkl" or "conf/config.json". */
  path: string;
  contentType?: string;
}

export interface PushOptions {
  model: string;
  files: PushFile[];
  modelType: string;
  datasetVersion: string;
  metrics?: Record<string, number>;
  hyperparameters?: Record<string, unknown>;
  featureNames?: string[];
  tags?: string[];
  description?: string;
  /** Default: derived from every input above and every file's SHA-256 (see `pushIdempotencyKey`). */
  idempotencyKey?: string;
  /** Files uploaded at once (default 4). */
  parallel?: number;
  /** Parts of one large file uploaded at once (multipart uploads; default 4). */
  partParallel?: number;
  onProgress?: ProgressListener;
  /** How long to wait for a completion that runs in the background (default 1 h). */
  completionTimeoutMs?: number;
}

export interface PushResult {
  version: VersionSummaryFragment;
  idempotencyKey: string;
  /** False when the registration was a replay of a version that was already READY. */
  uploaded: boolean;
}

/**
 * A stable key for one push: the same model, metadata and file contents give the same key. Part
 * hashes are left out: they follow from the bytes, and a push started without them (an older
 * client, or a registry without uploadPlan) must find its version when run again with them.
 */
export function pushIdempotencyKey(input: Omit<RegisterModelVersionInput, 'idempotencyKey'>): string {
  const keyed = { ...input, artifacts: input.artifacts.map(({ partSha256: _, ...a }) => a) };
  const canonical = JSON.stringify(keyed, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v);
  return `push:${createHash('sha256').update(canonical).digest('hex')}`;
}

/**
 * Hashes the files (streaming; a file the registry takes in parts, per uploadPlan, part by part
 * too), registers the version with an idempotency key, uploads the files
 * (up to 4 at once, retried with backoff on network errors and 5xx; a file the registry plans in
 * parts goes up 4 parts at a time, multipart-push.ts), and completes it. Run again after a crash,
 * the same push finds the same version and finishes it, skipping parts storage already holds.
 */
export async function push(t: Transport, o: PushOptions): Promise<PushResult> {
  if (o.files.length === 0) throw new RegistryClientError('BAD_USER_INPUT', 'push needs at least one file');
  const total = o.files.length;
  o.onProgress?.({ phase: 'hash', totalBytes: null, files: total });
  const hashed = await inParallel(o.files, 4, async (f) => {
    // A file the registry takes in parts: each part's SHA-256 too, in the same read (signed into its part URL).
    const planned = await plannedPartSize(t, f.file);
    const h = await hashFile(f.file, (n) => o.onProgress?.({ phase: 'hash', bytes: n }), planned?.partSizeBytes ?? null);
    return { ...f, ...h, partSha256: planned && planned.sizeBytes === h.sizeBytes ? h.partSha256 : null };
  });
  const input: Omit<RegisterModelVersionInput, 'idempotencyKey'> = {
    modelName: o.model,
    modelType: o.modelType,
    datasetVersion: o.datasetVersion,
    metrics: Object.entries(o.metrics ?? {}).map(([name, value]) => ({ name, value })),
    hyperparameters: o.hyperparameters ?? {},
    featureNames: o.featureNames ?? [],
    tags: o.tags ?? [],
    ...(o.description !== undefined ? { description: o.description } : {}),
    artifacts: hashed.map((f) => ({
      path: f.path, sizeBytes: f.sizeBytes, sha256: f.sha256, contentType: f.contentType ?? 'application/octet-stream', ...(f.partSha256 ? { partSha256: f.partSha256 } : {}),
    })),
  };
  const idempotencyKey = o.idempotencyKey ?? pushIdempotencyKey(input);
  // With a key, a retried registration gives the same version (and fresh upload URLs): safe to retry.
  const { registerModelVersion: reg } = await t.request(RegisterModelVersionDocument, { input: { ...input, idempotencyKey } });
  if (reg.version.status !== 'PENDING_UPLOAD') return finished(reg.version, idempotencyKey, false);

  const byPath = new Map(hashed.map((f) => [f.path, f]));
  const urls = new Map(reg.uploads.map((u) => [u.path, u.upload]));
  // Upload URLs that expired during a long push (or its retries) are replaced by fresh ones, once for all files.
  let refreshing: Promise<void> | null = null;
  const refresh = () => (refreshing ??= t.request(CreateUploadUrlsDocument, { versionId: reg.version.id })
    .then(({ createUploadUrls }) => createUploadUrls.forEach((u) => urls.set(u.path, u.upload)))
    .finally(() => (refreshing = null)));
  const totalBytes = hashed.reduce((s, f) => s + f.sizeBytes, 0);
  o.onProgress?.({ phase: 'upload', totalBytes, files: total });
  const partEtags: { path: string; etags: string[] }[] = [];
  await inParallel(reg.uploads, o.parallel ?? 4, async ({ path, parts }) => {
    const f = byPath.get(path);
    if (!f) throw new RegistryClientError('BAD_RESPONSE', `The registry asked for an upload of ${path}, which is not one of the files`);
    if (parts) {
      // A large file: in the parts the registry planned, several at once, skipping those storage already holds.
      const etags = await uploadParts(t, {
        versionId: reg.version.id, path, file: f.file, sizeBytes: f.sizeBytes, plan: parts, parallel: o.partParallel ?? 4, retry: t.options.retry,
        onBytes: (n) => o.onProgress?.({ phase: 'upload', bytes: n }),
      });
      partEtags.push({ path, etags });
      return;
    }
    let sent = 0;
    const put = async () => {
      if (sent) o.onProgress?.({ phase: 'upload', bytes: -sent });
      sent = 0;
      await putFile(urls.get(path)!, f.file, (n) => {
        sent += n;
        o.onProgress?.({ phase: 'upload', bytes: n });
      });
    };
    const expiring = () => Date.parse(urls.get(path)!.expiresAt) <= Date.now() + 1000;
    await withRetries(async () => {
      // Never a try with a URL that has expired (a long push, or its retries): fresh URLs first.
      if (expiring()) await refresh();
      try {
        await put();
      } catch (err) {
        // Refused (403, or the connection closed on a refused body) because the URL expired meanwhile: once more at once.
        if (!(err instanceof ForbiddenError || err instanceof NetworkError) || !expiring()) throw err;
        await refresh();
        await put();
      }
    }, t.options.retry);
  });
  o.onProgress?.({ phase: 'complete', totalBytes, files: total });
  return finished(await complete(t, reg.version.id, o.completionTimeoutMs ?? 3_600_000, partEtags), idempotencyKey, true);
}

function finished(version: VersionSummaryFragment, idempotencyKey: string, uploaded: boolean): PushResult {
  if (version.status === 'FAILED') {
    throw new VersionFailedError('VERSION_FAILED', `Version ${version.id} failed its check: ${version.failureReason ?? 'no reason given'}` +
      ` (the same inputs and idempotency key ${idempotencyKey} will keep answering with this version: change the files, or give another key)`);
  }
  return { version, idempotencyKey, uploaded };
}

/**
 * completeModelVersionUpload until the version leaves PENDING_UPLOAD: large versions are checked
 * in the background (the status is polled), and a CONFLICT means another completion runs now.
 */
export async function complete(
  t: Transport, versionId: string, timeoutMs: number, parts: { path: string; etags: string[] }[] = [],
): Promise<VersionSummaryFragment> {
  const deadline = Date.now() + timeoutMs;
  let pause = 200;
  for (;;) {
    try {
      const { completeModelVersionUpload: v } = await t.request(CompleteModelVersionUploadDocument, { versionId, ...(parts.length > 0 && { parts }) });
      if (v.status !== 'PENDING_UPLOAD') return v;
      if (!v.verification?.running) throw new VersionFailedError('VERSION_FAILED', `Version ${versionId} is still PENDING_UPLOAD and no check runs`);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
    // A check runs (here or in the background): wait for it by reading the version.
    for (;;) {
      if (Date.now() > deadline) throw new RegistryClientError('TIMEOUT', `Version ${versionId} was not checked within ${Math.round(timeoutMs / 1000)} s`);
      await sleep(pause);
      pause = Math.min(pause * 2, 5000);
      const { modelVersion: v } = await t.request(ModelVersionDocument, { id: versionId });
      if (!v) throw new RegistryClientError('NOT_FOUND', `Version ${versionId} is gone`);
      if (v.status !== 'PENDING_UPLOAD') return v;
      if (!v.verification?.running) break; // stopped: call complete again
    }
  }
}
