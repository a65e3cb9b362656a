import { randomBytes, randomUUID } from 'node:crypto';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../domain/errors.js';
import type { Page, PageRequest } from '../../domain/model.js';
import { MODEL_SCOPE_PATTERN, type Principal } from '../../domain/token.js';
import { checkOptionalText, checkPageSize, checkStringList } from '../../domain/validation.js';
import { WEBHOOK_LIMITS, type Webhook, type WebhookDelivery, type WebhookPatch } from '../../domain/webhook.js';
import type { SecretBox } from '../../events/webhooks/secret-box.js';
import { BlockedTargetError, checkWebhookUrl, hostOf, resolveAllowedWithin } from '../../events/webhooks/ssrf-guard.js';
import { webhookWants } from '../../events/webhooks/webhook-payload.js';
import type { AccessService } from '../access.service.js';
import { AuditAction, type ServiceDeps, auditDraft } from '../service-deps.js';

/** Secrets look like `whsec_<43 base64url chars>`: 256 random bits. */
const SECRET_PREFIX = 'whsec_';
const ACTION_PATTERN = /^[A-Z][A-Z0-9_]{0,99}$/;
/** How long the URL check at creation waits for DNS. */
const DNS_CHECK_MS = 5_000;

export interface WebhookInput {
  url?: string | null;
  actions?: string[] | null;
  /** undefined: unchanged (updates); null: every model. */
  modelScope?: string | null;
  description?: string | null;
}

export interface CreatedWebhook {
  webhook: Webhook;
  /** The signing secret: shown in this answer only; stored sealed with the server key. */
  secret: string;
}

