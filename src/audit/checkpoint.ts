import { type KeyObject, createHash, sign, verify } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/**
 * A signed statement of where the audit chain stood: "event `sequence` had hash `headHash`".
 * Kept outside the database (in the artifact store) and signed with a key the database never
 * holds, so that deleting the newest events, or rewriting the whole log into a new consistent
 * chain, no longer goes unnoticed. Like CloudTrail's digest files, each names the one before it.
 */
export interface Checkpoint {
  sequence: number;
  headHash: string;
  eventCount: number;
  createdAt: string;
  /** checkpointDigest of the previous checkpoint; null for the first one. */
  previousCheckpoint: string | null;
}

export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  /** Ed25519 over the checkpoint's canonical JSON, base64. */
  signature: string;
}

/** The storage name of the checkpoint at `sequence`: names sort in sequence order. */
export function checkpointName(sequence: number): string {
  return `${String(sequence).padStart(16, '0')}.json`;
}

export const CHECKPOINT_NAME = /^[0-9]{16}\.json$/;

export function signCheckpoint(checkpoint: Checkpoint, privateKey: KeyObject): SignedCheckpoint {
  return { checkpoint, signature: sign(null, Buffer.from(canonicalJson(checkpoint)), privateKey).toString('base64') };
}

/** What a later checkpoint's previousCheckpoint names: the sha256 of this one, signature included. */
export function checkpointDigest(s: SignedCheckpoint): string {
  return createHash('sha256').update(canonicalJson(s)).digest('hex');
}

/** The signed checkpoint in a stored body, or null when it does not parse as one. */
export function parseCheckpoint(body: Buffer | string): SignedCheckpoint | null {
  let value: unknown;
  try {
    value = JSON.parse(body.toString());
  } catch {
    return null;
  }
  const v = value as Partial<SignedCheckpoint> | null;
  const c = v?.checkpoint as Partial<Checkpoint> | undefined;
  if (!v || typeof v.signature !== 'string' || !c) return null;
  const ok = Number.isSafeInteger(c.sequence) && typeof c.headHash === 'string' && /^[0-9a-f]{64}$/.test(c.headHash)
    && Number.isSafeInteger(c.eventCount) && typeof c.createdAt === 'string'
    && (c.previousCheckpoint === null || (typeof c.previousCheckpoint === 'string' && /^[0-9a-f]{64}$/.test(c.previousCheckpoint)));
  if (!ok) return null;
  const checkpoint: Checkpoint = { sequence: c.sequence!, headHash: c.headHash!, eventCount: c.eventCount!, createdAt: c.createdAt!, previousCheckpoint: c.previousCheckpoint! };
  return { checkpoint, signature: v.signature };
}

export function signatureValid(s: SignedCheckpoint, publicKey: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(canonicalJson(s.checkpoint)), publicKey, Buffer.from(s.signature, 'base64'));
  } catch {
    return false;
  }
}
