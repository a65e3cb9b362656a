import { randomBytes } from 'node:crypto';

export const VERSION_ID_PATTERN = /^v\d{14}_[0-9a-f]{8}$/;

/** `v{YYYYMMDDHHMMSS}_{8 lowercase hex}`, the timestamp in UTC. */
export function newVersionId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `v${stamp}_${randomBytes(4).toString('hex')}`;
}

export function isVersionId(value: string): boolean {
  return VERSION_ID_PATTERN.test(value);
}
