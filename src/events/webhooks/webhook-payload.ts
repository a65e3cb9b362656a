import { TOKEN_ACTION_PREFIX } from '../../domain/audit-actions.js';
import type { AuditEvent } from '../../domain/model.js';
import { scopeAllows } from '../../domain/token.js';
import type { Webhook } from '../../domain/webhook.js';

/**
 * Whether `webhook` gets `event`: its actions (none listed: every action but the API-token
 * events, which go out only when named) and its model scope (events without a model are outside
 * any scope).
 */
export function webhookWants(webhook: Pick<Webhook, 'actions' | 'modelScope'>, event: Pick<AuditEvent, 'action' | 'modelName'>): boolean {
  const byAction = webhook.actions.length === 0 ? !event.action.startsWith(TOKEN_ACTION_PREFIX) : webhook.actions.includes(event.action);
  if (!byAction) return false;
  return webhook.modelScope === null || (event.modelName !== null && scopeAllows(webhook.modelScope, event.modelName));
}

/** The JSON body POSTed for an event (the audit event without its hash-chain fields). */
export function webhookBody(e: AuditEvent): string {
  return JSON.stringify({
    id: e.id,
    sequence: e.sequence,
    action: e.action,
    occurredAt: e.occurredAt.toISOString(),
    actor: e.actor,
    modelName: e.modelName,
    versionId: e.versionId,
    details: e.details,
  });
}

/** Exponential backoff with jitter: about min·2^(attempt-1), capped at max, jittered over its upper half, never under min. */
export function retryDelayMs(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 40));
  return Math.max(minMs, Math.round(ceiling / 2 + random() * (ceiling / 2)));
}
