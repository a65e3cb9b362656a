import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliJson, runCli } from '../support/cli.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { artifactBackends } from '../support/artifact-backends.js';

/**
 * Issue 15 through the CLI, as separate processes: `audit export` from a running registry, then
 * `audit verify --export --checkpoints --public-key` with no server (a truncated export is caught,
 * exit 1), and `admin backup` / `admin restore` of the data directory (a non-empty target: exit 2).
 */
const dirs: string[] = [];
const temp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(process.env.MONGODB_URI)('model-registry audit export / verify (offline) and admin backup / restore', () => {
  it('exports, verifies offline, catches a truncated export, and backs up and restores the data directory', async () => {
    const dataDir = temp('registry-cli-audit-');
    const token = randomBytes(32).toString('base64url');
    let server: ServerProcess = await startServerProcess({ REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: token });
    const env = () => ({ REGISTRY_URL: server.url, REGISTRY_TOKEN: token });
    try {
      for (let i = 0; i < 3; i++) await cliJson(['token', 'create', `reader-${i}`, '--role', 'VIEWER'], env());
      await server.stop(); // writes a signed checkpoint at shutdown
      server = await startServerProcess({ REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: token });
      await cliJson(['token', 'create', 'after-checkpoint', '--role', 'VIEWER'], env());

      const out = join(temp('registry-cli-export-'), 'audit');
      const saved = await cliJson(['audit', 'export', out], env());
      expect(saved.checkpoints).toBeGreaterThanOrEqual(1);
      expect(saved.events).toBe(saved.until); // from sequence 1 up to the newest checkpoint, no more
      const files = ['--export', join(out, 'audit-export.jsonl'), '--checkpoints', join(out, 'checkpoints.jsonl'), '--public-key', join(out, 'audit-public-key.pem')];
      const offline = await cliJson(['audit', 'verify', ...files], {}); // no REGISTRY_URL: nothing is asked of a server
      expect(offline).toMatchObject({ valid: true, checkpointsChecked: saved.checkpoints, newestCheckpointSequence: saved.until });
      // The checkpoint objects as stored (a folder) verify too.
      const folder = await cliJson(['audit', 'verify', '--export', join(out, 'audit-export.jsonl'), '--checkpoints', join(dataDir, 'artifacts', 'audit-checkpoints'),
        '--public-key', join(out, 'audit-public-key.pem')], {});
      expect(folder.valid).toBe(true);

      const lines = readFileSync(join(out, 'audit-export.jsonl'), 'utf8').trimEnd().split('\n');
      writeFileSync(join(out, 'audit-export.jsonl'), `${lines.slice(0, -1).join('\n')}\n`);
      const broken = await runCli(['audit', 'verify', ...files], {});
      expect(broken.code).toBe(1);
      expect(broken.stdout).toContain(`TRUNCATED at sequence ${saved.until}`);

      const backup = join(temp('registry-cli-backup-'), 'copy');
      const b = await cliJson(['admin', 'backup', backup, '--data-dir', dataDir], {});
      expect(b.files).toBeGreaterThan(2);
      const target = join(temp('registry-cli-restore-'), 'data');
      expect((await cliJson(['admin', 'restore', backup, target], {})).auditHead).toBe(b.auditHead);
      expect(readdirSync(target).sort()).toEqual(['artifacts', 'audit-public-key.pem', 'registry.db']);
      const refused = await runCli(['admin', 'restore', backup, target], {});
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('is not empty');
    } finally {
      await server.stop();
    }
  }, 120_000);
});

describe.skipIf(process.env.MONGODB_URI)('model-registry audit verify with the checkpoints read from the bucket', () => {
  it('reads s3://<bucket> with the auditor\'s credentials (s3rver here) and verifies the export offline', async () => {
    const [, s3] = artifactBackends('cli-audit-s3').find(([name]) => name.startsWith('S3'))!;
    const backend = await s3();
    const dataDir = temp('registry-cli-audit-s3-');
    const token = randomBytes(32).toString('base64url');
    const start = () => startServerProcess({ REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: token, ...backend.env });
    let server = await start();
    try {
      const env = () => ({ REGISTRY_URL: server.url, REGISTRY_TOKEN: token });
      await cliJson(['token', 'create', 'reader', '--role', 'VIEWER'], env());
      await server.stop(); // a checkpoint at shutdown, into the bucket
      server = await start();
      const out = join(temp('registry-cli-export-s3-'), 'audit');
      const saved = await cliJson(['audit', 'export', out], env());
      expect(saved.checkpoints).toBeGreaterThanOrEqual(1);
      const verified = await cliJson(['audit', 'verify', '--export', join(out, 'audit-export.jsonl'), '--checkpoints', `s3://${backend.env.S3_BUCKET}`,
        '--s3-endpoint', backend.env.S3_ENDPOINT!, '--public-key', join(out, 'audit-public-key.pem')], {});
      // The bucket may hold a checkpoint newer than the export (none here: the export went up to the newest).
      expect(verified).toMatchObject({ valid: true, checkpointsChecked: saved.checkpoints });
    } finally {
      await server.stop();
      await backend.close();
    }
  }, 120_000);
});
