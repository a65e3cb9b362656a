import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/hash-chain.js';
import { ConflictError } from '../../src/domain/errors.js';
import type { NewWebhookDelivery, Webhook } from '../../src/domain/webhook.js';
import type { RegistryStore } from '../../src/stores/registry.store.js';
import { draft, tick } from '../support/fixtures.js';

type OpenStore = () => Promise<{ store: RegistryStore; close: () => Promise<void> }>;

export function newWebhook(overrides: Partial<Webhook> = {}): Webhook {
  const at = tick();
  return {
    id: randomUUID(), url: 'https://hooks.example.com/registry', actions: ['MODEL_VERSION_PROMOTED'], modelScope: 'iris*', description: 'deploys',
    sealedSecret: 'v1.sealed', createdAt: at, createdBy: 'tester', updatedAt: at, cursor: 0, ...overrides,
  };
}

function attempt(webhookId: string, eventSequence: number, over: Partial<NewWebhookDelivery> = {}): NewWebhookDelivery {
  const at = tick();
  return {
    webhookId, eventSequence, eventId: `e${eventSequence}`, attempt: 1, status: 'RETRYING', httpStatus: 500, error: 'HTTP 500', responseBody: 'oops',
    durationMs: 12.4, attemptedAt: at, firstAttemptAt: at, nextAttemptAt: new Date(at.getTime() + 1000), redelivery: false, ...over,
  };
}

