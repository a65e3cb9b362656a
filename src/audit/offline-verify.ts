import { createPublicKey } from 'node:crypto';
import { AuditAction } from '../domain/audit-actions.js';
import type { AuditEvent } from '../domain/model.js';
import { type CheckpointProblem, checkCheckpoints } from './checkpoint-check.js';
import { CHECKPOINT_NAME, checkpointName, parseCheckpoint } from './checkpoint.js';
import { type ChainVerification, verifyChain } from './hash-chain.js';

export interface OfflineVerification {
  chain: ChainVerification;
  checkpointsChecked: number;
  newestCheckpointSequence: number | null;
  problems: CheckpointProblem[];
  valid: boolean;
}

/**
 * Verifies an exported audit log (JSON lines from /v1/audit/export, from sequence 1) against
 * signed checkpoints (from /v1/audit/checkpoints, or the objects as stored) and the public key,
 * with no server and no database: the chain is recomputed, then every checkpoint's signature,
 * its link to the one before, and the hash the log has at its sequence are checked.
 */
export async function verifyOffline(eventLines: AsyncIterable<string>, checkpoints: readonly { name: string | null; body: string }[], publicKeyPem: string): Promise<OfflineVerification> {
  const publicKey = createPublicKey(publicKeyPem);
  const stored = checkpoints.map(({ name, body }) => {
    const parsed = parseCheckpoint(body);
    let fromBody: unknown = null; // an export line whose object did not parse names it
    try {
      fromBody = (JSON.parse(body) as { name?: unknown } | null)?.name;
    } catch {
      /* not JSON: reported as forged below */
    }
    return { name: name ?? (parsed ? checkpointName(parsed.checkpoint.sequence) : typeof fromBody === 'string' ? fromBody : 'unnamed'), body: Buffer.from(body) };
  });
  const wanted = new Set(stored.flatMap((s) => {
    const parsed = CHECKPOINT_NAME.test(s.name) ? parseCheckpoint(s.body) : null;
    return parsed ? [parsed.checkpoint.sequence] : [];
  }));
  const hashes = new Map<number, string>();
  const recorded: number[] = [];
  let head = 0;
  const chain = await verifyChain(parseLines(eventLines), (e) => {
    head = e.sequence;
    if (wanted.has(e.sequence)) hashes.set(e.sequence, e.hash);
    if (e.action === AuditAction.checkpointWritten) recorded.push(e.sequence);
  });
  const report = await checkCheckpoints(stored, recorded, publicKey, async (s) => hashes.get(s) ?? null, head);
  return {
    chain,
    checkpointsChecked: report.checkpointsChecked,
    newestCheckpointSequence: report.newest?.checkpoint.sequence ?? null,
    problems: report.problems,
    valid: chain.valid && report.problems.length === 0,
  };
}

async function* parseLines(lines: AsyncIterable<string>): AsyncIterable<AuditEvent> {
  for await (const line of lines) {
    if (line.trim() === '') continue;
    // Dates stay ISO strings: canonical JSON writes a Date as that very string, so hashes agree.
    yield JSON.parse(line) as AuditEvent;
  }
}
