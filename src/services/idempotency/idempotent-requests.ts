import {
  type IdempotencyClaim, type IdempotencyRecord, type IdempotentOperation, IdempotencyKeyTakenError, keyReusedError, newClaim,
} from '../../domain/idempotency.js';
import { ConflictError } from '../../domain/errors.js';
import type { ServiceDeps } from '../service-deps.js';

/** One request's key: which model it belongs to, and the fingerprint of its normalized input. */
export interface KeyedRequest {
  modelName: string;
  key: string;
  operation: IdempotentOperation;
  fingerprint: string;
}

/** Builds the claim of the request's key for the result a write is about to store; null when the request has no key. */
export interface ClaimFor {
  (resultId: string, refusalCode?: string | null): IdempotencyClaim | null;
  /** The request's key (for its audit event), or null. */
  readonly key: string | null;
}

export const NO_KEY: ClaimFor = Object.assign(() => null, { key: null });

/** How long a retry waits for the same key's first request to finish on another process (MongoDB only). */
const UNSETTLED_WAIT_ROUNDS = 40;
const TAKEN_ATTEMPTS = 3;

/**
 * Runs a keyed request once: a retry with the same key and input gets the recorded answer
 * (`replay`), the same key with another input CONFLICT naming the key, and a request that loses a
 * race for the key to a concurrent one (IdempotencyKeyTakenError from the store, nothing written)
 * reads that one's record and answers from it. The uniqueness is the store's (the key is claimed
 * in the write of the effect), never this process's memory.
 */
export class IdempotentRequests {
  constructor(private readonly deps: Pick<ServiceDeps, 'store' | 'now'>) {}

  async run<T>(
    request: KeyedRequest | null,
    replay: (record: IdempotencyRecord) => Promise<T>,
    fresh: (claim: ClaimFor) => Promise<T>,
  ): Promise<T> {
    if (!request) return fresh(NO_KEY);
    const claim: ClaimFor = Object.assign(
      (resultId: string, refusalCode: string | null = null) => newClaim({ ...request, resultId, refusalCode }, this.deps.now()),
      { key: request.key },
    );
    for (let attempt = 1; ; attempt++) {
      const record = await this.recorded(request);
      if (record) return replay(record);
      try {
        return await fresh(claim);
      } catch (err) {
        if (!(err instanceof IdempotencyKeyTakenError) || attempt >= TAKEN_ATTEMPTS) throw err;
      }
    }
  }

  /** The settled record of the key, or null if it is free; CONFLICT if it was used with another input. */
  private async recorded(r: KeyedRequest): Promise<IdempotencyRecord | null> {
    for (let round = 1; round <= UNSETTLED_WAIT_ROUNDS; round++) {
      const record = await this.deps.store.getIdempotencyRecord(r.modelName, r.key, this.deps.now());
      if (!record) return null;
      if (record.fingerprint !== r.fingerprint || record.operation !== r.operation) throw keyReusedError(r.key, r.modelName);
      if (record.settled) return record;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, 10 * round)));
    }
    throw new ConflictError(`A request with idempotency key "${r.key}" is still running; try again`);
  }
}
