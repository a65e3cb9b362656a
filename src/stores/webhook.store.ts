import type { AuditDraft, Page, PageRequest } from '../domain/model.js';
import type { NewWebhookDelivery, Webhook, WebhookDelivery, WebhookPatch } from '../domain/webhook.js';

/**
 * The webhook part of the metadata port (RegistryStore extends it). Same conventions: a miss is
 * null; every write that takes an AuditDraft appends that event in the same unit of work as its
 * effect. Deleted webhooks are kept as tombstones (hidden from every read here), so a delivery
 * in flight finds its webhook gone and its lease and cursor stay harmless.
 */
export interface WebhookStore {
  /** Stores the webhook with its audit event. ConflictError if the id exists. */
  createWebhook(webhook: Webhook, audit: AuditDraft): Promise<Webhook>;
  /** Applies the patch (fields left undefined stay) with its audit event; null if no such (live) webhook. */
  updateWebhook(id: string, patch: WebhookPatch, updatedAt: Date, audit: AuditDraft): Promise<Webhook | null>;
  /** Deletes (tombstones) the webhook with its audit event; null if no such (live) webhook. */
  deleteWebhook(id: string, deletedAt: Date, audit: AuditDraft): Promise<Webhook | null>;
  getWebhook(id: string): Promise<Webhook | null>;
  /** Every live webhook, oldest first (a registry has few). */
  listWebhooks(): Promise<Webhook[]>;
  /**
   * Compare-and-set of the webhook's cursor: moves it from `expected` to `next` only if it is
   * `expected` now. False otherwise (another process moved it, or the webhook is gone).
   */
  advanceWebhookCursor(id: string, expected: number, next: number): Promise<boolean>;

  /**
   * An attempt that settles its event (SUCCEEDED, or FAILED by giving up): appends it to the log,
   * then moves the cursor from `expectedCursor` to its eventSequence by compare-and-set, in one
   * write where the engine allows (SQLite: one transaction; MongoDB: the insert, then the
   * conditional update; a crash between them leaves a record whose cursor the next holder moves).
   * True if the cursor moved; false if it was not at `expectedCursor` (the record stays: it did happen).
   */
  settleWebhookDelivery(delivery: NewWebhookDelivery, expectedCursor: number): Promise<boolean>;
  /** Appends one attempt to the delivery log; the store gives it its `seq`. */
  recordWebhookDelivery(delivery: NewWebhookDelivery): Promise<WebhookDelivery>;
  /** The webhook's delivery log, newest first, with opaque cursors. */
  listWebhookDeliveries(webhookId: string, page: PageRequest): Promise<Page<WebhookDelivery>>;
  /** The newest attempt at (webhook, event) outside redeliveries, or null: where a restarted worker resumes its retries. */
  lastWebhookDelivery(webhookId: string, eventSequence: number): Promise<WebhookDelivery | null>;

  /** Queues one more delivery of an event (redeliverWebhookEvent); a second request for the same pair is one request. */
  requestWebhookRedelivery(webhookId: string, eventSequence: number, requestedAt: Date): Promise<void>;
  /** Queued redeliveries of the webhook, oldest request first, at most `limit`. */
  webhookRedeliveries(webhookId: string, limit: number): Promise<number[]>;
  /** Removes a queued redelivery once attempted. */
  clearWebhookRedelivery(webhookId: string, eventSequence: number): Promise<void>;
}
