import type { AuditEvent } from '../domain/model.js';
import type { RegistryStore } from '../stores/registry.store.js';

export interface FeedSettings {
  /** How often the store is read for events committed by other processes. */
  pollMs: number;
  /** Recent events kept in memory, shared by every subscriber of this process. */
  recentEvents: number;
}

/** Events read per store call. */
export const FEED_BATCH = 500;

/**
 * The audit log read forward, once per process: a poller (every `pollMs`, and at once when this
 * process appends) that keeps the newest contiguous events in a shared window and wakes the
 * subscribers waiting for them. It runs only while someone listens. Every process polls on its
 * own (each has its own subscribers), so it takes no lease: it only reads.
 *
 * Subscribers keep their own cursor and take events from the window when it holds the next one,
 * from the store otherwise: a slow subscriber never loses an event, and memory stays bounded.
 */
export class AuditFeed {
  private recent: AuditEvent[] = [];
  /** Last sequence read by the poller (contiguous from where it started); null until started. */
  private head: number | null = null;
  private starting: Promise<number> | null = null;
  private readonly waiters = new Set<() => void>();
  private listeners = 0;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly store: RegistryStore,
    private readonly settings: FeedSettings,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** A subscriber arrives: starts polling if it was idle; returns the head (last sequence seen). */
  async join(): Promise<number> {
    this.listeners++;
    try {
      return await this.currentHead();
    } catch (err) {
      this.leave();
      throw err;
    }
  }

  leave(): void {
    this.listeners = Math.max(0, this.listeners - 1);
  }

  get subscriberCount(): number {
    return this.listeners;
  }

  private currentHead(): Promise<number> {
    if (this.head !== null) {
      // The poller may have gone idle while a local write's poll kept the window (head) alive:
      // make sure it runs again now that someone listens (schedule() is a no-op if it does).
      this.schedule();
      return Promise.resolve(this.head);
    }
    this.starting ??= (async () => {
      // The newest visible event: with MongoDB an earlier one may still be invisible, which only
      // means the window starts after it (subscribers read it from the store).
      const newest = await this.store.listAuditEvents(
        { modelName: null, actor: null, action: null, since: null, until: null },
        { first: 1, after: null },
      );
      this.head = newest.items[0]?.node.sequence ?? 0;
      this.schedule();
      return this.head;
    })().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  /** The events after `cursor` if the window holds the next one (contiguous, ascending); null otherwise. */
  cached(cursor: number): AuditEvent[] | null {
    const first = this.recent[0];
    if (!first || cursor + 1 < first.sequence || cursor >= this.recent[this.recent.length - 1]!.sequence) return null;
    return this.recent.slice(cursor + 1 - first.sequence, cursor + 1 - first.sequence + FEED_BATCH);
  }

  /** The last sequence the poller has read (0 before it started). */
  get lastSequence(): number {
    return this.head ?? 0;
  }

  /**
   * Resolves when the poller reads new events, when `signal` aborts, when the feed stops, or after
   * `maxWaitMs` (a subscriber behind a gap the poller started after looks again on its own).
   */
  waitForMore(signal: AbortSignal, maxWaitMs: number | null): Promise<void> {
    if (this.stopped || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
      if (maxWaitMs !== null) timer = setTimeout(done, maxWaitMs);
    });
  }

  /** This process appended: read now instead of at the next tick. */
  wake(): void {
    if (this.head === null || this.stopped) return;
    void this.poll();
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.poll().finally(() => {
        if (this.listeners > 0) this.schedule();
        else this.idle();
      });
    }, this.settings.pollMs);
    this.timer.unref();
  }

  /** Nobody listens: stop polling and forget the window (the next subscriber starts afresh). */
  private idle(): void {
    if (this.listeners > 0 || this.polling) return;
    this.head = null;
    this.recent = [];
  }

  private poll(): Promise<void> {
    if (this.polling) {
      this.again = true;
      return this.polling;
    }
    this.polling = (async () => {
      do {
        this.again = false;
        try {
          await this.readForward();
        } catch (err) {
          this.onError(err);
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private async readForward(): Promise<void> {
    for (;;) {
      if (this.head === null || this.stopped) return;
      const events = await this.store.auditEventsAfter(this.head, FEED_BATCH);
      if (events.length === 0 || this.head === null) return;
      this.recent.push(...events);
      if (this.recent.length > this.settings.recentEvents) this.recent.splice(0, this.recent.length - this.settings.recentEvents);
      this.head = events[events.length - 1]!.sequence;
      for (const w of [...this.waiters]) w();
      if (events.length < FEED_BATCH) return;
    }
  }

  /** Stops polling and releases every waiting subscriber (their streams then end). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const w of [...this.waiters]) w();
    await this.polling;
  }

  get isStopped(): boolean {
    return this.stopped;
  }
}
