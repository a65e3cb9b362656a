import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactTarget } from '../../src/artifacts/artifact.store.js';
import { S3_MAX_SINGLE_OBJECT_BYTES, S3ArtifactStore, type S3ArtifactStoreOptions } from '../../src/artifacts/s3/s3-artifact.store.js';
import { InvalidArgumentError } from '../../src/domain/errors.js';
import { type S3rverHandle, s3rverClientConfig, startS3rver } from '../support/s3rver.js';
import { describeArtifactStore } from './artifact-store.contract.js';
import { describeMultipartArtifacts } from './multipart.contract.js';

/** An S3ArtifactStore on a running s3rver, with the client settings s3rver needs. */
function openOnS3rver(s3: S3rverHandle, extra: Partial<S3ArtifactStoreOptions> = {}): Promise<S3ArtifactStore> {
  return S3ArtifactStore.open({
    bucket: s3.bucket,
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: s3.credentials,
    clientConfig: s3rverClientConfig,
    ...extra,
  });
}

/** S3ArtifactStore on s3rver, started here on 127.0.0.1 with a random port and a temp directory. */
function onS3rver(extra: Partial<S3ArtifactStoreOptions>) {
  return async () => {
    const s3 = await startS3rver();
    const store = await openOnS3rver(s3, extra);
    return {
      store,
      close: async () => {
        store.close();
        await s3.close();
      },
    };
  };
}

describeArtifactStore('S3ArtifactStore on s3rver (local S3 emulator, not AWS; path-style, prefix "registry")', onS3rver({ prefix: 'registry' }));
describeArtifactStore('S3ArtifactStore on s3rver (local S3 emulator, not AWS; no prefix, SSE AES256 headers)', onS3rver({ sse: 'AES256' }));
// s3rver has no ListParts and does not compare ETags at CompleteMultipartUpload (AWS and MinIO do both).
describeMultipartArtifacts('S3ArtifactStore on s3rver (local S3 emulator, not AWS; prefix "registry", SSE AES256)', onS3rver({ prefix: 'registry', sse: 'AES256' }), { listsParts: false, checksEtags: false, checksPartHashes: false });

// The same contract against a real S3-compatible endpoint (AWS S3, MinIO), when one is configured.
const real = process.env.S3_TEST_ENDPOINT;
if (!real) {
  console.info('[s3 contract] the real S3-compatible endpoint variant did NOT run: S3_TEST_ENDPOINT is not set (with S3_TEST_BUCKET, S3_TEST_ACCESS_KEY_ID, S3_TEST_SECRET_ACCESS_KEY, S3_TEST_REGION; S3_TEST_SSE, S3_TEST_SSE_KMS_KEY_ID for server-side encryption)');
}
describeArtifactStore(
  `S3ArtifactStore on the real endpoint in S3_TEST_ENDPOINT${real ? '' : ' (not set: skipped)'}`,
  async () => {
    const env = process.env;
    const missing = ['S3_TEST_BUCKET', 'S3_TEST_ACCESS_KEY_ID', 'S3_TEST_SECRET_ACCESS_KEY'].filter((k) => !env[k]);
    if (missing.length > 0) throw new Error(`S3_TEST_ENDPOINT is set but ${missing.join(', ')} is not`);
    const store = await S3ArtifactStore.open({
      bucket: env.S3_TEST_BUCKET!,
      region: env.S3_TEST_REGION || 'us-east-1',
      endpoint: real,
      forcePathStyle: env.S3_TEST_FORCE_PATH_STYLE !== 'false',
      prefix: `contract-tests/${Date.now()}-${randomBytes(4).toString('hex')}`,
      credentials: { accessKeyId: env.S3_TEST_ACCESS_KEY_ID!, secretAccessKey: env.S3_TEST_SECRET_ACCESS_KEY! },
      // The MinIO-with-KMS job of the workflow runs this variant with SSE enforced by the server.
      ...(env.S3_TEST_SSE ? { sse: env.S3_TEST_SSE as 'AES256' | 'aws:kms', kmsKeyId: env.S3_TEST_SSE_KMS_KEY_ID || null } : {}),
    });
    return { store, close: async () => store.close() };
  },
  real ? describe : describe.skip,
);

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const target = (path: string, bytes: Buffer, versionId = `v${randomBytes(4).toString('hex')}`): ArtifactTarget => ({
  modelName: 'iris',
  versionId,
  path,
  sizeBytes: bytes.length,
  contentType: 'application/octet-stream',
});
const headersOf = (r: { headers: { name: string; value: string }[] }): Record<string, string> => Object.fromEntries(r.headers.map((h) => [h.name, h.value]));

