import DataLoader from 'dataloader';
import type { Deployment, ModelVersion, Page } from '../../domain/model.js';
import type { QueryService } from '../../services/query.service.js';

/** ModelVersion.deployments(first) without `after`: one page per version, keyed by version and page size. */
export interface VersionDeploymentsKey {
  version: ModelVersion;
  first: number;
}

/** At most this many versions per store call (a GraphQL page holds at most 100). */
const MAX_BATCH = 100;

/**
 * The per-request loader of ModelVersion.deployments: the versions of one tick that ask the same
 * `first` are answered by one store call (per-parent pagination in one query: SQLite window
 * functions, a MongoDB aggregation), whatever the page size of the list they are in.
 */
export function versionDeploymentsLoader(queries: QueryService): DataLoader<VersionDeploymentsKey, Page<Deployment>, string> {
  return new DataLoader<VersionDeploymentsKey, Page<Deployment>, string>(
    async (keys) => {
      const byFirst = new Map<number, ModelVersion[]>();
      for (const k of keys) {
        const list = byFirst.get(k.first) ?? [];
        list.push(k.version);
        byFirst.set(k.first, list);
      }
      const pages = new Map<number, Map<string, Page<Deployment>>>();
      await Promise.all([...byFirst].map(async ([first, versions]) => pages.set(first, await queries.versionDeploymentPages(versions, first))));
      return keys.map((k) => pages.get(k.first)!.get(k.version.id)!);
    },
    { cacheKeyFn: (k) => `${k.version.id}\u0000${k.first}`, maxBatchSize: MAX_BATCH },
  );
}
