import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLogger } from '../../support/log-capture.js';
import type { ArtifactStore } from '../../../src/artifacts/artifact.store.js';
import { type Harness, REGISTER, type Upload, put, sha256, startRegistry } from '../../support/api-harness.js';

/**
 * A background check that loses its lease (another process took it after it expired: here the
 * lease row is handed to another holder in the SQLite file) must stop, not go on beside the new
 * holder. Storage is slowed (each finalize waits 3 s before reading, everything else real) so the
 * check is still running at its next lease renewal.
 */
describe.skipIf(process.env.MONGODB_URI)('a background completion that loses its lease (SQLite file)', () => {
  let h: Harness;
  const { logger, lines: logLines } = capturedLogger();
  beforeAll(async () => {
    const slow = (artifacts: ArtifactStore): ArtifactStore =>
      new Proxy(artifacts, {
        get(obj, prop, receiver) {
          const value = Reflect.get(obj, prop, receiver);
          if (prop !== 'finalize' || typeof value !== 'function') return typeof value === 'function' ? value.bind(obj) : value;
          return async (...args: unknown[]) => {
            await new Promise((r) => setTimeout(r, 3000));
            return (value as (...a: unknown[]) => unknown).apply(obj, args);
          };
        },
      });
    h = await startRegistry({ REGISTRY_ASYNC_COMPLETION_BYTES: '1' }, { wrapArtifacts: slow, logger });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('stops the check, leaves the version PENDING_UPLOAD and says why in the log', async () => {
    const bytes = randomBytes(1024);
    const data = await h.ok(REGISTER, {
      input: { modelName: 'leased', modelType: 't', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm.bin', sizeBytes: bytes.length, sha256: sha256(bytes) }] },
    });
    const { version, uploads } = data.registerModelVersion as { version: { id: string }; uploads: Upload[] };
    expect((await put(uploads[0]!.upload, bytes)).status).toBe(200);
    const answered = await h.ok(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`, { id: version.id });
    expect(answered.completeModelVersionUpload.status).toBe('PENDING_UPLOAD');
    const db = new Database(join(h.dataDir, 'registry.db'));
    db.prepare("UPDATE leases SET holder = 'another-process' WHERE name = ?").run(`complete:${version.id}`);
    db.close();
    await new Promise((r) => setTimeout(r, 4500));
    const v = (await h.ok(`query($id: ID!) { modelVersion(id: $id) { status } }`, { id: version.id })).modelVersion;
    expect(v.status).toBe('PENDING_UPLOAD');
    expect(logLines.some((l) => l.includes('lost its lease to another'))).toBe(true);
  });
});
