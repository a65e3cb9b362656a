import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryable, NotFoundError } from './errors.js';
import { DeploymentChangedDocument, ProductionModelDocument, type ProductionModelQuery } from './generated/graphql.js';
import { fetchManifest } from './manifest.js';
import { subscribe, subscriptionClient } from './subscriptions.js';
import type { Transport } from './transport.js';

export type ProductionVersion = NonNullable<ProductionModelQuery['productionModel']>;

/** The version deployed in the environment now (default production), or null. */
export async function productionModel(t: Transport, model: string, environment = 'production'): Promise<ProductionVersion | null> {
  return (await t.request(ProductionModelDocument, { modelName: model, environment })).productionModel;
}

export interface WatchOptions {
  environment?: string;
  /** `subscription` (default): deploymentChanged over graphql-ws, falling back to polling if it fails; `poll`: the manifest with If-None-Match only. */
  mode?: 'subscription' | 'poll';
  /** Polling interval (default 5 s). */
  intervalMs?: number;
  signal?: AbortSignal;
  /** Called after each manifest poll: `true` when the registry answered 304 Not Modified. */
  onPoll?: (notModified: boolean) => void;
}

/** One change of the environment's live version (the first one is the version live when watching starts). */
export interface ProductionChange {
  model: string;
  environment: string;
  /** Null while nothing is deployed there. */
  versionId: string | null;
  number: number | null;
  via: 'subscription' | 'poll';
}

/**
 * Yields the environment's live version, then each change of it, until `signal` aborts. Over the
 * deploymentChanged subscription; if that fails (an older registry, a proxy without WebSockets),
 * by polling the manifest with its ETag, which costs the registry a 304 while nothing changes.
 */
export async function* watchProduction(t: Transport, model: string, o: WatchOptions = {}): AsyncGenerator<ProductionChange> {
  const environment = o.environment ?? 'production';
  let last: string | null | undefined;
  if ((o.mode ?? 'subscription') === 'subscription') {
    const client = subscriptionClient(t);
    try {
      for await (const d of subscribe(client, DeploymentChangedDocument, { modelName: model, environment }, o.signal)) {
        const v = d.deploymentChanged.status === 'SUCCEEDED' ? d.deploymentChanged.version : null;
        if (!v || v.id === last) continue;
        last = v.id;
        yield { model, environment, versionId: v.id, number: v.number, via: 'subscription' };
      }
      return;
    } catch (err) {
      if (!isRetryable(err)) throw err;
    } finally {
      await client.dispose();
    }
  }
  let etag: string | null = null;
  while (!o.signal?.aborted) {
    let change: ProductionChange | null = null;
    try {
      const answer = await fetchManifest(t, model, environment, etag);
      o.onPoll?.(answer.notModified);
      if (!answer.notModified) {
        etag = answer.etag;
        change = { model, environment, versionId: answer.manifest.versionId, number: answer.manifest.number, via: 'poll' };
      }
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      etag = null;
      change = { model, environment, versionId: null, number: null, via: 'poll' };
    }
    if (change && change.versionId !== last) {
      last = change.versionId;
      yield change;
    }
    await sleep(o.intervalMs ?? 5000, undefined, { signal: o.signal }).catch(() => {});
  }
}