/** A TCP relay on another port: "the address clients reach storage through". */
async function relayTo(port: number): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('S3ArtifactStore specifics (on s3rver, a local S3 emulator)', () => {
  let s3: S3rverHandle;
  const stores: S3ArtifactStore[] = [];
  const open = async (extra: Partial<S3ArtifactStoreOptions> = {}): Promise<S3ArtifactStore> => {
    const store = await openOnS3rver(s3, extra);
    stores.push(store);
    return store;
  };
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    for (const s of stores) s.close();
    await s3?.close();
  });

  it('chooses final and staging keys: <prefix>/<model>/<versionId>/<path> and <prefix>/_staging/...', async () => {
    const t = target('dir/model.pkl', Buffer.alloc(1), 'v1');
    const plain = await open();
    expect(plain.finalKey(t)).toBe('iris/v1/dir/model.pkl');
    expect(plain.stagingKey(t)).toBe('_staging/iris/v1/dir/model.pkl');
    const prefixed = await open({ prefix: '/team/registry/' });
    expect(prefixed.finalKey(t)).toBe('team/registry/iris/v1/dir/model.pkl');
    expect(prefixed.stagingKey(t)).toBe('team/registry/_staging/iris/v1/dir/model.pkl');
    await expect(open({ prefix: 'a/../b' })).rejects.toThrow(/prefix/);
  });

  it('signs content-length, content-type and host into the upload URL, and the URL path is the staging key', async () => {
    const store = await open({ prefix: 'p' });
    const bytes = randomBytes(10);
    const up = await store.presignUpload(target('m.bin', bytes, 'v1'), 60);
    const url = new URL(up.url);
    expect(url.pathname).toBe(`/${s3.bucket}/p/_staging/iris/v1/m.bin`);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host;if-none-match');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(up.headers).toEqual([
      { name: 'Content-Type', value: 'application/octet-stream' },
      { name: 'If-None-Match', value: '*' },
    ]);
    const down = await store.presignDownload(target('m.bin', bytes, 'v1'), 60);
    expect(new URL(down.url).pathname).toBe(`/${s3.bucket}/p/iris/v1/m.bin`);
    expect(new URL(down.url).searchParams.get('X-Amz-SignedHeaders')).toBe('host');
  });

  it('with SSE, the upload URL requires the SSE headers it returns (a PUT without them is refused)', async () => {
    const aes = await open({ sse: 'AES256' });
    const bytes = randomBytes(40);
    const t = target('sse.bin', bytes);
    const up = await aes.presignUpload(t, 60);
    expect(up.headers).toContainEqual({ name: 'x-amz-server-side-encryption', value: 'AES256' });
    expect(new URL(up.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host;if-none-match;x-amz-server-side-encryption');
    const without = await fetch(up.url, { method: 'PUT', body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
    expect(without.status).toBe(403);
    expect((await fetch(up.url, { method: 'PUT', body: bytes, headers: headersOf(up) })).status).toBe(200);
    expect(await aes.finalize(t, sha(bytes))).toEqual({ ok: true });

    const kms = await open({ sse: 'aws:kms', kmsKeyId: 'alias/models' });
    const kup = await kms.presignUpload(target('kms.bin', bytes), 60);
    expect(kup.headers).toEqual(
      expect.arrayContaining([
        { name: 'x-amz-server-side-encryption', value: 'aws:kms' },
        { name: 'x-amz-server-side-encryption-aws-kms-key-id', value: 'alias/models' },
      ]),
    );
    await expect(open({ sse: 'aws:kms' })).rejects.toThrow(/KMS key id/);
    await expect(open({ sse: 'AES256', kmsKeyId: 'k' })).rejects.toThrow(/only used with/);
  });

  it('signs URLs for the public endpoint when clients reach storage through another address', async () => {
    const relay = await relayTo(Number(new URL(s3.endpoint).port));
    try {
      const publicEndpoint = `http://127.0.0.1:${relay.port}`;
      const store = await open({ publicEndpoint });
      const bytes = randomBytes(300);
      const t = target('public.bin', bytes);
      const up = await store.presignUpload(t, 60);
      expect(new URL(up.url).origin).toBe(publicEndpoint);
      // The signature covers the host: the same URL sent to the internal address is refused.
      const direct = new URL(up.url);
      direct.port = new URL(s3.endpoint).port;
      expect((await fetch(direct, { method: 'PUT', body: bytes, headers: headersOf(up) })).status).toBe(403);
      expect((await fetch(up.url, { method: 'PUT', body: bytes, headers: headersOf(up) })).status).toBe(200);
      // The store itself talks to the internal endpoint.
      expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
      const got = await fetch((await store.presignDownload(t, 60)).url);
      expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
    } finally {
      await relay.close();
    }
  });

  it('refuses artifacts over 5 GiB when signing the upload, naming the artifact', async () => {
    const store = await open();
    const t = { ...target('huge.bin', Buffer.alloc(0)), sizeBytes: S3_MAX_SINGLE_OBJECT_BYTES + 1 };
    const err = await store.presignUpload(t, 60).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toContain('"huge.bin"');
    expect((err as Error).message).toContain('5 GiB');
    await expect(store.presignUpload({ ...t, sizeBytes: S3_MAX_SINGLE_OBJECT_BYTES }, 60)).resolves.toMatchObject({ method: 'PUT' });
  });

  it('creates a missing bucket with ensureBucket (idempotent); ping fails for a missing bucket', async () => {
    const store = await open({ bucket: `created-${randomBytes(3).toString('hex')}` });
    await expect(store.ping()).rejects.toThrow(/HeadBucket/);
    await store.ensureBucket();
    await store.ensureBucket();
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('writes no presigned URL or signature to stdout/stderr/console, nor into thrown errors', async () => {
    const written: string[] = [];
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    const capture = (chunk: unknown): boolean => {
      written.push(String(chunk));
      return true;
    };
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
    const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
    const originals = methods.map((m) => console[m]);
    for (const m of methods) console[m] = (...args: unknown[]) => void written.push(args.map((a) => inspect(a, { depth: 8 })).join(' '));
    const urls: string[] = [];
    const errors: unknown[] = [];
    try {
      const store = await open({ sse: 'AES256' });
      const bytes = randomBytes(100);
      const t = target('quiet.bin', bytes);
      const up = await store.presignUpload(t, 60);
      urls.push(up.url);
      await fetch(up.url, { method: 'PUT', body: bytes, headers: headersOf(up) });
      await store.finalize(t, sha(bytes));
      const down = await store.presignDownload(t, 60);
      urls.push(down.url);
      await fetch(down.url);
      // Failures: wrong credentials, a missing bucket, an unreachable endpoint.
      const badKey = await open({ credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'wrong' } });
      errors.push(await badKey.finalize(t, sha(bytes)).catch((e: unknown) => e));
      errors.push(await badKey.ping().catch((e: unknown) => e));
      const noBucket = await open({ bucket: 'no-such-bucket' });
      errors.push(await noBucket.finalize(t, sha(bytes)).catch((e: unknown) => e));
      const down2 = await open({ endpoint: 'http://127.0.0.1:9', clientConfig: { ...s3rverClientConfig, maxAttempts: 1 } });
      errors.push(await down2.ping().catch((e: unknown) => e));
    } finally {
      process.stdout.write = out;
      process.stderr.write = err;
      methods.forEach((m, i) => (console[m] = originals[i]!));
    }
    expect(urls).toHaveLength(2);
    expect(errors.filter((e) => e instanceof Error)).toHaveLength(4);
    const signatures = urls.map((u) => new URL(u).searchParams.get('X-Amz-Signature')!);
    const texts = [...written, ...errors.map((e) => `${(e as Error).message}\n${(e as Error).stack}`)];
    for (const text of texts) {
      expect(text).not.toMatch(/X-Amz-Signature|Signature=/i);
      for (const u of urls) expect(text).not.toContain(u);
      for (const s of signatures) expect(text).not.toContain(s);
    }
    for (const e of errors) expect((e as Error).message).toMatch(/^S3 (HeadBucket|HeadObject|GetObject) of "[^"]+" failed: /);
    // The full error object, cause included, carries no signature either.
    for (const e of errors) expect(inspect(e, { depth: 8 })).not.toMatch(/X-Amz-Signature|Signature=[0-9a-f]{64}/i);
  });
});
