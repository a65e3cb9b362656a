import type Database from 'better-sqlite3';
import type { AuditDraft, AuditEvent, Page, PageRequest } from '../domain/model.js';
import type { DeliveryStatus, NewWebhookDelivery, Webhook, WebhookDelivery, WebhookPatch } from '../domain/webhook.js';
import { decodeCursor, toPage } from './paging.js';
import type { WebhookStore } from './webhook.store.js';

interface WebhookRow {
  id: string; url: string; actions: string; model_scope: string | null; description: string | null; sealed_secret: string;
  created_at: number; created_by: string; updated_at: number; deleted_at: number | null; cursor: number;
}
interface DeliveryRow {
  seq: number; webhook_id: string; event_sequence: number; event_id: string; attempt: number; status: string; http_status: number | null;
  error: string | null; response_body: string | null; duration_ms: number; attempted_at: number; first_attempt_at: number;
  next_attempt_at: number | null; redelivery: number;
}

function rowToWebhook(r: WebhookRow): Webhook {
  return {
    id: r.id, url: r.url, actions: JSON.parse(r.actions) as string[], modelScope: r.model_scope, description: r.description,
    sealedSecret: r.sealed_secret, createdAt: new Date(r.created_at), createdBy: r.created_by, updatedAt: new Date(r.updated_at), cursor: r.cursor,
  };
}

function rowToDelivery(r: DeliveryRow): WebhookDelivery {
  return {
    seq: r.seq, webhookId: r.webhook_id, eventSequence: r.event_sequence, eventId: r.event_id, attempt: r.attempt, status: r.status as DeliveryStatus,
    httpStatus: r.http_status, error: r.error, responseBody: r.response_body, durationMs: r.duration_ms, attemptedAt: new Date(r.attempted_at),
    firstAttemptAt: new Date(r.first_attempt_at), nextAttemptAt: r.next_attempt_at === null ? null : new Date(r.next_attempt_at), redelivery: r.redelivery === 1,
  };
}

/**
 * The webhook tables of the SQLite store. `write` runs its function in one IMMEDIATE
 * transaction and `append` appends an audit event inside it, so each change and its event are
 * stored together, also with other processes on the file.
 */
export class SqliteWebhooks implements WebhookStore {
  constructor(
    private readonly db: Database.Database,
    private readonly write: <T>(fn: () => T) => T,
    private readonly append: (draft: AuditDraft) => AuditEvent,
  ) {}

  private live(id: string): WebhookRow | undefined {
    return this.db.prepare('SELECT * FROM webhooks WHERE id = ? AND deleted_at IS NULL').get(id) as WebhookRow | undefined;
  }

  async createWebhook(w: Webhook, audit: AuditDraft): Promise<Webhook> {
    return this.write(() => {
      this.db
        .prepare(`INSERT INTO webhooks (id, url, actions, model_scope, description, sealed_secret, created_at, created_by, updated_at, deleted_at, cursor)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`)
        .run(w.id, w.url, JSON.stringify(w.actions), w.modelScope, w.description, w.sealedSecret, w.createdAt.getTime(), w.createdBy, w.updatedAt.getTime(), w.cursor);
      this.append(audit);
      return { ...w, actions: [...w.actions] };
    });
  }

  async updateWebhook(id: string, patch: WebhookPatch, updatedAt: Date, audit: AuditDraft): Promise<Webhook | null> {
    return this.write(() => {
      const row = this.live(id);
      if (!row) return null;
      const next = { ...rowToWebhook(row), ...definedOnly(patch), updatedAt };
      this.db
        .prepare('UPDATE webhooks SET url = ?, actions = ?, model_scope = ?, description = ?, sealed_secret = ?, updated_at = ? WHERE id = ?')
        .run(next.url, JSON.stringify(next.actions), next.modelScope, next.description, next.sealedSecret, updatedAt.getTime(), id);
      this.append(audit);
      return next;
    });
  }

  async deleteWebhook(id: string, deletedAt: Date, audit: AuditDraft): Promise<Webhook | null> {
    return this.write(() => {
      const row = this.live(id);
      if (!row) return null;
      this.db.prepare('UPDATE webhooks SET deleted_at = ? WHERE id = ?').run(deletedAt.getTime(), id);
      this.db.prepare('DELETE FROM webhook_redeliveries WHERE webhook_id = ?').run(id);
      this.append(audit);
      return rowToWebhook(row);
    });
  }