export interface WebhookSettings {
  /** Let webhook URLs name loopback, link-local and private addresses (REGISTRY_WEBHOOK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
}

/** Webhook administration (admins only): every change is checked first and audited with its effect. */
export class WebhookService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
    private readonly box: SecretBox | null,
    private readonly settings: WebhookSettings,
  ) {}

  private requireBox(): SecretBox {
    if (!this.box) {
      throw new FailedPreconditionError('Webhooks need a server key to seal their secrets: set REGISTRY_WEBHOOK_KEY_FILE (or REGISTRY_WEBHOOK_KEY) on every registry process');
    }
    return this.box;
  }

  async create(input: WebhookInput, principal: Principal): Promise<CreatedWebhook> {
    await this.access.require(principal, 'admin', null, 'manage webhooks');
    const box = this.requireBox();
    if (input.url == null) throw new InvalidArgumentError('input.url', 'is required');
    const url = await this.checkUrl(input.url);
    const actions = checkActions(input.actions ?? []);
    const modelScope = checkScope(input.modelScope ?? null);
    const description = checkOptionalText('input.description', input.description, WEBHOOK_LIMITS.descriptionChars);
    if ((await this.deps.store.listWebhooks()).length >= WEBHOOK_LIMITS.webhooks) {
      throw new FailedPreconditionError(`A registry has at most ${WEBHOOK_LIMITS.webhooks} webhooks; delete one first`);
    }
    const id = randomUUID();
    const secret = newSecret();
    const now = this.deps.now();
    // Deliveries start after the newest event now: a new webhook gets what happens from here on.
    const newest = await this.deps.store.listAuditEvents({ modelName: null, actor: null, action: null, since: null, until: null }, { first: 1, after: null });
    const webhook: Webhook = {
      id, url, actions, modelScope, description, sealedSecret: box.seal(secret, id), createdAt: now, createdBy: principal.name, updatedAt: now,
      cursor: newest.items[0]?.node.sequence ?? 0,
    };
    const audit = auditDraft(this.deps, principal, AuditAction.webhookCreated, { modelName: null, versionId: null }, { webhookId: id, ...auditView(webhook) });
    return { webhook: await this.deps.store.createWebhook(webhook, audit), secret };
  }

  async update(id: string, input: WebhookInput, principal: Principal): Promise<Webhook> {
    await this.access.require(principal, 'admin', null, 'manage webhooks');
    const patch: WebhookPatch = {};
    if (input.url != null) patch.url = await this.checkUrl(input.url);
    if (input.actions != null) patch.actions = checkActions(input.actions);
    if (input.modelScope !== undefined) patch.modelScope = checkScope(input.modelScope);
    if (input.description !== undefined) patch.description = checkOptionalText('input.description', input.description, WEBHOOK_LIMITS.descriptionChars);
    const current = await this.get(id, principal);
    const audit = auditDraft(this.deps, principal, AuditAction.webhookUpdated, { modelName: null, versionId: null }, {
      webhookId: id, ...auditView({ ...current, ...patch }),
    });
    return this.found(id, await this.deps.store.updateWebhook(id, patch, this.deps.now(), audit));
  }

  async rotateSecret(id: string, principal: Principal): Promise<CreatedWebhook> {
    await this.access.require(principal, 'admin', null, 'manage webhooks');
    const box = this.requireBox();
    await this.get(id, principal);
    const secret = newSecret();
    const audit = auditDraft(this.deps, principal, AuditAction.webhookSecretRotated, { modelName: null, versionId: null }, { webhookId: id });
    const webhook = this.found(id, await this.deps.store.updateWebhook(id, { sealedSecret: box.seal(secret, id) }, this.deps.now(), audit));
    return { webhook, secret };
  }

  async delete(id: string, principal: Principal): Promise<Webhook> {
    await this.access.require(principal, 'admin', null, 'manage webhooks');
    await this.get(id, principal);
    const audit = auditDraft(this.deps, principal, AuditAction.webhookDeleted, { modelName: null, versionId: null }, { webhookId: id });
    return this.found(id, await this.deps.store.deleteWebhook(id, this.deps.now(), audit));
  }

  /** Queues one more delivery of an event the webhook receives (the delivery worker sends it, under the webhook's lease). */
  async redeliver(id: string, eventSequence: number, principal: Principal): Promise<Webhook> {
    await this.access.require(principal, 'admin', null, 'manage webhooks');
    if (!Number.isSafeInteger(eventSequence) || eventSequence < 1) throw new InvalidArgumentError('eventSequence', 'must be a whole number, 1 or more');
    const webhook = await this.get(id, principal);
    const [event] = await this.deps.store.auditEventsAfter(eventSequence - 1, 1);
    if (event?.sequence !== eventSequence) throw new InvalidArgumentError('eventSequence', `there is no audit event ${eventSequence}`);
    if (!webhookWants(webhook, event)) throw new InvalidArgumentError('eventSequence', `event ${eventSequence} (${event.action}) is not one this webhook receives`);
    await this.deps.store.requestWebhookRedelivery(id, eventSequence, this.deps.now());
    return webhook;
  }

  async list(principal: Principal): Promise<Webhook[]> {
    this.access.check(principal, 'admin', 'read webhooks');
    this.access.requireUnscoped(principal, 'webhooks');
    return this.deps.store.listWebhooks();
  }

  /** NOT_FOUND when there is no such (live) webhook. */
  async get(id: string, principal: Principal): Promise<Webhook> {
    this.access.check(principal, 'admin', 'read webhooks');
    this.access.requireUnscoped(principal, 'webhooks');
    if (id.length > 100) throw new InvalidArgumentError('id', 'at most 100 characters');
    return this.found(id, await this.deps.store.getWebhook(id));
  }

  async find(id: string, principal: Principal): Promise<Webhook | null> {
    try {
      return await this.get(id, principal);
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  async deliveries(webhookId: string, page: PageRequest, principal: Principal): Promise<Page<WebhookDelivery>> {
    this.access.check(principal, 'admin', 'read webhooks');
    return this.deps.store.listWebhookDeliveries(webhookId, { first: checkPageSize('first', page.first), after: page.after });
  }

  private found<T>(id: string, value: T | null): T {
    if (value === null) throw new NotFoundError(`Webhook ${id} does not exist`);
    return value;
  }

  /** The URL's form, then where its host resolves now (refused when only to blocked addresses, unless allowed). */
  private async checkUrl(text: string): Promise<string> {
    const url = checkWebhookUrl('input.url', text);
    try {
      await resolveAllowedWithin(hostOf(url), this.settings.allowPrivate, DNS_CHECK_MS);
    } catch (err) {
      if (err instanceof BlockedTargetError) throw new InvalidArgumentError('input.url', err.message);
      throw new InvalidArgumentError('input.url', `${hostOf(url)} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'lookup failed'})`);
    }
    return url.href;
  }
}

function newSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

function checkActions(actions: readonly string[]): string[] {
  const checked = checkStringList('input.actions', actions, WEBHOOK_LIMITS.actions, WEBHOOK_LIMITS.actionChars);
  checked.forEach((a, i) => {
    if (!ACTION_PATTERN.test(a)) throw new InvalidArgumentError(`input.actions[${i}]`, 'must be an audit action name such as MODEL_VERSION_PROMOTED');
  });
  return [...new Set(checked)];
}

function checkScope(scope: string | null): string | null {
  if (scope !== null && !MODEL_SCOPE_PATTERN.test(scope)) {
    throw new InvalidArgumentError('input.modelScope', `must be a model name or a prefix ending in "*" (${MODEL_SCOPE_PATTERN.source})`);
  }
  return scope;
}

/**
 * What the audit log keeps of a webhook: its target's origin only. Paths and queries often carry
 * the receiver's own secret (Slack-style `/services/T…/B…/<secret>` URLs), and the audit log is
 * readable by every unscoped token and kept for years.
 */
function auditView(w: Pick<Webhook, 'url' | 'actions' | 'modelScope'>): { target: string; actions: string[]; modelScope: string | null } {
  return { target: new URL(w.url).origin, actions: [...w.actions], modelScope: w.modelScope };
}
