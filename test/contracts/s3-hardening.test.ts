import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactTarget, PresignedRequest } from '../../src/artifacts/artifact.store.js';
import { S3ArtifactStore, type S3ArtifactStoreOptions } from '../../src/artifacts/s3/s3-artifact.store.js';
import { CapturingHandler } from '../support/capturing-handler.js';
import { type S3rverHandle, type S3rverQuirks, s3rverClientConfig, startS3rver, versionIdOf } from '../support/s3rver.js';
import { startSilentServer } from '../support/silent-server.js';

/**
 * Issue 18 (and the S3 parts of issue 9), on s3rver: a local S3 emulator, not AWS or MinIO. Where
 * s3rver cannot show a behaviour (it ignores checksums, SSE, conditional copies and If-None-Match),
 * a CapturingHandler records what the store SENDS, and passes every request unchanged to s3rver.
 */
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const b64 = (b: Buffer): string => createHash('sha256').update(b).digest('base64');
const target = (path: string, bytes: Buffer, contentType = 'application/octet-stream'): ArtifactTarget => ({
  modelName: 'iris',
  versionId: `v${randomBytes(4).toString('hex')}`,
  path,
  sizeBytes: bytes.length,
  contentType,
  sha256: sha(bytes),
});
const headersOf = (r: PresignedRequest): Record<string, string> => Object.fromEntries(r.headers.map((h) => [h.name, h.value]));
const put = (r: PresignedRequest, body: Buffer, extra: Record<string, string> = {}): Promise<Response> =>
  fetch(r.url, { method: 'PUT', body, headers: { ...headersOf(r), ...extra } });

/** How a promise settles within `ms`, or 'hung'; never waits longer. */
async function settleWithin(ms: number, p: Promise<unknown>): Promise<{ state: 'resolved' | 'rejected' | 'hung'; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<{ state: 'hung' }>((resolve) => (timer = setTimeout(() => resolve({ state: 'hung' }), ms)));
  try {
    return await Promise.race([p.then(() => ({ state: 'resolved' as const }), (error: unknown) => ({ state: 'rejected' as const, error })), hung]);
  } finally {
    clearTimeout(timer);
  }
}

