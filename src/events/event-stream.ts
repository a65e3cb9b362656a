import { FailedPreconditionError } from '../domain/errors.js';
import type { AuditEvent } from '../domain/model.js';
import type { RegistryStore } from '../stores/registry.store.js';
import { type AuditFeed, FEED_BATCH } from './audit-feed.js';

export interface StreamSettings {
  /** A live subscriber more than this many events behind the poller is closed (it resumes from its last sequence). */
  maxLag: number;
  /** How long a subscriber behind a not-yet-visible sequence waits before it reads again. */
  gapRetryMs: number;
}

/**
 * One subscriber's walk along the audit log, from `afterSequence`: stored events first (replay),
 * then each new one as the feed reads it. Its own cursor moves over every event in sequence
 * order, so nothing is skipped or sent twice, whoever (this process or another) committed it.
 * `visit` maps an event to what is sent (null: not for this subscriber).
 *
 * An iterator rather than an async generator: `return()` (the client unsubscribes, the socket
 * closes) ends a wait at once instead of after the next event.
 */
export function auditStream<T>(
  store: RegistryStore,
  feed: AuditFeed,
  afterSequence: number,
  settings: StreamSettings,
  visit: (event: AuditEvent) => Promise<T | null> | T | null,
): AsyncIterableIterator<T> {
  const abort = new AbortController();
  let joined = false;
  const finish = () => {
    if (!abort.signal.aborted) abort.abort();
    if (joined) feed.leave();
    joined = false;
  };

  async function* walk(): AsyncGenerator<T> {
    // Live (subject to the lag limit) once the subscriber has reached the head it joined at.
    const joinedAt = await feed.join();
    if (abort.signal.aborted) {
      feed.leave();
      return;
    }
    joined = true;
    let cursor = afterSequence;
    let live = cursor >= joinedAt;
    while (!abort.signal.aborted && !feed.isStopped) {
      live ||= cursor >= joinedAt;
      const batch = feed.cached(cursor) ?? (await store.auditEventsAfter(cursor, FEED_BATCH));
      if (batch.length === 0) {
        live = true;
        // Behind the poller's head with nothing readable: a sequence not visible yet (MongoDB).
        await feed.waitForMore(abort.signal, cursor < feed.lastSequence ? settings.gapRetryMs : null);
        continue;
      }
      if (live && feed.lastSequence - cursor > settings.maxLag) {
        throw new FailedPreconditionError(
          `This subscription fell more than ${settings.maxLag} events behind; subscribe again with afterSequence: ${cursor} to resume without a gap`,
        );
      }
      for (const event of batch) {
        if (abort.signal.aborted) return;
        const out = await visit(event);
        cursor = event.sequence;
        if (out !== null) yield out;
      }
    }
  }

  const inner = walk();
  return {
    next: () => inner.next().catch((err: unknown) => {
      finish();
      throw err;
    }).then((r) => {
      if (r.done) finish();
      return r;
    }),
    return: async (value?: unknown) => {
      finish();
      // Let a pending next() settle (its wait ends at the abort) before closing the generator.
      await inner.return(value as never);
      return { done: true, value: undefined as never };
    },
    throw: async (err?: unknown) => {
      finish();
      return inner.throw(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
