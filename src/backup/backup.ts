import Database from 'better-sqlite3';
import { createPublicKey } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type BackupManifest, MANIFEST_FILE, fileDigest, filesUnder, isEmptyOrMissing } from './backup-manifest.js';

export class BackupError extends Error {}

/** Artifact folders a backup copies: verified files and signed audit checkpoints (never staging, never secrets). */
const CHECKPOINTS = 'artifacts/audit-checkpoints';
const MODELS = 'artifacts/models';
const CHECKPOINT_NAME = /^([0-9]{16})\.json$/;

/**
 * A consistent copy of an embedded registry's data directory while it serves: the SQLite database
 * through its online backup API (a snapshot, taken first), then the verified artifact files, then
 * the signed audit checkpoints up to the snapshot's last event (a later one would make the
 * restored log look truncated), the audit public key, and a manifest of every file's sha256.
 * Files that belong to versions registered after the snapshot are copied too and are harmless.
 * Written into `<target>.partial-…` and renamed into place at the end: no half backup under `target`.
 */
export async function backupDataDir(opts: { dataDir: string; target: string; auditKeyFile?: string | null; now?: () => Date }): Promise<BackupManifest> {
  const source = join(opts.dataDir, 'registry.db');
  if (!(await isEmptyOrMissing(opts.target))) throw new BackupError(`${opts.target} is not empty: back up into a new folder`);
  const work = `${opts.target}.partial-${process.pid}-${Date.now()}`;
  await mkdir(work, { recursive: true });
  try {
    let db: Database.Database;
    try {
      db = new Database(source, { fileMustExist: true });
    } catch {
      throw new BackupError(`${source} is not a registry database (is ${opts.dataDir} the data directory?)`);
    }
    try {
      await db.backup(join(work, 'registry.db'));
    } finally {
      db.close();
    }
    // A standalone file: no -wal/-shm beside it.
    const copy = new Database(join(work, 'registry.db'));
    copy.pragma('journal_mode = DELETE');
    const auditHead = (copy.prepare('SELECT COALESCE(MAX(sequence), 0) AS head FROM audit_events').get() as { head: number }).head;
    copy.close();
    for (const rel of await filesUnder(join(opts.dataDir, MODELS))) await copyInto(join(opts.dataDir, MODELS, rel), join(work, MODELS, rel));
    for (const rel of await filesUnder(join(opts.dataDir, CHECKPOINTS))) {
      const m = CHECKPOINT_NAME.exec(rel);
      if (m && Number(m[1]) <= auditHead) await copyInto(join(opts.dataDir, CHECKPOINTS, rel), join(work, CHECKPOINTS, rel));
    }
    const keyFile = opts.auditKeyFile ?? join(opts.dataDir, 'audit-signing-key.pem');
    const pem = await readFile(keyFile, 'utf8').catch(() => null);
    const auditPublicKeyPem = pem === null ? null : createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
    if (auditPublicKeyPem !== null) await writeFile(join(work, 'audit-public-key.pem'), auditPublicKeyPem);
    const files = [];
    for (const path of await filesUnder(work)) files.push({ path, ...(await fileDigest(join(work, path))) });
    const manifest: BackupManifest = {
      format: 'model-registry-backup/1', createdAt: (opts.now ?? (() => new Date()))().toISOString(), auditHead, auditPublicKeyPem, files,
    };
    await writeFile(join(work, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await rm(opts.target, { recursive: true, force: true }); // an empty folder, checked above
    await rename(work, opts.target);
    return manifest;
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}

async function copyInto(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, to);
}
