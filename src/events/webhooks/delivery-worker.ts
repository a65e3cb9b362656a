import type { AuditEvent } from '../../domain/model.js';
import type { DeliveryStatus, Webhook } from '../../domain/webhook.js';
import type { RegistryStore } from '../../stores/registry.store.js';
import { type PostOutcome, postWebhook } from './webhook-http.js';
import { retryDelayMs, webhookBody, webhookWants } from './webhook-payload.js';
import type { SecretBox } from './secret-box.js';
import { signatureHeader } from './webhook-signature.js';
import { WebhookLeases } from './webhook-leases.js';

export interface DeliverySettings {
  /** How often the store is looked at for webhooks with events to deliver. */
  pollMs: number;
  /** The per-webhook lease's lifetime (must exceed timeoutMs); renewed before an attempt once (leaseMs − timeoutMs) / 2 has passed. */
  leaseMs: number;
  /** One attempt's bound, from lookup to the last byte kept. */
  timeoutMs: number;
  /** Backoff between tries of one event: from retryMinMs, doubling, up to retryMaxMs (jittered). */
  retryMinMs: number;
  retryMaxMs: number;
  /** After this long since its first attempt, an event is given up (FAILED) and the cursor moves on. */
  giveUpAfterMs: number;
  /** Let webhooks reach loopback, link-local and private addresses (tests, closed networks). */
  allowPrivate: boolean;
}

export interface DeliveryLog {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const BATCH = 100;
const REDELIVERY_BATCH = 10;

/**
 * The background service that delivers events to webhooks: the audit log read forward from each
 * webhook's cursor, in sequence order, at least once. One process at a time per webhook (a lease
 * in the store, renewed so that every attempt ends inside it; the cursor moves by compare-and-set
 * only after a 2xx or a give-up, in the same write as the attempt's record), so a crash, a `kill -9` or a second process loses nothing and never sends
 * one webhook two requests at the same time. Retries wait in the store (the delivery log's
 * nextAttemptAt), so a restart resumes them where they were.
 */
export class WebhookDeliveryWorker {
  private readonly running = new Map<string, Promise<void>>();
  /** Webhooks this process left waiting for a retry, and until when. */
  private readonly notBefore = new Map<string, number>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private stopped = false;
  /** A wake came during a poll: poll again at once after it. */
  private again = false;
  private readonly leases: WebhookLeases;

  constructor(
    private readonly store: RegistryStore,
    private readonly box: SecretBox,
    private readonly settings: DeliverySettings,
    private readonly log: DeliveryLog,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.leases = new WebhookLeases(store, settings);
  }

  start(): void {
    this.schedule(0);
  }

