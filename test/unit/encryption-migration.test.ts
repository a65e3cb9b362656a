import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAGIC } from '../../src/artifacts/encryption/chunked-format.js';
import { FsArtifactStore } from '../../src/artifacts/fs-artifact.store.js';

/**
 * Files from before encryption at rest (src/artifacts/encryption/legacy-migration.ts), on real
 * files: the first start with encryption on seals them in place, then refuses plaintext.
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function plainTree(): Promise<{ root: string; files: Record<string, Buffer> }> {
  const root = mkdtempSync(join(tmpdir(), 'artifacts-before-'));
  dirs.push(root);
  const files: Record<string, Buffer> = {
    'models/iris/v1/model.pkl': randomBytes(200_000),
    'models/iris/v1/empty.txt': Buffer.alloc(0),
    'uploads/iris/v2/model.pkl': randomBytes(10),
    'verifying/iris/v3/call/model.pkl': randomBytes(70_000),
    'tmp/partial-upload': randomBytes(5),
  };
  for (const [key, bytes] of Object.entries(files)) {
    await mkdir(dirname(join(root, key)), { recursive: true });
    await writeFile(join(root, key), bytes);
  }
  return { root, files };
}

async function plaintextOf(store: FsArtifactStore, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of (await store.codec.open(store.fileFor(key))).stream()) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('artifact files from before encryption at rest', () => {
  it('are sealed in place on the first start with encryption on (tmp/ left alone), and read back unchanged', async () => {
    const { root, files } = await plainTree();
    const store = await FsArtifactStore.open({ root, publicUrl: () => 'http://127.0.0.1:1', encryptionKey: randomBytes(32) });
    expect(store.sealedFromBefore).toBe(4);
    for (const [key, bytes] of Object.entries(files)) {
      const disk = await readFile(join(root, key));
      if (key.startsWith('tmp/')) {
        expect(disk.equals(bytes)).toBe(true);
        continue;
      }
      expect(disk.subarray(0, MAGIC.length).equals(MAGIC), key).toBe(true);
      if (bytes.length >= 32) expect(disk.includes(bytes.subarray(0, 32)), key).toBe(false);
      expect((await plaintextOf(store, key)).equals(bytes), key).toBe(true);
    }
    expect((await stat(join(root, '.encryption-v1'))).isFile()).toBe(true);
  });

  it('afterwards refuses a plaintext file put behind the registry\'s back, and does not walk again', async () => {
    const { root } = await plainTree();
    const key = randomBytes(32);
    await FsArtifactStore.open({ root, publicUrl: () => 'http://127.0.0.1:1', encryptionKey: key });
    const planted = Buffer.from('bytes planted in the artifact folder');
    await writeFile(join(root, 'models/iris/v1/model.pkl'), planted);
    const again = await FsArtifactStore.open({ root, publicUrl: () => 'http://127.0.0.1:1', encryptionKey: key });
    expect(again.sealedFromBefore).toBe(0);
    await expect(again.codec.open(again.fileFor('models/iris/v1/model.pkl'))).rejects.toThrow(/not encrypted \(no header\)/);
    const t = { modelName: 'iris', versionId: 'v1', path: 'model.pkl', sizeBytes: planted.length, contentType: 'application/octet-stream' };
    const outcome = await again.finalize(t, 'a'.repeat(64));
    expect(outcome).toEqual({ ok: false, reason: expect.stringMatching(/"model.pkl" failed to decrypt: the file is not encrypted/) });
  });

  it('with encryption off, removes the marker, so the next start with encryption on seals what was written meanwhile', async () => {
    const { root } = await plainTree();
    const key = randomBytes(32);
    await FsArtifactStore.open({ root, publicUrl: () => 'http://127.0.0.1:1', encryptionKey: key });
    await FsArtifactStore.open({ root, publicUrl: () => 'http://127.0.0.1:1', encryptionKey: null });
    await expect(stat(join(root, '.encryption-v1'))).rejects.toThrow();
    await mkdir(join(root, 'models/iris/v9'), { recursive: true });
    await writeFile(join(root, 'models/iris/v9/new.bin'), Buffer.from('written with encryption off'));
    const on = await FsArtifactStore.open({ root, publicUrl: () => 'http://127.0.0.1:1', encryptionKey: key });
    expect(on.sealedFromBefore).toBe(1);
    expect((await plaintextOf(on, 'models/iris/v9/new.bin')).toString()).toBe('written with encryption off');
  });
});