/** The webhook part of the store contract (WebhookStore), run from describeRegistryStore on every implementation. */
export function describeWebhookStore(name: string, open: OpenStore): void {
  describe(`WebhookStore contract: ${name}`, () => {
    let store: RegistryStore;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ store, close } = await open());
    });
    afterEach(async () => {
      await close();
    });

    const events = async () => (await store.auditEventsAfter(0, 100)).map((e) => [e.action, e.details]);

    it('creates, reads, lists, updates and deletes webhooks, each with its audit event in the chain', async () => {
      const a = newWebhook({ cursor: 3 });
      const b = newWebhook({ actions: [], modelScope: null, description: null });
      expect(await store.createWebhook(a, draft('WEBHOOK_CREATED', {}, { webhookId: a.id }))).toEqual(a);
      await store.createWebhook(b, draft('WEBHOOK_CREATED', {}, { webhookId: b.id }));
      expect(await store.getWebhook(a.id)).toEqual(a);
      expect((await store.listWebhooks()).map((w) => w.id)).toEqual([a.id, b.id]);

      const at = tick();
      const changed = await store.updateWebhook(a.id, { url: 'https://other.example.com/', actions: [], description: undefined }, at, draft('WEBHOOK_UPDATED', {}, { webhookId: a.id }));
      expect(changed).toEqual({ ...a, url: 'https://other.example.com/', actions: [], updatedAt: at });
      expect(await store.getWebhook(a.id)).toEqual(changed);
      expect(await store.updateWebhook('nope', { url: 'https://x/' }, at, draft('WEBHOOK_UPDATED'))).toBeNull();

      expect((await store.deleteWebhook(b.id, tick(), draft('WEBHOOK_DELETED', {}, { webhookId: b.id })))?.id).toBe(b.id);
      expect(await store.getWebhook(b.id)).toBeNull();
      expect((await store.listWebhooks()).map((w) => w.id)).toEqual([a.id]);
      expect(await store.deleteWebhook(b.id, tick(), draft('WEBHOOK_DELETED'))).toBeNull();
      expect(await store.updateWebhook(b.id, { url: 'https://x/' }, tick(), draft('WEBHOOK_UPDATED'))).toBeNull();

      expect(await events()).toEqual([
        ['WEBHOOK_CREATED', { webhookId: a.id }], ['WEBHOOK_CREATED', { webhookId: b.id }],
        ['WEBHOOK_UPDATED', { webhookId: a.id }], ['WEBHOOK_DELETED', { webhookId: b.id }],
      ]);
      expect((await verifyChain(store.auditEventsAscending())).valid).toBe(true);
    });

    it('refuses a duplicate id with ConflictError and writes nothing', async () => {
      const a = newWebhook();
      await store.createWebhook(a, draft('WEBHOOK_CREATED'));
      await expect(store.createWebhook({ ...a, url: 'https://dup/' }, draft('WEBHOOK_CREATED'))).rejects.toBeInstanceOf(ConflictError);
      expect((await store.getWebhook(a.id))?.url).toBe(a.url);
      expect(await events()).toHaveLength(1);
    });

    it('moves the cursor by compare-and-set only: of concurrent movers from the same value exactly one wins', async () => {
      const a = newWebhook({ cursor: 5 });
      await store.createWebhook(a, draft('WEBHOOK_CREATED'));
      expect(await store.advanceWebhookCursor(a.id, 4, 6)).toBe(false);
      const won = await Promise.all(Array.from({ length: 8 }, (_, i) => store.advanceWebhookCursor(a.id, 5, 6 + i)));
      expect(won.filter(Boolean)).toHaveLength(1);
      const cursor = (await store.getWebhook(a.id))!.cursor;
      expect(cursor).toBe(6 + won.indexOf(true));
      // A change of the webhook leaves its cursor alone; a deleted webhook's cursor never moves.
      await store.updateWebhook(a.id, { description: 'x' }, tick(), draft('WEBHOOK_UPDATED'));
      expect((await store.getWebhook(a.id))!.cursor).toBe(cursor);
      await store.deleteWebhook(a.id, tick(), draft('WEBHOOK_DELETED'));
      expect(await store.advanceWebhookCursor(a.id, cursor, cursor + 1)).toBe(false);
      expect(await store.advanceWebhookCursor('nope', 0, 1)).toBe(false);
    });

    it('logs delivery attempts newest first with cursors and an exact count, and finds the last attempt at an event', async () => {
      const a = newWebhook();
      const other = newWebhook();
      for (const w of [a, other]) await store.createWebhook(w, draft('WEBHOOK_CREATED'));
      const first = await store.recordWebhookDelivery(attempt(a.id, 7));
      expect(first).toMatchObject({ webhookId: a.id, eventSequence: 7, attempt: 1, status: 'RETRYING', durationMs: 12, responseBody: 'oops' });
      await store.recordWebhookDelivery(attempt(other.id, 7));
      const second = await store.recordWebhookDelivery(attempt(a.id, 7, { attempt: 2, status: 'SUCCEEDED', httpStatus: 204, error: null, nextAttemptAt: null, firstAttemptAt: first.firstAttemptAt }));
      await store.recordWebhookDelivery(attempt(a.id, 7, { redelivery: true, status: 'FAILED', nextAttemptAt: null }));
      await store.recordWebhookDelivery(attempt(a.id, 8, { httpStatus: null, error: 'connect ECONNREFUSED', responseBody: null }));
      expect(second.seq).toBeGreaterThan(first.seq);

      const page1 = await store.listWebhookDeliveries(a.id, { first: 2, after: null });
      expect(page1.totalCount).toBe(4);
      expect(page1.hasNextPage).toBe(true);
      expect(page1.items.map((i) => [i.node.eventSequence, i.node.attempt, i.node.redelivery])).toEqual([[8, 1, false], [7, 1, true]]);
      const page2 = await store.listWebhookDeliveries(a.id, { first: 2, after: page1.items[1]!.cursor });
      expect(page2.items.map((i) => i.node.seq)).toEqual([second.seq, first.seq]);
      expect(page2.hasNextPage).toBe(false);
      expect(page2.items[0]!.node).toEqual(second);

      expect(await store.lastWebhookDelivery(a.id, 7)).toEqual(second);
      expect(await store.lastWebhookDelivery(a.id, 9)).toBeNull();
      await expect(store.listWebhookDeliveries(a.id, { first: 2, after: 'bogus' })).rejects.toThrow(/after/);
    });

    it('settles an attempt: records it and moves the cursor by compare-and-set, keeping the record when the cursor moved elsewhere', async () => {
      const a = newWebhook({ cursor: 3 });
      await store.createWebhook(a, draft('WEBHOOK_CREATED'));
      expect(await store.settleWebhookDelivery(attempt(a.id, 5, { status: 'SUCCEEDED', httpStatus: 200, error: null, nextAttemptAt: null }), 3)).toBe(true);
      expect((await store.getWebhook(a.id))!.cursor).toBe(5);
      expect(await store.settleWebhookDelivery(attempt(a.id, 6, { status: 'FAILED', nextAttemptAt: null }), 3)).toBe(false);
      expect((await store.getWebhook(a.id))!.cursor).toBe(5);
      expect((await store.lastWebhookDelivery(a.id, 5))?.status).toBe('SUCCEEDED');
      expect((await store.lastWebhookDelivery(a.id, 6))?.status).toBe('FAILED');
      expect((await store.listWebhookDeliveries(a.id, { first: 10, after: null })).totalCount).toBe(2);
    });

    it('queues a redelivery once per event, lists requests oldest first, and clears them', async () => {
      const a = newWebhook();
      await store.createWebhook(a, draft('WEBHOOK_CREATED'));
      await store.requestWebhookRedelivery(a.id, 9, new Date(1000));
      await store.requestWebhookRedelivery(a.id, 4, new Date(2000));
      await store.requestWebhookRedelivery(a.id, 9, new Date(3000));
      await store.requestWebhookRedelivery('another', 1, new Date(500));
      expect(await store.webhookRedeliveries(a.id, 10)).toEqual([9, 4]);
      expect(await store.webhookRedeliveries(a.id, 1)).toEqual([9]);
      await store.clearWebhookRedelivery(a.id, 9);
      expect(await store.webhookRedeliveries(a.id, 10)).toEqual([4]);
    });
  });
}
