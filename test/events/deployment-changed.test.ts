import { afterEach, describe, expect, it } from 'vitest';
import type { Deployment, ModelVersion } from '../../src/domain/model.js';
import { EventsService } from '../../src/events/events.service.js';
import { SqliteRegistryStore } from '../../src/stores/sqlite-registry.store.js';
import { draft, newDeployment, newVersion } from '../support/fixtures.js';

/**
 * deploymentChanged when other processes moved the pointer just before the subscription, within one
 * poll of this process's feed (moves written straight to the store wake nothing here, as another
 * process's would not): the live deployment first, then nothing older, nothing twice.
 */
describe('deploymentChanged after moves the feed has not read yet', () => {
  const store = new SqliteRegistryStore(':memory:');
  const events = new EventsService(store, { pollMs: 200, recentEvents: 100, maxLag: 10_000, gapRetryMs: 200 });
  const principal = { name: 'a', tokenId: 't', role: 'admin' as const, modelScope: null };
  afterEach(async () => {
    await events.stop();
    await store.close();
  });

  async function ready(model: string): Promise<ModelVersion> {
    const v = await store.registerVersion(newVersion(model), (s) => draft('MODEL_VERSION_REGISTERED', { modelName: model, versionId: s.id }));
    const r = await store.transitionVersion(v.id, { from: ['PENDING_UPLOAD'], to: 'READY', failureReason: null, requireUndeployed: false }, draft('MODEL_VERSION_READY'));
    if (r.kind !== 'ok') throw new Error(r.kind);
    return r.version;
  }
  async function promote(v: ModelVersion): Promise<Deployment> {
    const p = await store.getPointer(v.modelName, 'production');
    const d = newDeployment(v, 'production', p ? { versionId: p.versionId, deploymentId: p.deploymentId } : null);
    const r = await store.moveDeploymentPointer(d, p?.revision ?? null, draft('MODEL_VERSION_PROMOTED', { modelName: v.modelName, versionId: v.id }, { environment: 'production', deploymentId: d.id }));
    if (r.kind !== 'moved') throw new Error(r.kind);
    return r.deployment;
  }
  /** Reads a stream with a deadline per item; a read that times out stays pending for the next call. */
  const reader = (it: AsyncIterator<Deployment>) => {
    let pending = it.next();
    return async (ms = 600): Promise<Deployment | undefined> => {
      const r = await Promise.race([pending.then((x) => ({ x })), new Promise<null>((res) => setTimeout(() => res(null), ms))]);
      if (r === null) return undefined;
      pending = it.next();
      return r.x.value as Deployment;
    };
  };

  it('sends the live deployment, never an older one after it, and each later move once', async () => {
    const [a, b, c, d] = [await ready('m'), await ready('m'), await ready('m'), await ready('m')];
    await promote(a);
    // Another subscriber keeps this process's feed running, so it has read the head already.
    const other = events.registryEvents(principal, { afterSequence: null, modelName: null, actions: null });
    void (async () => {
      for await (const _ of other) void _;
    })();
    await new Promise((r) => setTimeout(r, 50));
    await promote(b);
    const live = await promote(c);
    const it = await events.deploymentChanged(principal, 'm', 'production');
    const next = reader(it);
    expect((await next())?.id).toBe(live.id);
    expect(await next()).toBeUndefined(); // before the fix: B, then C again
    const later = await promote(d);
    expect((await next(2000))?.id).toBe(later.id);
    await it.return?.();
    await other.return?.();
  });
});
