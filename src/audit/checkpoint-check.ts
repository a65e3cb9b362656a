import type { KeyObject } from 'node:crypto';
import { CHECKPOINT_NAME, type SignedCheckpoint, checkpointDigest, checkpointName, parseCheckpoint, signatureValid } from './checkpoint.js';

export type CheckpointProblemKind = 'TRUNCATED' | 'REWRITTEN' | 'MISSING_CHECKPOINT' | 'FORGED_CHECKPOINT';

export interface CheckpointProblem {
  kind: CheckpointProblemKind;
  /** The sequence the problem is about (the signed one). */
  sequence: number;
  message: string;
}

export interface CheckpointReport {
  checkpointsChecked: number;
  /** The newest checkpoint whose signature verified, or null. */
  newest: SignedCheckpoint | null;
  problems: CheckpointProblem[];
}

/**
 * Checks an audit log against its signed checkpoints. `stored`: the checkpoint objects as kept
 * (name, body); `recorded`: sequences the log itself says a checkpoint was written for (its
 * checkpoint events, which survive as long as the log does); `hashAt`: the hash of the log's event
 * with that sequence, or null when the log has no such event; `head`: the log's last sequence.
 *
 * Finds: a checkpoint whose signature fails or that does not parse (forged); a checkpoint naming a
 * previous one that is not there, or one the log recorded that is gone (missing); the log ending
 * before a signed sequence (truncated); a signed head hash the log no longer has (rewritten).
 */
export async function checkCheckpoints(
  stored: readonly { name: string; body: Buffer }[],
  recorded: readonly number[],
  publicKey: KeyObject,
  hashAt: (sequence: number) => Promise<string | null>,
  head: number,
): Promise<CheckpointReport> {
  const problems: CheckpointProblem[] = [];
  const valid: SignedCheckpoint[] = [];
  for (const { name, body } of stored) {
    const parsed = CHECKPOINT_NAME.test(name) ? parseCheckpoint(body) : null;
    const named = Number.parseInt(name, 10);
    if (parsed === null || !signatureValid(parsed, publicKey) || checkpointName(parsed.checkpoint.sequence) !== name) {
      const sequence = parsed?.checkpoint.sequence ?? (Number.isSafeInteger(named) ? named : 0);
      problems.push({ kind: 'FORGED_CHECKPOINT', sequence, message: `the checkpoint "${name}" is not signed by the registry's audit key` });
      continue;
    }
    valid.push(parsed);
  }
  valid.sort((a, b) => a.checkpoint.sequence - b.checkpoint.sequence);
  const bySequence = new Set(valid.map((s) => s.checkpoint.sequence));
  valid.forEach((s, i) => {
    const expected = i === 0 ? null : checkpointDigest(valid[i - 1]!);
    if (s.checkpoint.previousCheckpoint !== expected) {
      const after = i === 0 ? 'the start' : `sequence ${valid[i - 1]!.checkpoint.sequence}`;
      problems.push({
        kind: 'MISSING_CHECKPOINT', sequence: s.checkpoint.sequence,
        message: `the checkpoint at sequence ${s.checkpoint.sequence} names a previous checkpoint that is missing (after ${after})`,
      });
    }
  });
  for (const sequence of recorded) {
    if (!bySequence.has(sequence)) {
      problems.push({ kind: 'MISSING_CHECKPOINT', sequence, message: `the log records a checkpoint at sequence ${sequence}, but it is not in storage` });
    }
  }
  for (const s of valid) {
    const { sequence, headHash, createdAt } = s.checkpoint;
    if (sequence > head) {
      problems.push({ kind: 'TRUNCATED', sequence, message: `the log ends at sequence ${head}, before sequence ${sequence} signed at ${createdAt}: events were deleted` });
      continue;
    }
    const hash = await hashAt(sequence);
    if (hash === null) {
      problems.push({ kind: 'TRUNCATED', sequence, message: `event ${sequence}, signed at ${createdAt}, is missing from the log` });
    } else if (hash !== headHash) {
      problems.push({ kind: 'REWRITTEN', sequence, message: `event ${sequence} no longer has the hash signed at ${createdAt}: the log was rewritten` });
    }
  }
  problems.sort((a, b) => a.sequence - b.sequence);
  return { checkpointsChecked: stored.length, newest: valid.at(-1) ?? null, problems };
}
