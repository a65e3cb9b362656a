import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backupDataDir } from '../../src/backup/backup.js';
import { restoreDataDir } from '../../src/backup/restore.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

/**
 * Issue 15 (backup and restore, embedded mode): a consistent copy of the data directory taken
 * while a server process keeps registering versions; restored into a new directory, a server
 * started on it serves every version's verified bytes, and the audit chain and its signed
 * checkpoints verify. A damaged backup is refused and writes nothing.
 */
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

async function gql(s: ServerProcess, token: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${s.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data: any; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** Registers, uploads and completes one version with `bytes`; returns its id. */
async function publish(s: ServerProcess, token: string, bytes: Buffer): Promise<string> {
  const r = await gql(s, token, `mutation($i: RegisterModelVersionInput!) { registerModelVersion(input: $i) { version { id } uploads { upload { url method headers { name value } } } } }`, {
    i: { modelName: 'kept', modelType: 't', datasetVersion: 'd', metrics: [{ name: 'roc_auc', value: Math.random() }], artifacts: [{ path: 'w.bin', sizeBytes: bytes.length, sha256: sha(bytes) }] },
  });
  const u = r.registerModelVersion.uploads[0].upload;
  const put = await fetch(u.url, { method: u.method, headers: Object.fromEntries(u.headers.map((h: any) => [h.name, h.value])), body: bytes });
  expect(put.status).toBe(200);
  await gql(s, token, `mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`, { id: r.registerModelVersion.version.id });
  return r.registerModelVersion.version.id;
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(process.env.MONGODB_URI)('backup and restore of an embedded registry', () => {
  it('backs up under a write load; the restored copy serves every version and its audit chain and checkpoints verify', async () => {
    const dataDir = tempDir('registry-backup-src-');
    const token = randomBytes(32).toString('base64url');
    const env = { REGISTRY_ADMIN_TOKEN: token, REGISTRY_AUDIT_CHECKPOINT_EVERY_EVENTS: '10' };
    const server = await startServerProcess({ ...env, REGISTRY_DATA_DIR: dataDir });
    const backup = join(tempDir('registry-backup-'), 'copy');
    let restored: ServerProcess | null = null;
    try {
      for (let i = 0; i < 5; i++) await publish(server, token, randomBytes(4096));
      const deadline = Date.now() + 20_000; // a signed checkpoint exists (every 10 events, looked for every 5 s)
      while ((await gql(server, token, '{ verifyAuditLog { checkpointsChecked } }')).verifyAuditLog.checkpointsChecked === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
      }
      // Writers keep going while the copy is taken.
      let writing = true;
      const load = (async () => {
        let n = 0;
        while (writing) {
          await publish(server, token, randomBytes(2048));
          n++;
        }
        return n;
      })();
      await new Promise((r) => setTimeout(r, 300));
      const manifest = await backupDataDir({ dataDir, target: backup });
      writing = false;
      expect(await load).toBeGreaterThan(0);
      expect(manifest.auditHead).toBeGreaterThan(10);
      expect(manifest.files.some((f) => f.path.startsWith('artifacts/audit-checkpoints/'))).toBe(true);
      expect(manifest.files.some((f) => f.path.includes('signing') || f.path.endsWith('.pem') && f.path !== 'audit-public-key.pem')).toBe(false); // no secret in a backup

      const target = join(tempDir('registry-restored-'), 'data');
      await restoreDataDir({ backup, target });
      // Keys are not in backups: the restored registry is given the same ones (audit signing, artifact encryption).
      restored = await startServerProcess({
        ...env, REGISTRY_DATA_DIR: target, REGISTRY_AUDIT_SIGNING_KEY_FILE: join(dataDir, 'audit-signing-key.pem'), REGISTRY_ENCRYPTION_KEY_FILE: join(dataDir, 'artifact-encryption.key'),
      });
      const v = (await gql(restored, token, '{ verifyAuditLog { valid message checkpointsChecked eventsChecked } }')).verifyAuditLog;
      expect(v).toMatchObject({ valid: true });
      expect(v.checkpointsChecked).toBeGreaterThan(0);
      const versions = (await gql(restored, token, '{ modelVersions(modelName: "kept", first: 100) { edges { node { id status artifacts { path sha256 } } } } }')).modelVersions.edges.map((e: any) => e.node);
      const ready = versions.filter((n: any) => n.status === 'READY');
      expect(ready.length).toBeGreaterThanOrEqual(5);
      for (const n of ready) {
        const res = await fetch(`${restored.url}/v1/models/kept/versions/${n.id}/artifacts/w.bin`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(n.artifacts[0].sha256);
      }
      expect(readFileSync(join(backup, 'audit-public-key.pem'), 'utf8')).toBe(await (await fetch(`${restored.url}/v1/audit/public-key`)).text());
    } finally {
      await server.stop();
      await restored?.stop();
    }
  }, 120_000);

  it('refuses a damaged backup, one with an unlisted file, and a non-empty target, writing nothing', async () => {
    const dataDir = tempDir('registry-backup-src-');
    const token = randomBytes(32).toString('base64url');
    const server = await startServerProcess({ REGISTRY_ADMIN_TOKEN: token, REGISTRY_DATA_DIR: dataDir });
    try {
      await publish(server, token, randomBytes(1024));
    } finally {
      await server.stop();
    }
    const backup = join(tempDir('registry-backup-'), 'copy');
    const manifest = await backupDataDir({ dataDir, target: backup });
    const artifact = manifest.files.find((f) => f.path.startsWith('artifacts/models/'))!;
    const file = join(backup, artifact.path);
    const original = readFileSync(file);
    const damaged = Buffer.from(original);
    damaged[0] = damaged[0]! ^ 1;
    writeFileSync(file, damaged);
    const target = join(tempDir('registry-restored-'), 'data');
    await expect(restoreDataDir({ backup, target })).rejects.toThrow(`${artifact.path} is damaged`);
    expect(existsSync(target)).toBe(false);
    writeFileSync(file, original);
    writeFileSync(join(backup, 'extra.bin'), 'x');
    await expect(restoreDataDir({ backup, target })).rejects.toThrow('which its manifest does not list');
    rmSync(join(backup, 'extra.bin'));
    const busy = tempDir('registry-busy-');
    writeFileSync(join(busy, 'something'), 'x');
    await expect(restoreDataDir({ backup, target: busy })).rejects.toThrow('is not empty');
    expect(readdirSync(busy)).toEqual(['something']);
    await restoreDataDir({ backup, target });
    expect(readdirSync(target).sort()).toEqual(['artifacts', 'audit-public-key.pem', 'registry.db']);
    await expect(backupDataDir({ dataDir, target: backup })).rejects.toThrow('is not empty');
  }, 120_000);
});
