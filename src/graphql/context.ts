import DataLoader from 'dataloader';
import type { Logger } from 'pino';
import type { Actor, DeploymentPointer, ModelVersion } from '../domain/model.js';
import type { Services } from '../services/services.js';
import { versionDeploymentsLoader } from './loaders/version-deployments.js';

/** Per-request batching: each loader turns the N lookups of one tick into one store call. */
export interface Loaders {
  version: DataLoader<string, ModelVersion | null>;
  /** Environments a version is deployed in now. */
  environments: DataLoader<string, string[]>;
  /** Pointer of (model, environment), keyed `${model}\u0000${environment}`. */
  pointer: DataLoader<string, DeploymentPointer | null>;
  /** Model.latestVersion, by model name. */
  latestVersion: DataLoader<string, ModelVersion | null>;
  /** ModelVersion.deployments(first) without `after` (loaders/version-deployments.ts). */
  versionDeployments: ReturnType<typeof versionDeploymentsLoader>;
}

export interface GraphQLContext {
  services: Services;
  actor: Actor;
  requestId: string;
  loaders: Loaders;
  /** The request's logger (carries requestId). */
  log: Logger;
  /** HTTP requests only: set when the request failed before execution (see onlyRequestErrors), for the status code. */
  outcome?: { requestErrorsOnly: boolean };
}

function byKey<K, V>(keys: readonly K[], rows: V[], key: (row: V) => K): (V | null)[] {
  const map = new Map(rows.map((r) => [key(r), r]));
  return keys.map((k) => map.get(k) ?? null);
}

export function pointerKey(modelName: string, environment: string): string {
  return `${modelName}\u0000${environment}`;
}

export function createLoaders(services: Services): Loaders {
  const q = services.queries;
  return {
    version: new DataLoader(async (ids) => byKey(ids, await q.versionsById(ids), (v) => v.id)),
    environments: new DataLoader(async (ids) => {
      const pointers = await q.pointersForVersions(ids);
      return ids.map((id) => pointers.filter((p) => p.versionId === id).map((p) => p.environment));
    }),
    pointer: new DataLoader(async (keys) => {
      const parsed = keys.map((k) => {
        const [modelName, environment] = k.split('\u0000') as [string, string];
        return { modelName, environment };
      });
      return byKey(keys, await q.pointers(parsed), (p) => pointerKey(p.modelName, p.environment));
    }),
    latestVersion: new DataLoader(async (names) => byKey(names, await q.latestVersions(names), (v) => v.modelName), { maxBatchSize: 100 }),
    versionDeployments: versionDeploymentsLoader(q),
  };
}
