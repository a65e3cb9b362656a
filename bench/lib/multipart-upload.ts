import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RegistryClient } from '../../src/client/index.js';
import { CompleteModelVersionUploadDocument, RegisterModelVersionDocument } from '../../src/client/generated/graphql.js';
import { uploadParts } from '../../src/client/multipart-push.js';
import { putFile } from '../../src/client/streams.js';
import { makeFile } from './transfer.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

/** One large upload through s3rver four ways (issue 16), MiB/s of the upload alone. */
export interface MultipartFigure {
  sizeMiB: number;
  partSizeMiB: number;
  parts: number;
  curlPut: number;
  clientPut: number;
  multipart1: number;
  multipart4: number;
  /** The completion of the 4-part upload: join, copies and the read-back of the whole file (seconds). */
  completeSeconds: number;
  completeStatus: string;
  errors: string[];
}

/**
 * Against a registry on S3 (s3rver, in this process): a version per figure, each uploaded once,
 * in this order: curl of the single PUT URL, the TypeScript client's single PUT of the same kind
 * of URL, then the client's multipart upload with 1 and with 4 parts at a time. The 4-part version
 * is then completed (CompleteMultipartUpload, copies, read-back) and its time reported.
 */
export async function measureMultipart(o: { url: string; token: string; dir: string; sizeBytes: number; progress: (s: string) => void }): Promise<MultipartFigure> {
  const client = new RegistryClient({ url: o.url, token: o.token });
  const file = join(o.dir, 'large.bin');
  o.progress(`multipart: writing a ${o.sizeBytes / MiB} MiB file`);
  const { sha256 } = await makeFile(file, o.sizeBytes);
  const mib = o.sizeBytes / MiB;
  const errors: string[] = [];
  const register = async (label: string) => {
    const input = {
      modelName: 'bench-multipart', modelType: 'bench', datasetVersion: label, metrics: [], hyperparameters: {}, featureNames: [], tags: [],
      artifacts: [{ path: 'large.bin', sizeBytes: o.sizeBytes, sha256, contentType: 'application/octet-stream' }],
    };
    const reg = (await client.request(RegisterModelVersionDocument, { input: { ...input, idempotencyKey: `bench-mp-${label}-${Date.now()}` } })).registerModelVersion;
    return { id: reg.version.id, upload: reg.uploads[0]! };
  };
  const timed = async (label: string, fn: () => Promise<unknown>): Promise<number> => {
    o.progress(`multipart: ${label}`);
    try {
      const t0 = performance.now();
      await fn();
      return mib / ((performance.now() - t0) / 1000);
    } catch (err) {
      errors.push(`${label}: ${(err as Error).message.slice(0, 300)}`);
      return Number.NaN;
    }
  };

  const a = await register('curl');
  const curlPut = await timed('curl of one PUT', () => {
    const up = a.upload.upload;
    return run('curl', ['-sS', '--fail', '-o', '/dev/null', '-X', up.method, '-T', file, ...up.headers.flatMap((h) => ['-H', `${h.name}: ${h.value}`]), up.url], { maxBuffer: MiB });
  });
  const b = await register('put');
  const clientPut = await timed('client, one PUT', () => putFile(b.upload.upload, file));
  const plan = (r: Awaited<ReturnType<typeof register>>) => {
    if (!r.upload.parts) throw new Error('the registry planned no parts (is the file above REGISTRY_MULTIPART_THRESHOLD_BYTES?)');
    return r.upload.parts;
  };
  const c = await register('parts-1');
  const multipart1 = await timed('client, multipart, 1 part at a time', () =>
    uploadParts(client.transport, { versionId: c.id, path: 'large.bin', file, sizeBytes: o.sizeBytes, plan: plan(c), parallel: 1 }));
  const d = await register('parts-4');
  let etags: string[] = [];
  const multipart4 = await timed('client, multipart, 4 parts at a time', async () => {
    etags = await uploadParts(client.transport, { versionId: d.id, path: 'large.bin', file, sizeBytes: o.sizeBytes, plan: plan(d), parallel: 4 });
  });
  o.progress('multipart: completing the 4-part upload (join, copies, read-back)');
  let completeStatus = 'not run';
  const t0 = performance.now();
  try {
    const done = await client.request(CompleteModelVersionUploadDocument, { versionId: d.id, parts: [{ path: 'large.bin', etags }] });
    completeStatus = done.completeModelVersionUpload.status;
  } catch (err) {
    errors.push(`complete: ${(err as Error).message.slice(0, 300)}`);
  }
  const completeSeconds = (performance.now() - t0) / 1000;
  await rm(file, { force: true });
  const p = d.upload.parts;
  return {
    sizeMiB: mib, partSizeMiB: p ? p.partSizeBytes / MiB : Number.NaN, parts: p?.parts.length ?? 0,
    curlPut, clientPut, multipart1, multipart4, completeSeconds, completeStatus, errors,
  };
}

export function multipartRows(m: MultipartFigure): (string | number)[][] {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');
  const r = (x: number) => (Number.isFinite(x) && m.curlPut > 0 ? (x / m.curlPut).toFixed(2) : '-');
  return [
    ['curl, one PUT of the whole file (presigned)', f(m.curlPut), '1.00'],
    ['TypeScript client, one PUT of the whole file', f(m.clientPut), r(m.clientPut)],
    [`TypeScript client, multipart, 1 part at a time (${m.parts} × ${m.partSizeMiB} MiB)`, f(m.multipart1), r(m.multipart1)],
    [`TypeScript client, multipart, 4 parts at a time`, f(m.multipart4), r(m.multipart4)],
  ];
}