describe('S3ArtifactStore hardening (issue 18), on s3rver (a local S3 emulator, not AWS)', () => {
  let s3: S3rverHandle;
  const cleanup: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
    await s3?.close();
  });
  const open = async (extra: Partial<S3ArtifactStoreOptions> = {}, on: S3rverHandle = s3): Promise<S3ArtifactStore> => {
    const store = await S3ArtifactStore.open({
      bucket: on.bucket,
      region: on.region,
      endpoint: on.endpoint,
      forcePathStyle: true,
      credentials: on.credentials,
      clientConfig: s3rverClientConfig,
      ...extra,
    });
    cleanup.push(() => store.close());
    return store;
  };
  const capturing = (capture: CapturingHandler): Partial<S3ArtifactStoreOptions> => ({ clientConfig: { ...s3rverClientConfig, requestHandler: capture.handler } });
  const quirky = async (quirks: S3rverQuirks): Promise<S3rverHandle> => {
    const server = await startS3rver('models', quirks);
    cleanup.push(() => server.close());
    return server;
  };
  const download = async (store: S3ArtifactStore, t: ArtifactTarget): Promise<{ res: Response; body: Buffer }> => {
    const res = await fetch((await store.presignDownload(t, 60)).url);
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  };

  it('18.1 / 9.1: a replayed upload URL landing while finalize reads the bytes back never becomes the final object', async () => {
    const good = randomBytes(256 * 1024);
    const other = randomBytes(good.length);
    const t = target('race.bin', good);
    let up: PresignedRequest | undefined;
    let replayStatus: number | null = null;
    // Right after storage starts answering the read-back, the upload URL is replayed with other bytes.
    const capture = new CapturingHandler(async (req, status) => {
      if (replayStatus === null && req.method === 'GET' && status === 200 && !req.headers.range) replayStatus = (await put(up!, other)).status;
    });
    const store = await open(capturing(capture));
    up = await store.presignUpload(t, 60);
    expect((await put(up, good)).status).toBe(200);
    const outcome = await store.finalize(t, sha(good));
    // s3rver ignores If-None-Match and x-amz-copy-source-if-match: the replay did land mid-verification.
    expect(replayStatus).toBe(200);
    expect(outcome).toEqual({ ok: true });
    const got = await download(store, t);
    expect(sha(got.body)).toBe(sha(good));
    // What was hashed is a private copy under _verifying/, never the staging key a URL names.
    const reads = capture.named('GET').filter((r) => !r.headers.range);
    expect(reads.length).toBeGreaterThan(0);
    for (const r of reads) expect(r.path).toContain('/_verifying/');
  });

  it('9.1: two concurrent finalize calls each verify and move a copy of their own', async () => {
    const bytes = randomBytes(64 * 1024);
    const t = target('twice.bin', bytes);
    const capture = new CapturingHandler();
    const store = await open(capturing(capture));
    expect((await put(await store.presignUpload(t, 60), bytes)).status).toBe(200);
    const outcomes = await Promise.all([store.finalize(t, sha(bytes)), store.finalize(t, sha(bytes))]);
    expect(outcomes.filter((o) => o.ok).length).toBeGreaterThan(0);
    expect(sha((await download(store, t)).body)).toBe(sha(bytes));
    const verifying = new Set(capture.named('GET').filter((r) => r.path.includes('/_verifying/')).map((r) => r.path));
    expect(verifying.size).toBe(capture.named('GET').filter((r) => r.path.includes('/_verifying/')).length);
  });

  it('18.2: refuses, with the reason, an upload that arrived with a Content-Encoding, and removes it', async () => {
    const gz = gzipSync(Buffer.from('pretend weights '.repeat(500)));
    const t = target('model.bin', gz);
    const store = await open();
    expect((await put(await store.presignUpload(t, 60), gz, { 'Content-Encoding': 'gzip' })).status).toBe(200);
    const outcome = await store.finalize(t, sha(gz));
    expect(outcome).toEqual({ ok: false, reason: expect.stringContaining('Content-Encoding "gzip"') });
    expect(await store.finalize(t, sha(gz))).toEqual({ ok: false, reason: 'artifact "model.bin" was not uploaded' });
  });

  it('18.2: headers the uploader added never travel to downloads: the copy replaces metadata with the declared type', async () => {
    const bytes = randomBytes(1000);
    const t = target('page.bin', bytes, 'application/x-model');
    const capture = new CapturingHandler();
    const store = await open(capturing(capture));
    const extra = { 'Cache-Control': 'public, max-age=31536000', 'Content-Language': 'fr', 'Content-Disposition': 'inline' };
    expect((await put(await store.presignUpload(t, 60), bytes, extra)).status).toBe(200);
    expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
    const { res, body } = await download(store, t);
    expect(body.equals(bytes)).toBe(true);
    expect(res.headers.get('content-type')).toBe('application/x-model');
    expect(res.headers.get('cache-control')).toBeNull();
    expect(res.headers.get('content-language')).toBeNull();
    const copies = capture.sent.filter((r) => r.method === 'PUT' && r.headers['x-amz-copy-source']);
    expect(copies.length).toBe(2);
    for (const c of copies) {
      expect(c.headers['x-amz-metadata-directive']).toBe('REPLACE');
      expect(c.headers['content-type']).toBe('application/x-model');
    }
  });

  it('18.11: binds the declared sha256 to the upload as a signed header, asks storage for SHA-256 on HEAD and copy, and still reads back by default', async () => {
    const bytes = randomBytes(3000);
    const t = target('sum.bin', bytes);
    const capture = new CapturingHandler();
    const store = await open(capturing(capture));
    const up = await store.presignUpload(t, 60);
    const url = new URL(up.url);
    expect(url.searchParams.get('X-Amz-SignedHeaders')!.split(';')).toContain('x-amz-checksum-sha256');
    expect([...url.searchParams.keys()].map((k) => k.toLowerCase())).not.toContain('x-amz-checksum-sha256');
    expect(up.headers).toContainEqual({ name: 'x-amz-checksum-sha256', value: b64(bytes) });
    // The signature covers it: a PUT without it, or with another value, is refused.
    const withoutSum = Object.fromEntries(up.headers.filter((h) => h.name !== 'x-amz-checksum-sha256').map((h) => [h.name, h.value]));
    expect((await fetch(up.url, { method: 'PUT', body: bytes, headers: withoutSum })).status).toBe(403);
    expect((await put(up, bytes, { 'x-amz-checksum-sha256': b64(randomBytes(8)) })).status).toBe(403);
    expect((await put(up, bytes)).status).toBe(200);
    expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
    const heads = capture.named('HEAD');
    expect(heads.length).toBeGreaterThan(0);
    for (const h of heads) expect(h.headers['x-amz-checksum-mode']).toBe('ENABLED');
    const copies = capture.sent.filter((r) => r.headers['x-amz-copy-source']);
    for (const c of copies) expect(c.headers['x-amz-checksum-algorithm']).toBe('SHA256');
    expect(capture.named('GET').filter((r) => r.path.includes('/_verifying/')).length).toBe(1);
  });

  it('18.11: with trustStoreChecksums, a store that reports no SHA-256 (s3rver) is still read back', async () => {
    const bytes = randomBytes(500);
    const t = target('trust.bin', bytes);
    const capture = new CapturingHandler();
    const store = await open({ ...capturing(capture), trustStoreChecksums: true });
    expect((await put(await store.presignUpload(t, 60), bytes)).status).toBe(200);
    expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
    expect(capture.named('GET').filter((r) => r.path.includes('/_verifying/')).length).toBe(1);
  });

  it('18.11: where storage reports a full-object SHA-256 on HEAD, one other than the declared sha256 is refused without reading back', async () => {
    const reporting = await quirky({ headChecksums: true });
    const capture = new CapturingHandler();
    const store = await open(capturing(capture), reporting);
    const declared = randomBytes(4000);
    const sent = randomBytes(declared.length);
    const t = target('reported.bin', declared);
    // s3rver does not check the signed checksum against the body (AWS would refuse this PUT with 400).
    expect((await put(await store.presignUpload(t, 60), sent)).status).toBe(200);
    expect(await store.finalize(t, sha(declared))).toEqual({ ok: false, reason: `artifact "reported.bin" has sha256 ${sha(sent)}, ${sha(declared)} was declared` });
    expect(capture.named('GET')).toEqual([]);
    expect(capture.sent.filter((r) => r.headers['x-amz-copy-source'])).toEqual([]);
  });

  it('18.11: trustStoreChecksums replaces the read-back only by a reported SHA-256 equal to the declared one', async () => {
    const reporting = await quirky({ headChecksums: true });
    for (const trust of [true, false]) {
      const capture = new CapturingHandler();
      const store = await open({ ...capturing(capture), trustStoreChecksums: trust }, reporting);
      const bytes = randomBytes(5000);
      const t = target('trusted.bin', bytes);
      expect((await put(await store.presignUpload(t, 60), bytes)).status).toBe(200);
      expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
      expect(capture.named('GET').filter((r) => r.path.includes('/_verifying/')).length, `trust ${trust}`).toBe(trust ? 0 : 1);
      expect(sha((await download(store, t)).body)).toBe(sha(bytes));
    }
  });

  it('18.3: ping and finalize reject within the bound against a server that accepts and never answers', async () => {
    const silent = await startSilentServer();
    cleanup.push(() => silent.close());
    const store = await open({ endpoint: silent.endpoint, timeouts: { connectMs: 1000, idleMs: 500, pingMs: 1000 } });
    const ping = await settleWithin(10_000, store.ping());
    expect(ping.state).toBe('rejected');
    expect((ping.error as Error).message).toMatch(/^S3 HeadBucket of "models" failed/);
    const fin = await settleWithin(10_000, store.finalize(target('hung.bin', Buffer.from('x')), sha(Buffer.from('x'))));
    expect(fin.state).toBe('rejected');
    expect((fin.error as Error).message).toMatch(/^S3 HeadObject of ".*hung\.bin" failed: TimeoutError/);
    expect(silent.connections()).toBeGreaterThan(0);
  });

  it('18.3: ping gives the SDK an abort signal', async () => {
    const capture = new CapturingHandler();
    const store = await open(capturing(capture));
    await store.ping();
    expect(capture.named('HEAD').map((r) => r.hasAbortSignal)).toEqual([true]);
  });

  it('18.10 / 9.6: download URLs are signed for Content-Disposition: attachment and the declared type', async () => {
    const bytes = Buffer.from('<script>alert(1)</script>');
    const t = target('index.html', bytes, 'text/html');
    const store = await open();
    expect((await put(await store.presignUpload(t, 60), bytes)).status).toBe(200);
    expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
    const down = await store.presignDownload(t, 60);
    const url = new URL(down.url);
    expect(url.searchParams.get('response-content-disposition')).toBe('attachment');
    expect(url.searchParams.get('response-content-type')).toBe('text/html');
    const res = await fetch(down.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment');
    expect(res.headers.get('content-type')).toBe('text/html');
    // The signature covers them: dropping the disposition is refused.
    url.searchParams.delete('response-content-disposition');
    expect((await fetch(url)).status).toBe(403);
  });

  it('18.5: a URL signed for HEAD answers HEAD, and a GET URL does not answer HEAD on S3', async () => {
    const bytes = randomBytes(777);
    const t = target('head.bin', bytes);
    const store = await open();
    expect((await put(await store.presignUpload(t, 60), bytes)).status).toBe(200);
    expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
    const head = await store.presignDownload(t, 60, 'HEAD');
    expect(head.method).toBe('HEAD');
    const res = await fetch(head.url, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('777');
    expect((await fetch((await store.presignDownload(t, 60)).url, { method: 'HEAD' })).status).toBe(403);
  });

  it('18.8: a missing upload that storage answers with 403 (no s3:ListBucket) is "not uploaded", with the permission named', async () => {
    const denying = await quirky({ denyMissingObjects: true });
    const store = await open({}, denying);
    const outcome = await store.finalize(target('never.bin', Buffer.from('x')), sha(Buffer.from('x')));
    expect(outcome).toEqual({ ok: false, reason: expect.stringMatching(/^artifact "never\.bin" was not uploaded, .*s3:ListBucket/) });
    // An uploaded artifact still finalizes there, and a bad signature is still a storage error.
    const bytes = randomBytes(100);
    const t = target('there.bin', bytes);
    expect((await put(await store.presignUpload(t, 60), bytes)).status).toBe(200);
    expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
    const badKey = await open({ credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'wrong' } }, denying);
    await expect(badKey.finalize(t, sha(bytes))).rejects.toThrow(/^S3 (HeadObject|GetObject) of ".*there\.bin" failed: SignatureDoesNotMatch/);
  });

  it('18.4: a URL never outlives the credentials that sign it: lifetime and expiresAt are capped at their expiration', async () => {
    const calls: { forceRefresh?: boolean }[] = [];
    const credentials = async (options?: { forceRefresh?: boolean }) => {
      calls.push(options ?? {});
      return { ...s3.credentials, sessionToken: undefined, expiration: new Date(Date.now() + 120_000) };
    };
    const store = await open({ credentials });
    const bytes = randomBytes(50);
    const t = target('creds.bin', bytes);
    const before = Date.now();
    const up = await store.presignUpload(t, 900);
    const expires = Number(new URL(up.url).searchParams.get('X-Amz-Expires'));
    expect(expires).toBeLessThanOrEqual(120);
    expect(expires).toBeGreaterThanOrEqual(115);
    expect(up.expiresAt.getTime()).toBeLessThanOrEqual(before + 121_000);
    expect(calls.some((c) => c.forceRefresh === true)).toBe(true);
    expect((await put(up, bytes)).status).toBe(200);
    // Credentials without an expiration (static keys) leave the lifetime as asked.
    const plain = await open();
    expect(new URL((await plain.presignUpload(t, 900)).url).searchParams.get('X-Amz-Expires')).toBe('900');
  });

  it('18.12: the SDK neither asks for nor validates response checksums on reads (no x-amz-checksum-mode on GET) by default', async () => {
    const capture = new CapturingHandler();
    // No s3rverClientConfig here: the store's own defaults.
    const store = await open({ clientConfig: { requestHandler: capture.handler } });
    const bytes = randomBytes(2000);
    const t = target('crc.bin', bytes);
    expect((await put(await store.presignUpload(t, 60), bytes)).status).toBe(200);
    expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
    const gets = capture.named('GET');
    expect(gets.length).toBeGreaterThan(0);
    for (const g of gets) expect(g.headers['x-amz-checksum-mode']).toBeUndefined();
  });

  it('18.13: signs with the SDK clock offset, and expiresAt stays in local time', async () => {
    const store = await open({ clientConfig: { ...s3rverClientConfig, systemClockOffset: 3_600_000 } });
    const before = Date.now();
    const up = await store.presignUpload(target('clock.bin', Buffer.from('x')), 60);
    const amzDate = new URL(up.url).searchParams.get('X-Amz-Date')!;
    const signed = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    expect(signed).toBeGreaterThanOrEqual(before + 3_600_000 - 2000);
    expect(signed).toBeLessThanOrEqual(Date.now() + 3_600_000 + 1000);
    expect(up.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 61_000);
    expect(up.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 57_000);
  });

  it('18.13: fails closed when HEAD returns no ETag', async () => {
    const noEtag = await quirky({ omitHeadEtag: true });
    const store = await open({}, noEtag);
    const bytes = randomBytes(10);
    const t = target('etag.bin', bytes);
    expect((await put(await store.presignUpload(t, 60), bytes)).status).toBe(200);
    await expect(store.finalize(t, sha(bytes))).rejects.toThrow(/^S3 HeadObject of ".*etag\.bin" failed: the response carries no ETag/);
  });

  it('18.7: in a versioned bucket, staging and private copies are deleted by version id (no noncurrent versions left)', async () => {
    const versioned = await quirky({ versionIds: true });
    const capture = new CapturingHandler();
    const store = await open(capturing(capture), versioned);
    const bytes = randomBytes(100);
    const t = target('ver.bin', bytes);
    expect((await put(await store.presignUpload(t, 60), bytes)).status).toBe(200);
    expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
    const deletes = capture.named('DELETE');
    const staging = deletes.find((d) => d.path.includes('/_staging/'));
    const verifying = deletes.find((d) => d.path.includes('/_verifying/'));
    expect(staging?.query.versionId).toBe(versionIdOf(store.stagingKey(t)));
    expect(verifying?.query.versionId).toBe(versionIdOf(decodeURIComponent(verifying!.path.replace(/^\/models\//, ''))));
    await store.discard([t]);
    const final = capture.named('DELETE').find((d) => !d.path.includes('/_'));
    expect(final?.query.versionId).toBe(versionIdOf(store.finalKey(t)));
  });
});
