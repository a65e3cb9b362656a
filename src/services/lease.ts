import { randomUUID } from 'node:crypto';
import { ConflictError } from '../domain/errors.js';
import type { RegistryStore } from '../stores/registry.store.js';

/** How long a lease lasts without renewal, and how often its holder renews it while working. */
export const LEASE_TTL_MS = 60_000;
const RENEW_EVERY_MS = LEASE_TTL_MS / 3;

/**
 * Runs `work` while holding the store lease `name`, so that one process at a time does it;
 * renewed while it runs, released after. A holder that dies loses the lease when it expires.
 * Throws ConflictError with `busy` when someone else holds it.
 */
export async function withLease<T>(store: RegistryStore, name: string, busy: string, work: () => Promise<T>): Promise<T> {
  const holder = randomUUID();
  if (!(await store.acquireLease(name, holder, LEASE_TTL_MS))) throw new ConflictError(busy);
  const renew = setInterval(() => {
    store.acquireLease(name, holder, LEASE_TTL_MS).catch(() => {
      // A failed renewal is retried at the next tick; the work's own writes stay conditional.
    });
  }, RENEW_EVERY_MS);
  renew.unref();
  try {
    return await work();
  } finally {
    clearInterval(renew);
    await store.releaseLease(name, holder).catch(() => {
      // The lease then simply expires.
    });
  }
}
