import type { Document } from 'mongodb';
import type { DeliveryStatus, NewWebhookDelivery, Webhook, WebhookDelivery, WebhookPatch } from '../../domain/webhook.js';
import { COLLECTIONS, type PendingMarker } from './mongo-documents.js';
import type { CountSpec, FindSpec } from './mongo-queries.js';
import type { UpdateSpec } from './mongo-updates.js';

/**
 * The webhook documents and every read and write of them (mongo-webhooks.ts), as pure data like
 * mongo-queries.ts; checked for meaning and index fit by test/unit/mongo-queries.test.ts.
 */
const ONE_DOC = 'at most one document (the filter names its _id)';
const LIVE = { deletedAt: null } as const;

export interface WebhookDoc {
  _id: string;
  url: string;
  actions: string[];
  modelScope: string | null;
  description: string | null;
  sealedSecret: string;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
  /** null while live; the deletion time on a tombstone. */
  deletedAt: Date | null;
  cursor: number;
  pending?: PendingMarker;
  pendingAt?: Date;
}

export interface DeliveryDoc extends Omit<WebhookDelivery, 'seq'> {
  /** The seq as a string (our `_id`s are strings); `seq` is the number the log is ordered by. */
  _id: string;
  seq: number;
}

export interface RedeliveryDoc {
  /** `<webhookId>/<eventSequence>`: one request per pair. */
  _id: string;
  webhookId: string;
  eventSequence: number;
  requestedAt: Date;
}

export function webhookToDoc(w: Webhook): WebhookDoc {
  return {
    _id: w.id, url: w.url, actions: [...w.actions], modelScope: w.modelScope, description: w.description, sealedSecret: w.sealedSecret,
    createdAt: w.createdAt, createdBy: w.createdBy, updatedAt: w.updatedAt, deletedAt: null, cursor: w.cursor,
  };
}

export function docToWebhook(d: WebhookDoc): Webhook {
  return {
    id: d._id, url: d.url, actions: [...d.actions], modelScope: d.modelScope, description: d.description, sealedSecret: d.sealedSecret,
    createdAt: d.createdAt, createdBy: d.createdBy, updatedAt: d.updatedAt, cursor: d.cursor,
  };
}

export function deliveryToDoc(d: NewWebhookDelivery, seq: number): DeliveryDoc {
  return { ...d, _id: String(seq), seq };
}

export function docToDelivery(d: DeliveryDoc): WebhookDelivery {
  const { _id: _ignored, ...rest } = d;
  return { ...rest, status: rest.status as DeliveryStatus };
}

export function liveWebhookQuery(id: string): FindSpec {
  return { collection: COLLECTIONS.webhooks, filter: { _id: id, ...LIVE }, limit: 1, index: '_id_', residual: { deletedAt: ONE_DOC } };
}

export function listWebhooksQuery(): FindSpec {
  return { collection: COLLECTIONS.webhooks, filter: { ...LIVE }, sort: { createdAt: 1, _id: 1 }, index: 'webhooks_live_created' };
}

/** A change (or the tombstone) with its audit marker, on a live webhook with no unfinished write. */
export function webhookMarkedUpdate(id: string, set: WebhookPatch & { updatedAt?: Date; deletedAt?: Date }, marker: PendingMarker): UpdateSpec {
  const fields: Document = Object.fromEntries(Object.entries(set).filter(([, v]) => v !== undefined));
  return {
    collection: COLLECTIONS.webhooks,
    filter: { _id: id, ...LIVE, pending: { $exists: false } },
    update: { $set: { ...fields, pending: marker }, $currentDate: { pendingAt: true } },
    index: '_id_',
    residual: { deletedAt: ONE_DOC, pending: ONE_DOC },
  };
}

/** The cursor's compare-and-set: only from `expected`, only on a live webhook (a pending marker does not block it). */
export function advanceCursorUpdate(id: string, expected: number, next: number): UpdateSpec {
  return {
    collection: COLLECTIONS.webhooks, filter: { _id: id, cursor: expected, ...LIVE }, update: { $set: { cursor: next } }, index: '_id_',
    residual: { cursor: ONE_DOC, deletedAt: ONE_DOC },
  };
}

export function nextDeliverySeq(): UpdateSpec {
  return { collection: COLLECTIONS.counters, filter: { _id: 'webhook_deliveries' }, update: { $inc: { value: 1 } }, upsert: true, index: '_id_' };
}

export function deliveriesQuery(webhookId: string, afterSeq: number | null, first: number): { page: FindSpec; count: CountSpec } {
  const filter = { webhookId };
  return {
    page: {
      collection: COLLECTIONS.webhookDeliveries, filter: afterSeq === null ? filter : { webhookId, seq: { $lt: afterSeq } },
      sort: { seq: -1 }, limit: first + 1, index: 'webhook_deliveries_webhook_seq',
    },
    count: { collection: COLLECTIONS.webhookDeliveries, filter, index: 'webhook_deliveries_webhook_seq' },
  };
}

export function lastDeliveryQuery(webhookId: string, eventSequence: number): FindSpec {
  return {
    collection: COLLECTIONS.webhookDeliveries, filter: { webhookId, eventSequence, redelivery: false }, sort: { seq: -1 }, limit: 1,
    index: 'webhook_deliveries_event',
  };
}

export function redeliveryId(webhookId: string, eventSequence: number): string {
  return `${webhookId}/${eventSequence}`;
}

/** Queues a redelivery once per (webhook, event): a second request finds the document and changes nothing. */
export function requestRedeliveryUpdate(webhookId: string, eventSequence: number, requestedAt: Date): UpdateSpec {
  return {
    collection: COLLECTIONS.webhookRedeliveries, filter: { _id: redeliveryId(webhookId, eventSequence) },
    update: { $setOnInsert: { webhookId, eventSequence, requestedAt } }, upsert: true, index: '_id_',
  };
}

export function redeliveriesQuery(webhookId: string, limit: number): FindSpec {
  return {
    collection: COLLECTIONS.webhookRedeliveries, filter: { webhookId }, sort: { requestedAt: 1, eventSequence: 1 }, limit,
    index: 'webhook_redeliveries_requested',
  };
}

export function clearRedeliveryFilter(webhookId: string, eventSequence: number): FindSpec {
  return { collection: COLLECTIONS.webhookRedeliveries, filter: { _id: redeliveryId(webhookId, eventSequence) }, index: '_id_' };
}
