import { ConflictError } from '../../domain/errors.js';
import type { AuditDraft, Page, PageRequest } from '../../domain/model.js';
import type { NewWebhookDelivery, Webhook, WebhookDelivery, WebhookPatch } from '../../domain/webhook.js';
import { decodeCursor, toPage } from '../paging.js';
import type { WebhookStore } from '../webhook.store.js';
import { COLLECTIONS, type CounterDoc, type PendingMarker, draftToDoc } from './mongo-documents.js';
import { type MongoSteps, isDuplicateKey } from './mongo-steps.js';
import {
  type DeliveryDoc, type RedeliveryDoc, type WebhookDoc, advanceCursorUpdate, clearRedeliveryFilter, deliveriesQuery, deliveryToDoc,
  docToDelivery, docToWebhook, lastDeliveryQuery, listWebhooksQuery, liveWebhookQuery, nextDeliverySeq, redeliveriesQuery,
  requestRedeliveryUpdate, webhookMarkedUpdate, webhookToDoc,
} from './mongo-webhook-specs.js';

/**
 * The webhook side of MongoRegistryStore. Creating, changing and deleting (a tombstone) are one
 * write carrying the marker (commit point), then the audit event and the clear, as for tokens;
 * recovery finishes them. The cursor is a conditional update of the webhook document; the
 * delivery log and the redelivery queue are plain documents.
 */
export class MongoWebhooks implements WebhookStore {
  constructor(private readonly steps: MongoSteps) {}

  private marker(audit: AuditDraft): PendingMarker {
    return { id: audit.id, op: 'webhook', phase: 'committed', audit: draftToDoc(audit) };
  }

  async createWebhook(webhook: Webhook, audit: AuditDraft): Promise<Webhook> {
    const doc: WebhookDoc = { ...webhookToDoc(webhook), pending: this.marker(audit), pendingAt: new Date() };
    try {
      await this.steps.insert(COLLECTIONS.webhooks, doc);
    } catch (err) {
      if (isDuplicateKey(err)) throw new ConflictError(`A webhook with id ${webhook.id} already exists`);
      throw err;
    }
    await this.steps.finish(COLLECTIONS.webhooks, doc, { auditAppended: false });
    return docToWebhook(doc);
  }

  private async markedChange(id: string, set: WebhookPatch & { updatedAt?: Date; deletedAt?: Date }, audit: AuditDraft): Promise<WebhookDoc | null> {
    const spec = webhookMarkedUpdate(id, set, this.marker(audit));
    const written = await this.steps.markedWrite<WebhookDoc>(
      COLLECTIONS.webhooks, id, () => this.steps.findAndUpdate<WebhookDoc>(spec), `Webhook ${id}`,
    );
    return written?.doc ?? null;
  }

  async updateWebhook(id: string, patch: WebhookPatch, updatedAt: Date, audit: AuditDraft): Promise<Webhook | null> {
    const doc = await this.markedChange(id, { ...patch, updatedAt }, audit);
    return doc && docToWebhook(doc);
  }

  async deleteWebhook(id: string, deletedAt: Date, audit: AuditDraft): Promise<Webhook | null> {
    const doc = await this.markedChange(id, { deletedAt }, audit);
    return doc && docToWebhook(doc);
  }

  async getWebhook(id: string): Promise<Webhook | null> {
    const [doc] = await this.steps.find<WebhookDoc>(liveWebhookQuery(id));
    return doc ? docToWebhook(doc) : null;
  }

  async listWebhooks(): Promise<Webhook[]> {
    return (await this.steps.find<WebhookDoc>(listWebhooksQuery())).map(docToWebhook);
  }

  async advanceWebhookCursor(id: string, expected: number, next: number): Promise<boolean> {
    return (await this.steps.update(advanceCursorUpdate(id, expected, next))) === 1;
  }

  async settleWebhookDelivery(delivery: NewWebhookDelivery, expectedCursor: number): Promise<boolean> {
    await this.recordWebhookDelivery(delivery);
    return this.advanceWebhookCursor(delivery.webhookId, expectedCursor, delivery.eventSequence);
  }

  async recordWebhookDelivery(delivery: NewWebhookDelivery): Promise<WebhookDelivery> {
    const seq = await this.nextSeq();
    const doc = deliveryToDoc({ ...delivery, durationMs: Math.round(delivery.durationMs) }, seq);
    await this.steps.insert(COLLECTIONS.webhookDeliveries, doc);
    return docToDelivery(doc);
  }

  private async nextSeq(): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        const doc = await this.steps.findAndUpdate<CounterDoc>(nextDeliverySeq());
        if (doc) return doc.value;
      } catch (err) {
        // Two first-ever upserts of the counter: the loser retries as an update.
        if (!isDuplicateKey(err) || attempt >= 3) throw err;
      }
    }
  }

  async listWebhookDeliveries(webhookId: string, page: PageRequest): Promise<Page<WebhookDelivery>> {
    const after = decodeCursor(page.after, ['number'] as const);
    const q = deliveriesQuery(webhookId, after?.[0] ?? null, page.first);
    const [docs, total] = await Promise.all([this.steps.find<DeliveryDoc>(q.page), this.steps.count(q.count)]);
    return toPage(docs.map(docToDelivery), page.first, total, (d) => [d.seq]);
  }

  async lastWebhookDelivery(webhookId: string, eventSequence: number): Promise<WebhookDelivery | null> {
    const [doc] = await this.steps.find<DeliveryDoc>(lastDeliveryQuery(webhookId, eventSequence));
    return doc ? docToDelivery(doc) : null;
  }

  async requestWebhookRedelivery(webhookId: string, eventSequence: number, requestedAt: Date): Promise<void> {
    try {
      await this.steps.update(requestRedeliveryUpdate(webhookId, eventSequence, requestedAt));
    } catch (err) {
      // Two first-ever upserts of the same request: the other one queued it.
      if (!isDuplicateKey(err)) throw err;
    }
  }

  async webhookRedeliveries(webhookId: string, limit: number): Promise<number[]> {
    return (await this.steps.find<RedeliveryDoc>(redeliveriesQuery(webhookId, limit))).map((d) => d.eventSequence);
  }

  async clearWebhookRedelivery(webhookId: string, eventSequence: number): Promise<void> {
    await this.steps.remove(clearRedeliveryFilter(webhookId, eventSequence));
  }
}
