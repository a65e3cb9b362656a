import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { loadOrCreateHexSecret } from '../signing-secret.js';

/** The artifact encryption key file is damaged: the server does not start (exit 2). */
export class EncryptionKeyError extends Error {}

/**
 * The master key the embedded store encrypts artifacts with: 32 random bytes, hex, in `file`
 * (REGISTRY_ENCRYPTION_KEY_FILE, default `<data dir>/artifact-encryption.key`), created with mode
 * 0600 on first start. Never stored in the database. A file that is not exactly 64 hex characters
 * stops the start: a new key would make every artifact sealed under the old one unreadable.
 */
export async function loadOrCreateEncryptionKey(file: string): Promise<Buffer> {
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
