import { type KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface AuditSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM, served at /v1/audit/public-key. */
  publicKeyPem: string;
}

export class AuditSigningKeyError extends Error {}

/**
 * The Ed25519 key audit checkpoints are signed with: a PKCS#8 PEM file outside the metadata store
 * (REGISTRY_AUDIT_SIGNING_KEY_FILE). Created (mode 0600) when absent and `create` is set (the
 * default path in the data directory); a file that is not an Ed25519 private key stops the server.
 */
export async function loadOrCreateAuditSigningKey(file: string, create: boolean): Promise<AuditSigningKey> {
  let pem = await readPem(file);
  if (pem === null) {
    if (!create) throw new AuditSigningKeyError(`REGISTRY_AUDIT_SIGNING_KEY_FILE ${file} does not exist`);
    pem = await createKeyFile(file);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new AuditSigningKeyError(`${file} is not a PEM private key`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new AuditSigningKeyError(`${file} holds a ${privateKey.asymmetricKeyType} key; audit checkpoints need Ed25519`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

async function readPem(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Written aside, synced, then linked into place: a concurrent first start keeps one key. */
async function createKeyFile(file: string): Promise<string> {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(pem);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return (await readPem(file))!;
  } finally {
    await rm(tmp, { force: true });
  }
  return pem;
}
