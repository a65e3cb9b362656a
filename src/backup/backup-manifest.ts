import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/** What a backup holds: every file with its size and sha256, so that a damaged copy is refused. */
export interface BackupManifest {
  format: 'model-registry-backup/1';
  createdAt: string;
  /** The audit log's last sequence in the copied database; checkpoints after it are left out. */
  auditHead: number;
  /** The Ed25519 public key that verifies the audit checkpoints (SPKI PEM), or null when there was none. */
  auditPublicKeyPem: string | null;
  files: { path: string; sizeBytes: number; sha256: string }[];
}

export const MANIFEST_FILE = 'backup-manifest.json';

export async function fileDigest(file: string): Promise<{ sizeBytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).length;
  }
  return { sizeBytes, sha256: hash.digest('hex') };
}

/** Every regular file under `dir`, as paths relative to it with `/` separators, sorted. */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Relative, no `..`, no absolute path, no empty segment: a path from a manifest that may be joined to a folder. */
export function safeRelativePath(path: string): boolean {
  return path.length > 0 && !path.startsWith('/') && path.split('/').every((s) => s !== '' && s !== '.' && s !== '..') && !path.includes('\\') && !path.includes('\0');
}

export async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    if (!(await stat(dir)).isDirectory()) return false;
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}
