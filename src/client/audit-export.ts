import type { Transport } from './transport.js';

/**
 * The audit log as the offline verifier takes it: the signed checkpoints first, then the events
 * from sequence 1 up to the newest of those checkpoints (`until`), so that both describe the same
 * moment of a registry that keeps writing. Unscoped admin token.
 */
export async function fetchAuditExport(t: Transport): Promise<{ checkpoints: string[]; events: string[]; until: number }> {
  const checkpoints = lines(await (await t.get('/v1/audit/checkpoints')).text());
  const until = Math.max(0, ...checkpoints.map(sequenceOf));
  const events = until === 0 ? [] : lines(await (await t.get(`/v1/audit/export?after=0&until=${until}`)).text());
  return { checkpoints, events, until };
}

/** The registry's public key that verifies its checkpoints (PEM). */
export async function fetchAuditPublicKey(t: Transport): Promise<string> {
  return (await t.get('/v1/audit/public-key')).text();
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

function sequenceOf(line: string): number {
  try {
    const s = (JSON.parse(line) as { checkpoint?: { sequence?: unknown } }).checkpoint?.sequence;
    return typeof s === 'number' && Number.isSafeInteger(s) ? s : 0;
  } catch {
    return 0;
  }
}
