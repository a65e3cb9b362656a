import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ArtifactTarget } from '../../src/artifacts/artifact.store.js';
import { fsArtifactRoutes } from '../../src/artifacts/fs-artifact.http.js';
import { FsArtifactStore, objectKey } from '../../src/artifacts/fs-artifact.store.js';
import { fsMultipartRoutes } from '../../src/artifacts/multipart/fs-multipart.http.js';

/**
 * Issue 13: the embedded store hashes an upload while its bytes arrive, so that completion does
 * not read the file again; a digest that does not belong to the file in hand (changed after its
 * arrival, replaced, a record altered) is ignored and the file is read, as before. Real files, a
 * real node:http server for the signed upload URL, encryption at rest on and off.
 */
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

async function open(encryptionKey: Buffer | null): Promise<FsArtifactStore> {
  const root = await mkdtemp(join(tmpdir(), 'fs-arrival-'));
  let base = '';
  const store = await FsArtifactStore.open({ root, encryptionKey, publicUrl: () => base });
  const routes = fsArtifactRoutes(store, async () => true);
  const parts = fsMultipartRoutes(store, async () => true);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    parts(req, res, url).then((handled) => handled || routes(req, res, url)).then((handled) => {
      if (!handled) res.writeHead(404).end();
    }, () => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanup = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(root, { recursive: true, force: true });
  };
  return store;
}

async function upload(store: FsArtifactStore, name: string, bytes: Buffer, declared = sha256(bytes)): Promise<ArtifactTarget & { sha256: string }> {
  const t = { modelName: 'arrive', versionId: `v20260101000000_${randomBytes(4).toString('hex')}`, path: `w/${name}`, sizeBytes: bytes.length, contentType: 'application/octet-stream', sha256: declared };
  const url = await store.presignUpload(t, 60);
  const res = await fetch(url.url, { method: 'PUT', headers: { 'content-type': t.contentType }, body: bytes });
  expect(res.status).toBe(200);
  return t;
}

/** The files finalize hashed, other than its look for a final file (which there is none of yet). */
function readsOfUploads(spy: { mock: { calls: unknown[][] } }): string[] {
  return spy.mock.calls.map(([file]) => String(file)).filter((file) => !file.includes('/models/'));
}

async function records(store: FsArtifactStore): Promise<string[]> {
  return (await readdir(join(store.root, 'digests'), { recursive: true }).catch(() => [] as string[])).filter((f) => String(f).endsWith('.json')).map(String);
}

async function finalBytes(store: FsArtifactStore, t: ArtifactTarget): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of (await store.codec.open(store.fileFor(objectKey('models', t)))).stream()) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe.each([['on', randomBytes(32)], ['off', null]] as const)('FsArtifactStore digests taken on arrival (encryption %s)', (_name, key) => {
  it('completes an upload without reading its file again, and forgets the digest once the file is final', async () => {
    const store = await open(key);
    const bytes = randomBytes(300 * 1024 + 5);
    const t = await upload(store, 'model.bin', bytes);
    expect(await records(store)).toHaveLength(1);
    const reads = vi.spyOn(store.codec, 'digest');
    expect(await store.finalize(t, t.sha256)).toEqual({ ok: true });
    expect(readsOfUploads(reads)).toEqual([]);
    expect((await finalBytes(store, t)).equals(bytes)).toBe(true);
    expect(await records(store)).toEqual([]);
  });

  it('still refuses bytes that differ from the registered sha256 (the digest taken on arrival says so)', async () => {
    const store = await open(key);
    const bytes = randomBytes(4096);
    const t = await upload(store, 'other.bin', bytes, sha256(randomBytes(8)));
    const reads = vi.spyOn(store.codec, 'digest');
    const out = await store.finalize(t, t.sha256);
    expect(out.ok).toBe(false);
    expect(readsOfUploads(reads)).toEqual([]);
    expect(await records(store)).toEqual([]);
  });

  it('reads the file when it was rewritten after its arrival, and catches the change', async () => {
    const store = await open(key);
    const bytes = randomBytes(8192);
    const t = await upload(store, 'rewritten.bin', bytes);
    const staged = store.fileFor(objectKey('uploads', t));
    const stored = await readFile(staged);
    stored[stored.length - 1]! ^= 0xff; // in place: the same inode and size
    await writeFile(staged, stored);
    // A rewrite within one tick of the file system's clock could keep the modification time: make it differ.
    const before = await stat(staged);
    await utimes(staged, before.atime, new Date(before.mtimeMs + 5000));
    const reads = vi.spyOn(store.codec, 'digest');
    const out = await store.finalize(t, t.sha256);
    expect(readsOfUploads(reads)).toHaveLength(1);
    expect(out.ok).toBe(false);
  });

  it('ignores a record whose digest was altered (it no longer carries the store\'s MAC), and reads the file', async () => {
    const store = await open(key);
    const bytes = randomBytes(8192);
    const t = await upload(store, 'forged.bin', bytes, sha256(Buffer.from('what was registered')));
    const [file] = await records(store);
    const path = join(store.root, 'digests', file!);
    const record = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...record, sha256: t.sha256 })); // claims the registered digest
    const reads = vi.spyOn(store.codec, 'digest');
    const out = await store.finalize(t, t.sha256);
    expect(readsOfUploads(reads)).toHaveLength(1);
    expect(out.ok).toBe(false);
  });

  it('hashes a multipart upload\'s whole file as the join writes it: completion reads the parts once, not the joined file again', async () => {
    const store = await open(key);
    const bytes = randomBytes(3 * 65536 + 11);
    const t = { modelName: 'arrive', versionId: 'v20260101000000_0000beef', path: 'big.bin', sizeBytes: bytes.length, contentType: 'application/octet-stream', sha256: sha256(bytes) };
    const handle = await store.multipart.begin(t, 65536);
    const given = [];
    for (let n = 1; n <= 4; n++) {
      const part = bytes.subarray((n - 1) * 65536, n * 65536);
      const url = await store.multipart.presignPart(t, handle, n, part.length, 60);
      const res = await fetch(url.url, { method: 'PUT', headers: Object.fromEntries(url.headers.map((h) => [h.name, h.value])), body: part });
      expect(res.status).toBe(200);
      given.push({ partNumber: n, etag: res.headers.get('etag')! });
    }
    expect(await store.multipart.join(t, handle, given)).toEqual({ ok: true });
    const reads = vi.spyOn(store.codec, 'digest');
    expect(await store.finalize(t, t.sha256)).toEqual({ ok: true });
    expect(readsOfUploads(reads)).toEqual([]);
    expect((await finalBytes(store, t)).equals(bytes)).toBe(true);
  });

  it('removes the digests of a version whose staged bytes the cleanup removes', async () => {
    const store = await open(key);
    const t = await upload(store, 'abandoned.bin', randomBytes(1024));
    expect(await records(store)).toHaveLength(1);
    for await (const group of store.listStaged()) if (group.versionId === t.versionId) await store.removeStaged(group);
    expect(await records(store)).toEqual([]);
  });
});
