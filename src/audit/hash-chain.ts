import { createHash } from 'node:crypto';
import type { AuditDraft, AuditEvent } from '../domain/model.js';
import { canonicalJson } from './canonical-json.js';

/** previousHash of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields an event's hash covers: everything but the hash itself. */
function hashedBody(e: Omit<AuditEvent, 'hash'>): unknown {
  return {
    id: e.id,
    sequence: e.sequence,
    occurredAt: e.occurredAt,
    actor: e.actor,
    action: e.action,
    modelName: e.modelName,
    versionId: e.versionId,
    details: e.details,
  };
}

export function computeHash(e: Omit<AuditEvent, 'hash'>): string {
  return createHash('sha256').update(e.previousHash).update(canonicalJson(hashedBody(e))).digest('hex');
}

/** Gives a draft its place after `head` (null for the first event). */
export function sealEvent(draft: AuditDraft, head: { sequence: number; hash: string } | null): AuditEvent {
  const unsealed = {
    ...draft,
    sequence: head ? head.sequence + 1 : 1,
    previousHash: head ? head.hash : GENESIS_HASH,
  };
  return { ...unsealed, hash: computeHash(unsealed) };
}

export interface ChainVerification {
  valid: boolean;
  eventsChecked: number;
  firstInvalidSequence: number | null;
  headHash: string | null;
  message: string | null;
}

/**
 * Recomputes the chain over events in ascending sequence order, as the store hands them out;
 * `observe` sees each event that checked out, in order.
 */
export async function verifyChain(events: AsyncIterable<AuditEvent>, observe: (e: AuditEvent) => void = () => {}): Promise<ChainVerification> {
  let expectedSequence = 1;
  let previousHash = GENESIS_HASH;
  let checked = 0;
  for await (const e of events) {
    checked++;
    const fail = (message: string): ChainVerification => ({
      valid: false,
      eventsChecked: checked,
      firstInvalidSequence: Math.min(expectedSequence, e.sequence),
      headHash: null,
      message,
    });
    if (e.sequence !== expectedSequence) return fail(`expected sequence ${expectedSequence}, found ${e.sequence} (an event is missing)`);
    if (e.previousHash !== previousHash) return fail(`event ${e.sequence}: previousHash does not match the hash of event ${e.sequence - 1}`);
    if (computeHash(e) !== e.hash) return fail(`event ${e.sequence}: hash does not match its contents (altered)`);
    observe(e);
    previousHash = e.hash;
    expectedSequence++;
  }
  return {
    valid: true,
    eventsChecked: checked,
    firstInvalidSequence: null,
    headHash: checked > 0 ? previousHash : null,
    message: checked > 0 ? `${checked} events verified` : 'the audit log is empty',
  };
}
