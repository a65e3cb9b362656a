import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore, ArtifactTarget, PresignedRequest } from '../../src/artifacts/artifact.store.js';
import { unsafePathReason } from '../../src/domain/limits.js';

export type OpenArtifactStore = () => Promise<{ store: ArtifactStore; close: () => Promise<void> }>;

const TTL = 300;
const CONTENT_TYPE = 'application/octet-stream';

/**
 * The ArtifactStore contract: every implementation runs this same suite, over real HTTP on the
 * URLs it hands out (global fetch). It pins down what the services rely on: uploads land only
 * where the server chose, finalize verifies the stored bytes, URLs expire and cannot be altered,
 * and the bytes behind a finalized artifact never change.
 */
/** `describeFn`: `describe`, or `describe.skip` for a variant whose server is not configured. */
export function describeArtifactStore(name: string, open: OpenArtifactStore, describeFn: (name: string, fn: () => void) => void = describe): void {
  describeFn(`ArtifactStore contract: ${name}`, () => {
    let store: ArtifactStore;
    let close: (() => Promise<void>) | undefined;
    let counter = 0;
    beforeAll(async () => {
      ({ store, close } = await open());
    });
    afterAll(async () => {
      await close?.();
    });

    /** A target in a version of its own, so tests never see each other's objects. */
    function target(bytes: Buffer, path = 'model.pkl', contentType = CONTENT_TYPE, versionId?: string): ArtifactTarget {
      counter += 1;
      const v = versionId ?? `v${Date.now()}-${counter}-${randomBytes(3).toString('hex')}`;
      return { modelName: 'iris', versionId: v, path, sizeBytes: bytes.length, contentType, sha256: sha(bytes) };
    }

    function put(req: PresignedRequest, body: Buffer, headers?: Record<string, string>): Promise<Response> {
      expect(req.method).toBe('PUT');
      return fetch(req.url, { method: 'PUT', body, headers: headers ?? Object.fromEntries(req.headers.map((h) => [h.name, h.value])) });
    }
    async function get(url: string): Promise<{ status: number; body: Buffer; contentType: string | null }> {
      const res = await fetch(url);
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()), contentType: res.headers.get('content-type') };
    }
    /** Uploads and finalizes; returns the target. */
    async function stored(bytes: Buffer, path?: string, versionId?: string): Promise<ArtifactTarget> {
      const t = target(bytes, path, CONTENT_TYPE, versionId);
      const res = await put(await store.presignUpload(t, TTL), bytes);
      expect(res.status).toBe(200);
      expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
      return t;
    }
    async function downloadOf(t: ArtifactTarget): Promise<{ status: number; body: Buffer; contentType: string | null }> {
      return get((await store.presignDownload(t, TTL)).url);
    }
    /** Changes one character of the 64-hex signature in the query string. */
    function tamperSignature(url: string): string {
      const u = new URL(url);
      const entry = [...u.searchParams].find(([, v]) => /^[0-9a-f]{64}$/.test(v));
      expect(entry, 'a 64-hex signature in the query').toBeDefined();
      const [name, value] = entry!;
      u.searchParams.set(name, value.slice(0, -1) + (value.endsWith('0') ? '1' : '0'));
      return u.toString();
    }
    /** The same URL with its last path segment (the artifact's file name) replaced. */
    function withFileName(url: string, fileName: string): string {
      const u = new URL(url);
      u.pathname = u.pathname.replace(/[^/]+$/, encodeURIComponent(fileName));
      return u.toString();
    }
    const refused = (status: number): boolean => status >= 400 && status < 500;
    function sha(b: Buffer): string {
      return createHash('sha256').update(b).digest('hex');
    }

    it('uploads, finalizes, and serves the identical bytes with the declared type', async () => {
      const bytes = randomBytes(64 * 1024 + 7);
      const t = target(bytes);
      const before = Date.now();
      const up = await store.presignUpload(t, TTL);
      expect(up.method).toBe('PUT');
      expect(up.headers).toContainEqual({ name: 'Content-Type', value: CONTENT_TYPE });
      expect(up.expiresAt.getTime()).toBeGreaterThan(before + (TTL - 2) * 1000);
      expect(up.expiresAt.getTime()).toBeLessThanOrEqual(before + (TTL + 1) * 1000);
      expect((await put(up, bytes)).status).toBe(200);
      expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
      const down = await store.presignDownload(t, TTL);
      expect(down.method).toBe('GET');
      const got = await get(down.url);
      expect(got.status).toBe(200);
      expect(got.contentType).toBe(CONTENT_TYPE);
      expect(got.body.equals(bytes)).toBe(true);
    });

    it('handles artifacts of 0 bytes', async () => {
      const empty = Buffer.alloc(0);
      const t = await stored(empty, 'empty.txt');
      const got = await downloadOf(t);
      expect(got.status).toBe(200);
      expect(got.body.length).toBe(0);
    });

    it('works for paths with directories, spaces, parentheses and the other allowed punctuation', async () => {
      for (const path of ['weights/model (final).pt', 'data set/part [2] a+b=c@d,e.bin']) {
        expect(unsafePathReason(path)).toBeNull();
        const bytes = randomBytes(100);
        const t = await stored(bytes, path);
        const got = await downloadOf(t);
        expect(got.status, path).toBe(200);
        expect(got.body.equals(bytes), path).toBe(true);
      }
    });

    it('does not finalize bytes that differ from the declared sha256 (same length), names the artifact, and removes the upload', async () => {
      const declared = randomBytes(256);
      const sent = randomBytes(256);
      const t = target(declared);
      const res = await put(await store.presignUpload(t, TTL), sent);
      // A store that checks the declared sha256 on PUT (S3 with x-amz-checksum-sha256) refuses it there (400 BadDigest).
      expect([200, 400]).toContain(res.status);
      const outcome = await store.finalize(t, sha(declared));
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.reason).toContain('"model.pkl"');
      expect(outcome.reason).toContain(res.status === 200 ? 'sha256' : 'was not uploaded');
      // The staged bytes are gone: nothing is left to verify, and nothing can be downloaded.
      expect(await store.finalize(t, sha(declared))).toEqual({ ok: false, reason: 'artifact "model.pkl" was not uploaded' });
      expect(refused((await downloadOf(t)).status)).toBe(true);
    });

    it('refuses an upload whose length differs from the declared one', async () => {
      const declared = randomBytes(1000);
      for (const sent of [declared.subarray(0, 999), Buffer.concat([declared, Buffer.from('x')])]) {
        const t = target(declared);
        const res = await put(await store.presignUpload(t, TTL), sent);
        expect(refused(res.status), `PUT of ${sent.length} bytes answered ${res.status}`).toBe(true);
        expect(await store.finalize(t, sha(declared))).toEqual({ ok: false, reason: 'artifact "model.pkl" was not uploaded' });
      }
    });

    it('refuses an upload with another content type, or none', async () => {
      const bytes = randomBytes(300);
      const t = target(bytes);
      const up = await store.presignUpload(t, TTL);
      const others = Object.fromEntries(up.headers.filter((h) => h.name.toLowerCase() !== 'content-type').map((h) => [h.name, h.value]));
      expect(refused((await put(up, bytes, { ...others, 'Content-Type': 'text/plain' })).status)).toBe(true);
      expect(refused((await put(up, bytes, others)).status)).toBe(true);
      expect((await store.finalize(t, sha(bytes))).ok).toBe(false);
    });

    it('says an artifact that was never uploaded was not uploaded', async () => {
      const t = target(randomBytes(10));
      expect(await store.finalize(t, sha(randomBytes(10)))).toEqual({ ok: false, reason: 'artifact "model.pkl" was not uploaded' });
    });

    it('is idempotent: finalizing again verifies the final bytes and still succeeds', async () => {
      const bytes = randomBytes(2048);
      const t = await stored(bytes);
      expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
      expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
      expect((await downloadOf(t)).body.equals(bytes)).toBe(true);
      // ... and still checks them against what is declared.
      const wrong = await store.finalize(t, sha(randomBytes(8)));
      expect(wrong.ok).toBe(false);
    });

    it('reports progress while it reads the bytes back, and a finalize cut short (abort) leaves the upload for the next one', async () => {
      const bytes = randomBytes(3 * 1024 * 1024);
      const t = await stored(bytes);
      const aborted = new AbortController();
      aborted.abort(new Error('shutting down'));
      await expect(store.finalize(t, sha(bytes), { signal: aborted.signal })).rejects.toThrow();
      const seen: number[] = [];
      expect(await store.finalize(t, sha(bytes), { onProgress: (n) => seen.push(n) })).toEqual({ ok: true });
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((n, i) => i === 0 || n >= seen[i - 1]!)).toBe(true);
      expect(seen[seen.length - 1]).toBe(bytes.length);
      expect((await downloadOf(t)).body.equals(bytes)).toBe(true);
    });

    it('serves byte ranges (206) with an ETag, so an interrupted download resumes', async () => {
      const bytes = randomBytes(4096);
      const t = await stored(bytes);
      expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
      const url = (await store.presignDownload(t, TTL)).url;
      const part = await fetch(url, { headers: { Range: 'bytes=100-1123' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 100-1123/${bytes.length}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 1124))).toBe(true);
      const rest = await fetch(url, { headers: { Range: 'bytes=4000-' } });
      expect(rest.status).toBe(206);
      expect(Buffer.from(await rest.arrayBuffer()).equals(bytes.subarray(4000))).toBe(true);
      const whole = await fetch(url);
      expect(whole.headers.get('etag')).toMatch(/^"[0-9a-f]+"$/);
      expect((await fetch(url, { headers: { Range: `bytes=${bytes.length + 10}-` } })).status).toBe(416);
      await whole.arrayBuffer();
    });

    it('keeps the finalized bytes when an old upload URL is replayed with other bytes', async () => {
      const bytes = randomBytes(512);
      const t = target(bytes);
      const up = await store.presignUpload(t, TTL);
      expect((await put(up, bytes)).status).toBe(200);
      expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
      const replayed = randomBytes(512);
      const res = await put(up, replayed);
      // The URL is still valid until it expires; what it writes is never the final object.
      expect([200, 403]).toContain(res.status);
      const got = await downloadOf(t);
      expect(got.status).toBe(200);
      expect(got.body.equals(bytes)).toBe(true);
    });

    it('does not serve uploaded bytes before they are finalized, and an upload URL cannot read', async () => {
      const bytes = randomBytes(128);
      const t = target(bytes);
      const up = await store.presignUpload(t, TTL);
      expect((await put(up, bytes)).status).toBe(200);
      expect(refused((await downloadOf(t)).status)).toBe(true);
      const viaUploadUrl = await get(up.url);
      expect(viaUploadUrl.status).not.toBe(200);
      expect(viaUploadUrl.body.equals(bytes)).toBe(false);
    });

    it('signs downloads for HEAD too: a HEAD URL answers HEAD with the size and type, and refuses GET', async () => {
      const bytes = randomBytes(321);
      const t = await stored(bytes);
      const head = await store.presignDownload(t, TTL, 'HEAD');
      expect(head.method).toBe('HEAD');
      const res = await fetch(head.url, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe('321');
      expect(res.headers.get('content-type')).toBe(CONTENT_TYPE);
      expect((await get(head.url)).status).toBe(403);
    });

    it('refuses URLs with one signature character changed (403)', async () => {
      const bytes = randomBytes(64);
      const t = await stored(bytes);
      expect((await get(tamperSignature((await store.presignDownload(t, TTL)).url))).status).toBe(403);
      const t2 = target(bytes);
      const up = await store.presignUpload(t2, TTL);
      expect((await fetch(tamperSignature(up.url), { method: 'PUT', body: bytes, headers: Object.fromEntries(up.headers.map((h) => [h.name, h.value])) })).status).toBe(403);
      expect((await store.finalize(t2, sha(bytes))).ok).toBe(false);
    });

    it('refuses URLs whose key was changed (403), also to reach an existing object', async () => {
      const a = randomBytes(64);
      const b = randomBytes(64);
      const ta = await stored(a, 'a.bin');
      await stored(b, 'b.bin', ta.versionId);
      const down = await store.presignDownload(ta, TTL);
      expect((await get(withFileName(down.url, 'b.bin'))).status).toBe(403);
      const up = await store.presignUpload(ta, TTL);
      const moved = withFileName(up.url, 'c.bin');
      expect((await fetch(moved, { method: 'PUT', body: a, headers: Object.fromEntries(up.headers.map((h) => [h.name, h.value])) })).status).toBe(403);
      expect(await store.finalize({ ...ta, path: 'c.bin' }, sha(a))).toEqual({ ok: false, reason: 'artifact "c.bin" was not uploaded' });
    });

    it('refuses expired upload and download URLs (403)', async () => {
      const bytes = randomBytes(32);
      const done = await stored(bytes);
      const down = await store.presignDownload(done, 1);
      const t = target(bytes);
      const up = await store.presignUpload(t, 1);
      expect(up.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
      await sleep(2100);
      expect((await put(up, bytes)).status).toBe(403);
      expect((await get(down.url)).status).toBe(403);
      expect((await store.finalize(t, sha(bytes))).ok).toBe(false);
    });

    it('discards staging and final objects', async () => {
      const bytes = randomBytes(100);
      const done = await stored(bytes, 'done.bin');
      const pending = target(bytes, 'pending.bin', CONTENT_TYPE, done.versionId);
      expect((await put(await store.presignUpload(pending, TTL), bytes)).status).toBe(200);
      await store.discard([done, pending]);
      expect(refused((await downloadOf(done)).status)).toBe(true);
      expect(await store.finalize(done, sha(bytes))).toEqual({ ok: false, reason: 'artifact "done.bin" was not uploaded' });
      expect(await store.finalize(pending, sha(bytes))).toEqual({ ok: false, reason: 'artifact "pending.bin" was not uploaded' });
      // Discarding what is already gone is fine.
      await store.discard([done, pending]);
    });

    it('lists staged uploads grouped by version (never final objects) and removes a listed group, leaving final objects', async () => {
      const bytes = randomBytes(64);
      const done = await stored(bytes, 'done.bin');
      const a = target(bytes, 'a/one.bin');
      const b = target(Buffer.alloc(10, 1), 'two.bin', CONTENT_TYPE, a.versionId);
      expect((await put(await store.presignUpload(a, TTL), bytes)).status).toBe(200);
      expect((await put(await store.presignUpload(b, TTL), Buffer.alloc(10, 1))).status).toBe(200);
      const listed = async () => {
        const groups = [];
        for await (const g of store.listStaged()) groups.push(g);
        return groups;
      };
      const before = await listed();
      expect(before.filter((g) => g.versionId === done.versionId)).toEqual([]);
      const mine = before.filter((g) => g.versionId === a.versionId);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ modelName: 'iris', bytes: 74 });
      expect(mine[0]!.keys).toHaveLength(2);
      expect(Date.now() - mine[0]!.lastModified.getTime()).toBeLessThan(10 * 60_000);
      await store.removeStaged(mine[0]!);
      expect((await listed()).filter((g) => g.versionId === a.versionId)).toEqual([]);
      expect(await store.finalize(a, sha(bytes))).toEqual({ ok: false, reason: 'artifact "a/one.bin" was not uploaded' });
      expect((await downloadOf(done)).body.equals(bytes)).toBe(true);
      // A group naming keys outside the staged namespaces is refused, whatever it says.
      await expect(store.removeStaged({ ...mine[0]!, keys: ['iris/x/y'] })).rejects.toThrow(/not a staged key/);
    });

    it('keeps audit checkpoints where no URL reaches them, lists them in name order, and never replaces one', async () => {
      const base = Date.now() % 1_000_000_000;
      const names = [base + 2, base + 1].map((n) => `${String(n).padStart(16, '0')}.json`);
      for (const name of names) await store.writeAuditCheckpoint(name, Buffer.from(`{"n":"${name}"}`));
      await store.writeAuditCheckpoint(names[0]!, Buffer.from(`{"n":"${names[0]}"}`)); // the same again (a retry): fine
      await expect(store.writeAuditCheckpoint(names[0]!, Buffer.from('{"other":1}'))).rejects.toThrow();
      await expect(store.writeAuditCheckpoint('../x.json', Buffer.from('{}'))).rejects.toThrow(/not a checkpoint name/);
      const listed = await store.auditCheckpointNames();
      expect(listed.filter((n) => names.includes(n))).toEqual([...names].sort());
      expect(listed).toEqual([...listed].sort());
      for (const n of names) expect((await store.readAuditCheckpoint(n))?.toString()).toBe(`{"n":"${n}"}`);
      expect(await store.readAuditCheckpoint('0000000000000000.json')).toBeNull();
    });

    it('answers ping when storage is reachable', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