  async getWebhook(id: string): Promise<Webhook | null> {
    const row = this.live(id);
    return row ? rowToWebhook(row) : null;
  }

  async listWebhooks(): Promise<Webhook[]> {
    const rows = this.db.prepare('SELECT * FROM webhooks WHERE deleted_at IS NULL ORDER BY created_at, id').all() as WebhookRow[];
    return rows.map(rowToWebhook);
  }

  async advanceWebhookCursor(id: string, expected: number, next: number): Promise<boolean> {
    const r = this.db.prepare('UPDATE webhooks SET cursor = ? WHERE id = ? AND cursor = ? AND deleted_at IS NULL').run(next, id, expected);
    return r.changes === 1;
  }

  async recordWebhookDelivery(d: NewWebhookDelivery): Promise<WebhookDelivery> {
    return this.insertDelivery(d);
  }

  private insertDelivery(d: NewWebhookDelivery): WebhookDelivery {
    const r = this.db
      .prepare(`INSERT INTO webhook_deliveries (webhook_id, event_sequence, event_id, attempt, status, http_status, error, response_body, duration_ms,
                attempted_at, first_attempt_at, next_attempt_at, redelivery) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(d.webhookId, d.eventSequence, d.eventId, d.attempt, d.status, d.httpStatus, d.error, d.responseBody, Math.round(d.durationMs),
        d.attemptedAt.getTime(), d.firstAttemptAt.getTime(), d.nextAttemptAt?.getTime() ?? null, d.redelivery ? 1 : 0);
    return { ...d, durationMs: Math.round(d.durationMs), seq: Number(r.lastInsertRowid) };
  }

  async settleWebhookDelivery(d: NewWebhookDelivery, expectedCursor: number): Promise<boolean> {
    return this.write(() => {
      this.insertDelivery(d);
      return this.db.prepare('UPDATE webhooks SET cursor = ? WHERE id = ? AND cursor = ? AND deleted_at IS NULL')
        .run(d.eventSequence, d.webhookId, expectedCursor).changes === 1;
    });
  }

  async listWebhookDeliveries(webhookId: string, page: PageRequest): Promise<Page<WebhookDelivery>> {
    const after = decodeCursor(page.after, ['number'] as const);
    const rows = this.db
      .prepare('SELECT * FROM webhook_deliveries WHERE webhook_id = @id AND (@after IS NULL OR seq < @after) ORDER BY seq DESC LIMIT @limit')
      .all({ id: webhookId, after: after?.[0] ?? null, limit: page.first + 1 }) as DeliveryRow[];
    const { n } = this.db.prepare('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE webhook_id = ?').get(webhookId) as { n: number };
    return toPage(rows.map(rowToDelivery), page.first, n, (d) => [d.seq]);
  }

  async lastWebhookDelivery(webhookId: string, eventSequence: number): Promise<WebhookDelivery | null> {
    const row = this.db
      .prepare('SELECT * FROM webhook_deliveries WHERE webhook_id = ? AND event_sequence = ? AND redelivery = 0 ORDER BY seq DESC LIMIT 1')
      .get(webhookId, eventSequence) as DeliveryRow | undefined;
    return row ? rowToDelivery(row) : null;
  }

  async requestWebhookRedelivery(webhookId: string, eventSequence: number, requestedAt: Date): Promise<void> {
    this.db.prepare('INSERT OR IGNORE INTO webhook_redeliveries (webhook_id, event_sequence, requested_at) VALUES (?, ?, ?)')
      .run(webhookId, eventSequence, requestedAt.getTime());
  }

  async webhookRedeliveries(webhookId: string, limit: number): Promise<number[]> {
    const rows = this.db.prepare('SELECT event_sequence FROM webhook_redeliveries WHERE webhook_id = ? ORDER BY requested_at, event_sequence LIMIT ?')
      .all(webhookId, limit) as { event_sequence: number }[];
    return rows.map((r) => r.event_sequence);
  }

  async clearWebhookRedelivery(webhookId: string, eventSequence: number): Promise<void> {
    this.db.prepare('DELETE FROM webhook_redeliveries WHERE webhook_id = ? AND event_sequence = ?').run(webhookId, eventSequence);
  }
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
