import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore, ArtifactTarget } from '../../src/artifacts/artifact.store.js';
import type { MultipartArtifacts } from '../../src/artifacts/multipart/multipart.port.js';

export type OpenMultipartStore = () => Promise<{ store: ArtifactStore; close: () => Promise<void> }>;

/**
 * What the storage under test can do: list parts (s3rver cannot), check ETags at the join (s3rver
 * does not), and refuse a part whose bytes differ from the SHA-256 signed into its URL (s3rver
 * ignores checksums; AWS and MinIO check them, the embedded store does itself).
 */
export interface MultipartAbilities {
  listsParts: boolean;
  checksEtags: boolean;
  checksPartHashes: boolean;
}

const PART = 64 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * The MultipartArtifacts contract (issue 16), over real HTTP on the part URLs each store hands
 * out: one upload per artifact however often it is begun, parts in any order, joined into the
 * staging object that finalize verifies, listed and aborted with their version's staged bytes.
 */
export function describeMultipartArtifacts(name: string, open: OpenMultipartStore, can: MultipartAbilities): void {
  describe(`MultipartArtifacts contract: ${name}`, () => {
    let store: ArtifactStore;
    let mp: MultipartArtifacts;
    let close: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      ({ store, close } = await open());
      mp = store.multipart!;
    });
    afterAll(async () => {
      await close?.();
    });

    const target = (bytes: Buffer): ArtifactTarget => ({
      modelName: 'iris', versionId: `v${Date.now()}-${randomBytes(4).toString('hex')}`, path: 'weights/model.bin',
      sizeBytes: bytes.length, contentType: 'application/octet-stream', sha256: sha(bytes), multipart: true,
    });
    const putPart = async (t: ArtifactTarget, bytes: Buffer, n: number): Promise<Response> => {
      const handle = (await mp.find(t))!;
      const body = bytes.subarray((n - 1) * PART, n * PART);
      const url = await mp.presignPart(t, handle, n, body.length, 300);
      return fetch(url.url, { method: url.method, body, headers: Object.fromEntries(url.headers.map((h) => [h.name, h.value])) });
    };
    const sendPart = async (t: ArtifactTarget, bytes: Buffer, n: number): Promise<string> => {
      const res = await putPart(t, bytes, n);
      expect(res.status, await res.clone().text()).toBe(200);
      return res.headers.get('etag')!.replace(/"/g, '');
    };
    const partHashes = (bytes: Buffer) => Array.from({ length: Math.ceil(bytes.length / PART) }, (_, i) => sha(bytes.subarray(i * PART, (i + 1) * PART)));
    const staged = async (t: ArtifactTarget) => {
      const keys: string[] = [];
      for await (const g of store.listStaged()) if (g.versionId === t.versionId) keys.push(...g.keys);
      return keys;
    };

    it('begins one upload per artifact: begun again (another part size), found, it is the same one; nothing before', async () => {
      const t = target(randomBytes(3 * PART));
      expect(await mp.find(t)).toBeNull();
      const first = await mp.begin(t, PART);
      expect(first.partSizeBytes).toBe(PART);
      expect(await mp.begin(t, 2 * PART)).toEqual(first);
      expect(await mp.find(t)).toEqual(first);
      await mp.abort(t);
    });

    it('takes parts in any order, joins them into the staging object, which finalize verifies and makes final', async () => {
      const bytes = randomBytes(3 * PART + 100);
      const t = target(bytes);
      const handle = await mp.begin(t, PART);
      const etags: string[] = [];
      for (const n of [4, 2, 1, 3]) etags[n - 1] = await sendPart(t, bytes, n);
      const listed = await mp.listParts(t, handle);
      if (can.listsParts) expect(listed).toEqual(etags.map((etag, i) => ({ partNumber: i + 1, etag, sizeBytes: i === 3 ? 100 : PART })));
      else expect(listed).toBeNull();
      expect(await mp.join(t, handle, etags.map((etag, i) => ({ partNumber: i + 1, etag })))).toEqual({ ok: true });
      expect(await mp.find(t)).toBeNull();
      expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
      const got = Buffer.from(await (await fetch((await store.presignDownload(t, 300)).url)).arrayBuffer());
      expect(got.equals(bytes)).toBe(true);
    });

    it('the last PUT of a part counts; joined with another part\'s bytes, finalize refuses the artifact', async () => {
      const bytes = randomBytes(2 * PART);
      const t = target(bytes);
      const handle = await mp.begin(t, PART);
      const wrong = Buffer.concat([randomBytes(PART), bytes.subarray(PART)]);
      const e1 = await sendPart(t, wrong, 1);
      const e2 = await sendPart(t, bytes, 2);
      if (can.checksEtags) {
        const again = await sendPart(t, wrong, 1); // uploaded twice: the first ETag no longer names it
        expect((await mp.join(t, handle, [{ partNumber: 1, etag: e1 === again ? 'stale' : e1 }, { partNumber: 2, etag: e2 }])).ok).toBe(false);
        expect(await mp.find(t)).toEqual(handle); // a refused join leaves the upload as it was
      }
      const last = await sendPart(t, wrong, 1);
      expect(await mp.join(t, handle, [{ partNumber: 1, etag: last }, { partNumber: 2, etag: e2 }])).toEqual({ ok: true });
      const out = await store.finalize(t, sha(bytes));
      expect(out.ok).toBe(false);
      expect(out.ok ? '' : out.reason).toContain(`${sha(bytes)} was declared`);
    });

    it('begun with part hashes: records them (begun again without, they stand), signs each into its part URL as x-amz-checksum-sha256, joins parts that match', async () => {
      const bytes = randomBytes(2 * PART + 77);
      const t = target(bytes);
      const hashes = partHashes(bytes);
      const handle = await mp.begin(t, PART, hashes);
      expect(handle).toEqual({ uploadId: handle.uploadId, partSizeBytes: PART, partSha256: hashes });
      expect(await mp.begin(t, PART)).toEqual(handle);
      expect(await mp.find(t)).toEqual(handle);
      for (const n of [1, 2, 3]) {
        const url = await mp.presignPart(t, handle, n, n === 3 ? 77 : PART, 300);
        expect(url.headers).toEqual([{ name: 'x-amz-checksum-sha256', value: Buffer.from(hashes[n - 1]!, 'hex').toString('base64') }]);
      }
      const etags: string[] = [];
      for (const n of [3, 1, 2]) etags[n - 1] = await sendPart(t, bytes, n);
      expect(await mp.join(t, handle, etags.map((etag, i) => ({ partNumber: i + 1, etag })))).toEqual({ ok: true });
      expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
    });

    it('begun without part hashes: part URLs list no checksum header (the behaviour before part hashes)', async () => {
      const bytes = randomBytes(2 * PART);
      const t = target(bytes);
      const handle = await mp.begin(t, PART);
      expect(handle.partSha256).toBeUndefined();
      expect((await mp.presignPart(t, handle, 1, PART, 300)).headers).toEqual([]);
      await mp.abort(t);
    });

    it(can.checksPartHashes
      ? 'refuses a part whose bytes differ from its signed SHA-256 (400, not stored, the good part before it kept); the right bytes then go in'
      : 'a part with other bytes than its signed SHA-256 is taken (this storage ignores checksums); the final sha256 catches it', async () => {
      const bytes = randomBytes(2 * PART);
      const t = target(bytes);
      const handle = await mp.begin(t, PART, partHashes(bytes));
      const good = await sendPart(t, bytes, 1);
      const refused = await putPart(t, Buffer.concat([randomBytes(PART), bytes.subarray(PART)]), 1);
      if (!can.checksPartHashes) {
        expect(refused.status).toBe(200);
        const e2 = await sendPart(t, bytes, 2);
        expect(await mp.join(t, handle, [{ partNumber: 1, etag: refused.headers.get('etag')!.replace(/"/g, '') }, { partNumber: 2, etag: e2 }])).toEqual({ ok: true });
        expect((await store.finalize(t, sha(bytes))).ok).toBe(false);
        return;
      }
      expect(refused.status).toBe(400);
      expect(await refused.text()).toMatch(/SHA-256 [0-9a-f]{64}, its URL was signed for/);
      if (can.listsParts) expect((await mp.listParts(t, handle))?.map((p) => p.etag)).toEqual([good]);
      const e2 = await sendPart(t, bytes, 2);
      expect(await mp.join(t, handle, [{ partNumber: 1, etag: good }, { partNumber: 2, etag: e2 }])).toEqual({ ok: true });
      expect(await store.finalize(t, sha(bytes))).toEqual({ ok: true });
    });

    it('lists an open upload with its version\'s staged bytes; abort (and discard) removes it', async () => {
      const bytes = randomBytes(2 * PART);
      const t = target(bytes);
      await mp.begin(t, PART);
      await sendPart(t, bytes, 1);
      expect((await staged(t)).length).toBeGreaterThan(0);
      await mp.abort(t);
      expect(await mp.find(t)).toBeNull();
      expect(await staged(t)).toEqual([]);
      const u = target(bytes);
      await mp.begin(u, PART);
      await sendPart(u, bytes, 2);
      await store.discard([u]);
      expect(await mp.find(u)).toBeNull();
      expect(await staged(u)).toEqual([]);
    });

    it('removeStaged of a listed group aborts the upload it names', async () => {
      const bytes = randomBytes(2 * PART);
      const t = target(bytes);
      await mp.begin(t, PART);
      await sendPart(t, bytes, 1);
      for await (const g of store.listStaged()) if (g.versionId === t.versionId) await store.removeStaged(g);
      expect(await mp.find(t)).toBeNull();
      expect(await staged(t)).toEqual([]);
    });
  });
}
