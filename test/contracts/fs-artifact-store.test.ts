import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { fsArtifactRoutes } from '../../src/artifacts/fs-artifact.http.js';
import { FsArtifactStore, objectKey } from '../../src/artifacts/fs-artifact.store.js';
import { describeArtifactStore } from './artifact-store.contract.js';
import { describeMultipartArtifacts } from './multipart.contract.js';
import { fsMultipartRoutes } from '../../src/artifacts/multipart/fs-multipart.http.js';

/**
 * The filesystem store, its signed URLs served by a real node:http server on 127.0.0.1: with
 * encryption at rest (as the server runs it), and with REGISTRY_ENCRYPTION=off (the benchmark's ceiling).
 */
for (const encryptionKey of [randomBytes(32), null]) describeArtifactStore(`FsArtifactStore (temp dir, node:http on 127.0.0.1, encryption ${encryptionKey ? 'on' : 'off'})`, () => openFs(encryptionKey));
describeMultipartArtifacts('FsArtifactStore (temp dir, node:http on 127.0.0.1, encryption on)', () => openFs(randomBytes(32)), { listsParts: true, checksEtags: true, checksPartHashes: true });

async function openFs(encryptionKey: Buffer | null) {
  const root = await mkdtemp(join(tmpdir(), 'fs-artifacts-'));
  let base: string | null = null;
  const store = await FsArtifactStore.open({
    root,
    encryptionKey,
    publicUrl: () => {
      if (base === null) throw new Error('server is not listening yet');
      return base;
    },
  });
  const parts = fsMultipartRoutes(store, async () => true);
  const routes = fsArtifactRoutes(store, async () => true);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    parts(req, res, url)
      .then((handled) => handled || routes(req, res, url))
      .then((handled) => {
        if (!handled) {
          res.writeHead(404);
          res.end();
        }
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    store,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Overlapping finalize calls on one artifact (a lost lease): never a false "not uploaded" or mismatch, never other bytes. */
describe('FsArtifactStore: overlapping finalize calls', () => {
  it('answers ok, or asks to try again, for every one of three overlapping calls, 20 times over', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fs-overlap-'));
    try {
      // Staging files written here as an upload writes them (sealed).
      const store = await FsArtifactStore.open({ root, publicUrl: () => 'http://127.0.0.1:1', encryptionKey: randomBytes(32) });
      for (let round = 0; round < 20; round++) {
        const bytes = randomBytes(256 * 1024 + round);
        const t = { modelName: 'iris', versionId: `v20260101000000_${round.toString(16).padStart(8, '0')}`, path: 'm/model.bin', sizeBytes: bytes.length, contentType: 'application/octet-stream' };
        const staging = store.fileFor(objectKey('uploads', t));
        await mkdir(dirname(staging), { recursive: true });
        await pipeline(Readable.from([bytes]), store.codec.writer(bytes.length), createWriteStream(staging));
        const sha = createHash('sha256').update(bytes).digest('hex');
        const results = await Promise.allSettled([1, 2, 3].map(() => store.finalize(t, sha)));
        for (const r of results) {
          if (r.status === 'fulfilled') expect(r.value).toEqual({ ok: true });
          else expect(String(r.reason)).toMatch(/is being verified by another call; try again/);
        }
        expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
        const final: Buffer[] = [];
        for await (const c of (await store.codec.open(store.fileFor(objectKey('models', t)))).stream()) final.push(c as Buffer);
        expect(Buffer.concat(final).equals(bytes)).toBe(true);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
