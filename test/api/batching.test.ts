import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegistryStore } from '../../src/stores/registry.store.js';
import { type Harness, promote, publish, startRegistry } from '../support/api-harness.js';

/**
 * The calls the registry's background services make on their own (webhook delivery polls, the
 * audit checkpoints' look, leases): they may land while a request is counted, and are not its reads.
 */
const BACKGROUND = new Set(['listWebhooks', 'webhookRedeliveries', 'advanceWebhookCursor', 'acquireLease', 'releaseLease', 'getLease', 'listAuditEvents', 'auditEventsAfter']);

/** Nested fields are batched per request: the number of store reads does not grow with the page. */
describe('per-request DataLoaders', () => {
  let h: Harness;
  const calls: string[] = [];
  beforeAll(async () => {
    // Counts calls and delegates every one to the real store.
    const wrapStore = (store: RegistryStore): RegistryStore =>
      new Proxy(store, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            calls.push(String(prop));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    h = await startRegistry({}, { wrapStore });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await publish(h, 'batched', { files: { 'm.bin': Buffer.from(`v${i}`) } }));
    for (let i = 0; i < 50; i++) await promote(h, ids[i % 8]!, { environment: i % 2 ? 'production' : 'staging' });
  });
  afterAll(async () => {
    await h.close();
  });

  const history = (first: number) => `{ deploymentHistory(modelName: "batched", first: ${first}) {
    edges { node { id active version { id number environments artifacts { path } } previousVersion { id number environments } } }
  } }`;

  async function readsFor(first: number): Promise<Record<string, number>> {
    calls.length = 0;
    const data = await h.ok(history(first));
    expect(data.deploymentHistory.edges).toHaveLength(first);
    return calls.filter((c) => !BACKGROUND.has(c)).reduce<Record<string, number>>((acc, c) => ({ ...acc, [c]: (acc[c] ?? 0) + 1 }), {});
  }

  it('lists 50 deployments with versions, previous versions, environments and active flags in a fixed number of store reads', async () => {
    const fifty = await readsFor(50);
    const five = await readsFor(5);
    expect(fifty).toEqual(five);
    const total = Object.values(fifty).reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(7);
    expect(fifty.getVersions).toBeLessThanOrEqual(2);
    expect(fifty.getVersion ?? 0).toBe(0);
  });
});
