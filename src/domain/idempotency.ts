import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/canonical-json.js';
import { ConflictError, InvalidArgumentError } from './errors.js';

/**
 * Idempotency keys of the mutations that create something (registerModelVersion,
 * promoteModelVersion, rollbackModel). A key belongs to one model; the store keeps it with a
 * fingerprint of the normalized input and the id of what the first call produced, claimed in the
 * same store write as that effect, for IDEMPOTENCY_TTL_MS.
 */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{1,200}$/;
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

export type IdempotentOperation = 'REGISTER' | 'PROMOTE' | 'ROLLBACK' | 'UNDEPLOY';

/** What a key is claimed with; `resultId` is chosen before the write (a version id or a deployment id). */
export interface IdempotencyClaim {
  modelName: string;
  key: string;
  operation: IdempotentOperation;
  /** sha256 of the canonical JSON of the operation and its normalized input. */
  fingerprint: string;
  resultId: string;
  /** A refused promotion or rollback (a FAILED deployment): the code its error had; null otherwise. */
  refusalCode: string | null;
  createdAt: Date;
  /** createdAt + IDEMPOTENCY_TTL_MS: from then on the key may be claimed again (the record is replaced). */
  expiresAt: Date;
}

/** A claim as stored. `settled` false: written by an operation that has not finished yet (MongoDB only, briefly). */
export interface IdempotencyRecord extends IdempotencyClaim {
  settled: boolean;
}

/** The store found the key claimed (unexpired) by another record: the caller reads that record and answers from it. */
export class IdempotencyKeyTakenError extends ConflictError {
  constructor(readonly modelName: string, readonly key: string) {
    super(`Idempotency key "${key}" of model "${modelName}" is already in use`);
    this.name = 'IdempotencyKeyTakenError';
  }
}

/**
 * Keys the registry takes itself: a promotion request's execution (`promotion-request:<id>`).
 * Refused from callers, so that nobody (a staging-only deployer, say) can take a request's key
 * first and so make its execution end as a key conflict.
 */
const REGISTRY_KEY_PREFIX = 'promotion-request:';

/** The idempotency key of a promotion request's execution. */
export const promotionRequestKey = (requestId: string) => `${REGISTRY_KEY_PREFIX}${requestId}`;

/** A caller's key, checked; `registry: true` only for the registry's own keys (promotionRequestKey). */
export function checkIdempotencyKey(field: string, key: string | null | undefined, opts: { registry?: boolean } = {}): string | null {
  if (key === null || key === undefined) return null;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new InvalidArgumentError(field, `must be 1 to 200 characters of A-Z a-z 0-9 . _ : - (${IDEMPOTENCY_KEY_PATTERN.source})`);
  }
  if (key.startsWith(REGISTRY_KEY_PREFIX) !== (opts.registry === true)) {
    throw new InvalidArgumentError(field, `keys starting with "${REGISTRY_KEY_PREFIX}" are the registry's own (a promotion request's execution); choose another`);
  }
  return key;
}

export function idempotencyFingerprint(operation: IdempotentOperation, normalizedInput: unknown): string {
  return createHash('sha256').update(canonicalJson({ operation, input: normalizedInput })).digest('hex');
}

/** The claim for `key`, made at `now`. */
export function newClaim(
  c: Pick<IdempotencyClaim, 'modelName' | 'key' | 'operation' | 'fingerprint' | 'resultId'> & { refusalCode?: string | null },
  now: Date,
): IdempotencyClaim {
  return { ...c, refusalCode: c.refusalCode ?? null, createdAt: now, expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS) };
}

/** The answer for a key reused with another input (or for another operation). */
export function keyReusedError(key: string, modelName: string): ConflictError {
  return new ConflictError(
    `Idempotency key "${key}" was already used for model "${modelName}" with a different input; use a new key for a new request`,
  );
}