  /** Something was appended in this process: look now rather than at the next tick. */
  wake(): void {
    if (this.stopped) return;
    if (this.polling) this.again = true;
    else if (this.timer) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.polling = this.poll().catch((err: unknown) => this.log.error({ err }, 'webhooks: listing webhooks failed; trying again at the next poll'))
        .finally(() => {
          this.polling = null;
          const soon = this.again;
          this.again = false;
          this.schedule(soon ? 0 : this.settings.pollMs);
        });
    }, ms);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const now = Date.now();
    for (const w of await this.store.listWebhooks()) {
      if (this.stopped) return;
      if (this.running.has(w.id) || (this.notBefore.get(w.id) ?? 0) > now) continue;
      this.notBefore.delete(w.id);
      const run = this.serveIfDue(w)
        .catch((err: unknown) => this.log.error({ err, webhookId: w.id }, 'webhooks: delivery stopped by an error; it resumes at the next poll'))
        .finally(() => this.running.delete(w.id));
      this.running.set(w.id, run);
    }
  }

  /** Stops polling, cuts requests in flight (their events are sent again later), releases the leases. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await this.polling;
    await Promise.all([...this.running.values()]);
  }

  /** Reads first (cheap): only a webhook with an event for it past its cursor, or a queued redelivery, takes its lease. */
  private async serveIfDue(w: Webhook): Promise<void> {
    if ((await this.store.webhookRedeliveries(w.id, 1)).length > 0) return this.serve(w.id);
    const events = await this.store.auditEventsAfter(w.cursor, BATCH);
    if (events.length === 0) return;
    if (events.some((e) => webhookWants(w, e))) return this.serve(w.id);
    // Nothing here for this webhook: the cursor steps over the batch (compare-and-set, no lease
    // needed: nothing is sent), one write per poll instead of a lease and a walk per event.
    await this.store.advanceWebhookCursor(w.id, w.cursor, events[events.length - 1]!.sequence);
  }

  /** Delivers to one webhook while it holds its lease and there is something due. */
  private async serve(id: string): Promise<void> {
    if (!(await this.leases.take(id))) return;
    try {
      while (!this.stopped) {
        const webhook = await this.store.getWebhook(id);
        if (!webhook || !(await this.leases.take(id, true))) return;
        await this.redeliveries(webhook);
        const events = await this.store.auditEventsAfter(webhook.cursor, BATCH);
        if (events.length === 0) return;
        if (!(await this.walk(webhook, events))) return;
      }
    } finally {
      await this.leases.release(id);
    }
  }

  /** Goes through `events` from the cursor; false when it must stop (a retry is not due, the lease or the cursor was lost). */
  private async walk(webhook: Webhook, events: AuditEvent[]): Promise<boolean> {
    let cursor = webhook.cursor;
    let skipped: number | null = null;
    const moveTo = async (sequence: number) => {
      const moved = await this.store.advanceWebhookCursor(webhook.id, cursor, sequence);
      if (moved) cursor = sequence;
      return moved;
    };
    for (const event of events) {
      if (this.stopped) break;
      if (!webhookWants(webhook, event)) {
        skipped = event.sequence;
        continue;
      }
      if (skipped !== null && !(await moveTo(skipped))) return false;
      skipped = null;
      const outcome = await this.deliverInOrder(webhook, event, cursor);
      if (outcome === 'settled') cursor = event.sequence;
      else if (outcome === 'recorded-before') {
        if (!(await moveTo(event.sequence))) return false;
      } else return false;
    }
    if (skipped !== null && !this.stopped && !(await moveTo(skipped))) return false;
    return !this.stopped;
  }

  /**
   * 'settled': delivered or given up, and the cursor moved past it (one store write with the
   * record); 'recorded-before': an earlier attempt settled it but the cursor did not move (a crash
   * between the two); 'wait': a retry is due later; 'stop': shutdown, or the lease or the cursor lost.
   */
  private async deliverInOrder(webhook: Webhook, event: AuditEvent, cursor: number): Promise<'settled' | 'recorded-before' | 'wait' | 'stop'> {
    const last = await this.store.lastWebhookDelivery(webhook.id, event.sequence);
    if (last && last.status !== 'RETRYING') return 'recorded-before';
    if (last?.nextAttemptAt && last.nextAttemptAt.getTime() > this.now().getTime()) {
      this.notBefore.set(webhook.id, last.nextAttemptAt.getTime());
      return 'wait';
    }
    if (!(await this.leases.take(webhook.id, true))) return 'stop';
    // Changed since this batch began (target, filters, secret) or deleted: the batch ends, and the
    // next one goes by what the webhook is now; nothing is sent with a rotated secret or past a narrowed scope.
    const current = await this.store.getWebhook(webhook.id);
    if (!current || current.updatedAt.getTime() !== webhook.updatedAt.getTime()) return 'stop';
    // A secret this process cannot open (its webhook key differs): nothing is recorded against the
    // receiver; the lease is let go so that a process with the right key delivers.
    if (!this.canOpen(webhook)) return 'stop';
    const attempt = (last?.attempt ?? 0) + 1;
    const firstAttemptAt = last?.firstAttemptAt ?? this.now();
    const outcome = await this.send(webhook, event);
    if (outcome.aborted) return 'stop';
    const at = this.now();
    const ok = outcome.error === null;
    const givenUp = !ok && at.getTime() - firstAttemptAt.getTime() >= this.settings.giveUpAfterMs;
    const status: DeliveryStatus = ok ? 'SUCCEEDED' : givenUp ? 'FAILED' : 'RETRYING';
    const nextAttemptAt = status === 'RETRYING' ? new Date(at.getTime() + retryDelayMs(attempt, this.settings.retryMinMs, this.settings.retryMaxMs)) : null;
    const record = {
      webhookId: webhook.id, eventSequence: event.sequence, eventId: event.id, attempt, status, httpStatus: outcome.httpStatus, error: outcome.error,
      responseBody: outcome.responseBody, durationMs: outcome.durationMs, attemptedAt: at, firstAttemptAt, nextAttemptAt, redelivery: false,
    };
    if (nextAttemptAt) {
      await this.store.recordWebhookDelivery(record);
      this.notBefore.set(webhook.id, nextAttemptAt.getTime());
      return 'wait';
    }
    if (givenUp) this.log.warn({ webhookId: webhook.id, eventSequence: event.sequence, attempts: attempt }, 'webhooks: gave up on an event (delivery FAILED); moving on');
    return (await this.store.settleWebhookDelivery(record, cursor)) ? 'settled' : 'stop';
  }

  /** Queued redeliveries: one attempt each, recorded, never moving the cursor. */
  private async redeliveries(webhook: Webhook): Promise<void> {
    for (const sequence of await this.store.webhookRedeliveries(webhook.id, REDELIVERY_BATCH)) {
      if (this.stopped || !(await this.leases.take(webhook.id, true))) return;
      const [event] = await this.store.auditEventsAfter(sequence - 1, 1);
      if (event?.sequence === sequence) {
        const outcome = await this.send(webhook, event);
        if (outcome.aborted) return;
        const at = this.now();
        await this.store.recordWebhookDelivery({
          webhookId: webhook.id, eventSequence: sequence, eventId: event.id, attempt: 1, status: outcome.error === null ? 'SUCCEEDED' : 'FAILED',
          httpStatus: outcome.httpStatus, error: outcome.error, responseBody: outcome.responseBody, durationMs: outcome.durationMs,
          attemptedAt: at, firstAttemptAt: at, nextAttemptAt: null, redelivery: true,
        });
      }
      await this.store.clearWebhookRedelivery(webhook.id, sequence);
    }
  }

  private canOpen(webhook: Webhook): boolean {
    try {
      this.box.open(webhook.sealedSecret, webhook.id);
      return true;
    } catch (err) {
      this.log.error({ webhookId: webhook.id, problem: (err as Error).message }, 'webhooks: cannot open the signing secret with this process\'s webhook key; leaving the webhook to another process');
      return false;
    }
  }

  private async send(webhook: Webhook, event: AuditEvent): Promise<PostOutcome> {
    let secret: string;
    try {
      secret = this.box.open(webhook.sealedSecret, webhook.id);
    } catch (err) {
      this.log.error({ webhookId: webhook.id, problem: (err as Error).message }, 'webhooks: cannot open the signing secret');
      return { httpStatus: null, error: 'the signing secret does not open with this server\'s webhook key', responseBody: null, durationMs: 0, aborted: false };
    }
    const body = webhookBody(event);
    return postWebhook(new URL(webhook.url), body, {
      'x-registry-event-id': event.id,
      'x-registry-signature': signatureHeader(secret, body, this.now()),
    }, { timeoutMs: this.settings.timeoutMs, allowPrivate: this.settings.allowPrivate, signal: this.abort.signal });
  }
}
