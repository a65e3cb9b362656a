import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { webhookLeaseName } from '../../domain/webhook.js';
import type { RegistryStore } from '../../stores/registry.store.js';

/**
 * This process's leases on webhooks (one sender per webhook across processes): taken, renewed and
 * released in the store, whose clock decides expiry.
 */
export class WebhookLeases {
  private readonly holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  /** When this process last took or renewed each lease (its own clock, before the call). */
  private readonly renewedAt = new Map<string, number>();

  constructor(
    private readonly store: Pick<RegistryStore, 'acquireLease' | 'releaseLease'>,
    private readonly settings: { leaseMs: number; timeoutMs: number },
  ) {}

  /**
   * Takes or renews the webhook's lease. Before an attempt (`beforeAttempt`) a lease renewed
   * recently enough is kept as it is: renewing once (leaseMs − timeoutMs) / 2 has passed leaves an
   * attempt that starts just before that point at least as much again for clock differences with
   * the store, and spares a store write per event.
   */
  async take(id: string, beforeAttempt = false): Promise<boolean> {
    const now = Date.now();
    const last = this.renewedAt.get(id);
    if (beforeAttempt && last !== undefined && now - last < (this.settings.leaseMs - this.settings.timeoutMs) / 2) return true;
    const held = await this.store.acquireLease(webhookLeaseName(id), this.holder, this.settings.leaseMs);
    if (held) this.renewedAt.set(id, now);
    else this.renewedAt.delete(id);
    return held;
  }

  async release(id: string): Promise<void> {
    this.renewedAt.delete(id);
    await this.store.releaseLease(webhookLeaseName(id), this.holder).catch(() => {});
  }
}
