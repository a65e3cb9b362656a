import type { Deployment, Page } from '../domain/model.js';
import { toPage } from './paging.js';
import type { VersionKey } from './registry.store.js';

export type { VersionKey };

/**
 * Builds the per-version pages of a batched read from rows already limited to first+1 per version
 * and each version's total: the same pages (items, cursors, hasNextPage, totalCount) as
 * listDeployments({ versionId }) gives one version at a time. Every asked version gets a page.
 */
export function versionPages(
  keys: readonly VersionKey[], first: number, rows: readonly { deployment: Deployment; seq: number }[], totals: ReadonlyMap<string, number>,
): Map<string, Page<Deployment>> {
  const grouped = new Map<string, { deployment: Deployment; seq: number }[]>();
  for (const r of rows) {
    const id = r.deployment.versionId;
    if (id === null) continue; // an UNDEPLOY names no version (the reads never return one here)
    let list = grouped.get(id);
    if (!list) grouped.set(id, (list = []));
    list.push(r);
  }
  const out = new Map<string, Page<Deployment>>();
  for (const { versionId } of keys) {
    const list = (grouped.get(versionId) ?? []).sort((a, b) => b.seq - a.seq);
    const seqOf = new Map(list.map((r) => [r.deployment.id, r.seq]));
    out.set(versionId, toPage(list.map((r) => r.deployment), first, totals.get(versionId) ?? 0, (d) => [seqOf.get(d.id)!]));
  }
  return out;
}
