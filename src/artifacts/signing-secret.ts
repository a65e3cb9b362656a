import { randomBytes } from 'node:crypto';
import { link, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The HMAC key for the filesystem store's URLs: 32 random bytes, kept hex-encoded. */
const SECRET_BYTES = 32;
const HEX_SECRET = new RegExp(`^[0-9a-f]{${SECRET_BYTES * 2}}$`);

export class SigningSecretError extends Error {}

/**
 * Loads the signing secret from `file`, or creates it (mode 0600) when there is none. A secret
 * that is not exactly 64 hex characters (empty, cut short, edited) stops the start: signing with
 * a weak or empty key would let anyone forge upload and download URLs.
 */
export async function loadOrCreateSigningSecret(file: string): Promise<Buffer> {
  return loadOrCreateHexSecret(file, () => new SigningSecretError(
    `${file} is damaged: it must hold exactly ${SECRET_BYTES * 2} hex characters (${SECRET_BYTES} random bytes). ` +
      'Restore it from a backup, or delete it to make a new one (URLs already handed out then stop working).',
  ));
}

/**
 * 32 random bytes kept hex-encoded in `file` (mode 0600), created when absent; `damaged` makes the
 * error for a file that is not exactly 64 hex characters. Also the artifact encryption key's file.
 */
export async function loadOrCreateHexSecret(file: string, damaged: () => Error): Promise<Buffer> {
  const existing = await readSecret(file, damaged);
  if (existing !== null) return existing;
  // Written aside and synced, then hard-linked into place: link() fails if another process won
  // the race, and no reader ever sees a half-written file, also after a power cut.
  const secret = randomBytes(SECRET_BYTES);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeSynced(tmp, secret.toString('hex'));
  try {
    await link(tmp, file);
    await syncDir(dirname(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return (await readSecret(file, damaged))!;
  } finally {
    await rm(tmp, { force: true });
  }
  return secret;
}

async function readSecret(file: string, damaged: () => Error): Promise<Buffer | null> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (!HEX_SECRET.test(text)) throw damaged();
  return Buffer.from(text, 'hex');
}

async function writeSynced(file: string, content: string): Promise<void> {
  const handle = await open(file, 'wx', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
