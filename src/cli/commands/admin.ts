import type { Command } from 'commander';
import { BackupError, backupDataDir } from '../../backup/backup.js';
import { restoreDataDir } from '../../backup/restore.js';
import { action } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { dataDirFrom } from '../settings.js';

/**
 * `admin backup <dir>` and `admin restore <backup> <data dir>`: an embedded registry's data
 * directory (SQLite and the artifact directory), on the machine that holds it; no server call.
 * Keys are never in a backup (docs/operations.md, "Backup and restore").
 */
export function registerAdmin(program: Command): void {
  const admin = program.command('admin').description('operations on an embedded registry\'s data directory (run where it is)');
  admin
    .command('backup <dir>')
    .description('a consistent copy of the data directory while the registry serves: database, verified artifacts, checkpoints, a sha256 manifest')
    .option('--data-dir <dir>', 'the registry\'s data directory (default: $REGISTRY_DATA_DIR, else ./data)')
    .action(action(async ({ out }, dir: string, flags: { dataDir?: string }) => {
      const manifest = await refusalsAsUsage(() => backupDataDir({ dataDir: dataDirFrom(flags.dataDir), target: dir }));
      const bytes = manifest.files.reduce((n, f) => n + f.sizeBytes, 0);
      out.result({ dir, auditHead: manifest.auditHead, files: manifest.files.length, bytes },
        () => `backup in ${dir}: ${manifest.files.length} files, ${bytes} bytes, audit log up to sequence ${manifest.auditHead}`);
    }));
  admin
    .command('restore <backup> <dataDir>')
    .description('restore a backup into a new (or empty) data directory, after checking every file; a damaged backup is refused')
    .action(action(async ({ out }, backup: string, dataDir: string) => {
      const manifest = await refusalsAsUsage(() => restoreDataDir({ backup, target: dataDir }));
      out.result({ dataDir, auditHead: manifest.auditHead, files: manifest.files.length },
        () => `restored into ${dataDir}: ${manifest.files.length} files, audit log up to sequence ${manifest.auditHead}. Start the registry with the same REGISTRY_AUDIT_SIGNING_KEY_FILE and REGISTRY_ENCRYPTION_KEY_FILE as before.`);
    }));
}

/** A refused backup or restore (not empty, damaged, not a backup) is the user's input: exit 2, with the reason. */
async function refusalsAsUsage<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BackupError) throw new UsageError(err.message);
    throw err;
  }
}
