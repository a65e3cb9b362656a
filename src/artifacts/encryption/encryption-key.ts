import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadOrCreateHexSecret } from '../signing-secret.js';
import { MAGIC, hasMagic } from './chunked-format.js';
import { ENCRYPTED_MARKER } from './legacy-migration.js';

/** The artifact encryption key file is damaged or missing while artifacts need it: the server does not start (exit 2). */
export class EncryptionKeyError extends Error {}

/**
 * The master key the embedded store encrypts artifacts with: 32 random bytes, hex, in `file`
 * (REGISTRY_ENCRYPTION_KEY_FILE, default `<data dir>/artifact-encryption.key`), created with mode
 * 0600 on first start. Never stored in the database. A file that is not exactly 64 hex characters
 * stops the start, and so does a missing file when `artifactRoot` already holds encrypted
 * artifacts (a restored or moved data directory without its key): a new key would make every
 * artifact sealed under the old one unreadable.
 */
export async function loadOrCreateEncryptionKey(file: string, artifactRoot: string): Promise<Buffer> {
  const missing = async () => (await stat(file).catch(() => null)) === null;
  // Looked at again after the artifacts: another process starting on the same data directory may
  // have created the key and then the marker between the first look and the second (the marker is
  // only ever written after the key exists), which is no reason to refuse.
  if ((await missing()) && (await holdsEncryptedArtifacts(artifactRoot)) && (await missing())) {
    throw new EncryptionKeyError(
      `${file} does not exist, but ${artifactRoot} holds encrypted artifacts: restore the key they were encrypted with ` +
        '(REGISTRY_ENCRYPTION_KEY_FILE) instead of starting with a new one, which could not read them.',
    );
  }
  await mkdir(dirname(file), { recursive: true });
  return loadOrCreateHexSecret(
    file,
    () =>
      new EncryptionKeyError(
        `${file} is damaged: it must hold exactly 64 hex characters (the 32-byte artifact encryption key). ` +
          'Restore it from your backup of the key; without it the encrypted artifacts cannot be read. Do not delete it.',
      ),
  );
}

/** The marker of a store that encrypts, or any file under `models/` with the format's header (stops at the first). */
async function holdsEncryptedArtifacts(root: string): Promise<boolean> {
  if ((await stat(join(root, ENCRYPTED_MARKER)).catch(() => null)) !== null) return true;
  const dirs = [join(root, 'models')];
  while (dirs.length > 0) {
    const dir = dirs.pop()!;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) dirs.push(path);
      else if (e.isFile() && (await startsWithMagic(path))) return true;
    }
  }
  return false;
}

async function startsWithMagic(file: string): Promise<boolean> {
  const handle = await open(file, 'r').catch(() => null);
  if (handle === null) return false;
  try {
    const start = Buffer.alloc(MAGIC.length);
    const { bytesRead } = await handle.read(start, 0, start.length, 0);
    return bytesRead === MAGIC.length && hasMagic(start);
  } finally {
    await handle.close();
  }
}
