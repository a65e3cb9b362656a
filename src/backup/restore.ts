import Database from 'better-sqlite3';
import { copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BackupError } from './backup.js';
import { type BackupManifest, MANIFEST_FILE, fileDigest, filesUnder, isEmptyOrMissing, safeRelativePath } from './backup-manifest.js';

/**
 * Restores a backup into an empty (or new) data directory. Everything is checked first: the
 * manifest, every file's size and sha256, no file the manifest does not list, and the database's
 * own integrity check; a damaged backup is refused and nothing is written. The copy is made in
 * `<target>.restoring-…` and renamed into place. Start the server on it with the same
 * REGISTRY_AUDIT_SIGNING_KEY_FILE (and artifact encryption key) as before: keys are not in backups.
 */
export async function restoreDataDir(opts: { backup: string; target: string }): Promise<BackupManifest> {
  const manifest = await readManifest(opts.backup);
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const path of await filesUnder(opts.backup)) {
    if (path !== MANIFEST_FILE && !listed.has(path)) throw new BackupError(`the backup holds ${path}, which its manifest does not list`);
  }
  for (const f of manifest.files) {
    const got = await fileDigest(join(opts.backup, f.path)).catch(() => null);
    if (got === null) throw new BackupError(`the backup lacks ${f.path}`);
    if (got.sizeBytes !== f.sizeBytes || got.sha256 !== f.sha256) throw new BackupError(`${f.path} is damaged: its sha256 differs from the manifest's`);
  }
  const db = new Database(join(opts.backup, 'registry.db'), { readonly: true, fileMustExist: true });
  try {
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new BackupError(`the backed-up database fails its integrity check: ${String(check)}`);
  } finally {
    db.close();
  }
  if (!(await isEmptyOrMissing(opts.target))) throw new BackupError(`${opts.target} is not empty: restore into a new data directory`);
  const work = `${opts.target}.restoring-${process.pid}-${Date.now()}`;
  try {
    for (const f of manifest.files) {
      await mkdir(dirname(join(work, f.path)), { recursive: true });
      await copyFile(join(opts.backup, f.path), join(work, f.path));
    }
    await rm(opts.target, { recursive: true, force: true });
    await rename(work, opts.target);
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
  return manifest;
}

async function readManifest(dir: string): Promise<BackupManifest> {
  let m: BackupManifest;
  try {
    m = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as BackupManifest;
  } catch {
    throw new BackupError(`${dir} has no readable ${MANIFEST_FILE}: not a registry backup`);
  }
  if (m.format !== 'model-registry-backup/1' || !Array.isArray(m.files)) throw new BackupError(`${dir}/${MANIFEST_FILE} is not a registry backup manifest`);
  for (const f of m.files) {
    if (typeof f.path !== 'string' || !safeRelativePath(f.path) || !/^[0-9a-f]{64}$/.test(f.sha256) || !Number.isSafeInteger(f.sizeBytes)) {
      throw new BackupError(`${dir}/${MANIFEST_FILE} lists an entry that is not a safe file path with a sha256`);
    }
  }
  if (!m.files.some((f) => f.path === 'registry.db')) throw new BackupError('the backup has no registry.db');
  return m;
}
