import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const KEY_BYTES = 32;

export class WebhookKeyError extends Error {}

/**
 * Webhook signing secrets at rest: AES-256-GCM under the server's webhook key, which lives in a
 * file or variable outside the database. A database reader (a backup, a replica, a leaked dump)
 * sees `v1.<iv>.<tag>.<ciphertext>` and cannot sign. The webhook id is bound in as associated
 * data, so a sealed secret copied onto another webhook does not open.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== KEY_BYTES) throw new WebhookKeyError(`the webhook key must be ${KEY_BYTES} bytes`);
  }

  seal(secret: string, webhookId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(webhookId, 'utf8'));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  /** Throws WebhookKeyError when the sealed text was not made by this key for this webhook. */
  open(sealed: string, webhookId: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || body === undefined) throw new WebhookKeyError('the sealed webhook secret is not in a known format');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(webhookId, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new WebhookKeyError('the webhook secret does not open with this server key (was the key replaced?)');
    }
  }
}

/** A key from REGISTRY_WEBHOOK_KEY or its file: exactly 64 hex characters. */
export function parseWebhookKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  if (!/^[0-9a-f]{64}$/i.test(trimmed)) {
    throw new WebhookKeyError(`${where} must hold exactly 64 hex characters (32 random bytes), e.g. from: openssl rand -hex 32`);
  }
  return Buffer.from(trimmed, 'hex');
}
