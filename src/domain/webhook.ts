/** Webhooks: plain types shared by every layer. No I/O. */

/** A registered receiver of registry events (the audit log read forward, filtered). */
export interface Webhook {
  id: string;
  /** http(s) URL the events are POSTed to; checked against the SSRF rules at creation and at every connect. */
  url: string;
  /** Audit actions delivered; empty: every action. */
  actions: string[];
  /** A model name or `prefix*`: only events of those models; null: every event. */
  modelScope: string | null;
  description: string | null;
  /** The signing secret, sealed with the server's webhook key (AES-256-GCM): a database reader cannot sign with it. */
  sealedSecret: string;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
  /** The last audit sequence delivered (or given up on); advanced only by compare-and-set. */
  cursor: number;
}

export type WebhookPatch = Partial<Pick<Webhook, 'url' | 'actions' | 'modelScope' | 'description' | 'sealedSecret'>>;

export const DELIVERY_STATUSES = ['SUCCEEDED', 'RETRYING', 'FAILED'] as const;
/** SUCCEEDED: a 2xx. RETRYING: this attempt failed, another follows at nextAttemptAt. FAILED: given up, the cursor moved on. */
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One attempt to deliver one event to one webhook (the delivery log). */
export interface WebhookDelivery {
  /** Store-assigned, increasing per store: the log's order. */
  seq: number;
  webhookId: string;
  eventSequence: number;
  eventId: string;
  /** 1, 2, 3 ... per (webhook, event) since its first attempt (a redelivery starts again at 1). */
  attempt: number;
  status: DeliveryStatus;
  /** The receiver's HTTP status; null when no response came (timeout, refused, blocked). */
  httpStatus: number | null;
  error: string | null;
  /** At most WEBHOOK_RESPONSE_BODY_BYTES of the response body. */
  responseBody: string | null;
  durationMs: number;
  attemptedAt: Date;
  /** When the first attempt at this event was made: the give-up clock. */
  firstAttemptAt: Date;
  /** RETRYING only: when the next attempt is due. */
  nextAttemptAt: Date | null;
  /** Asked for by redeliverWebhookEvent (does not move the cursor). */
  redelivery: boolean;
}

export type NewWebhookDelivery = Omit<WebhookDelivery, 'seq'>;

/** Response bodies are kept up to this many bytes. */
export const WEBHOOK_RESPONSE_BODY_BYTES = 1024;
export const WEBHOOK_LIMITS = { urlChars: 2048, actions: 50, actionChars: 100, descriptionChars: 1000, webhooks: 100 } as const;

/** The lease that makes one process at a time deliver to a webhook. */
export function webhookLeaseName(webhookId: string): string {
  return `webhook:${webhookId}`;
}
