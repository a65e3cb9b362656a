import type { ModelVersion } from '../../src/domain/model.js';
import type { VersionSearch } from '../../src/domain/version-search.js';

/**
 * The brute-force meaning of searchVersions, written independently of the stores and of
 * domain/version-search.ts: filter every version of the model, then sort the survivors.
 */
export function referenceSearch(all: readonly ModelVersion[], s: VersionSearch): ModelVersion[] {
  const f = s.filter;
  const value = (v: ModelVersion, name: string) => v.metrics.find((m) => m.name === name)?.value;
  const hits = all.filter((v) => {
    if (v.modelName !== s.modelName) return false;
    if (f.statuses !== null && f.statuses.indexOf(v.status) < 0) return false;
    for (const t of f.tags) if (v.tags.indexOf(t) < 0) return false;
    for (const k of Object.keys(f.labels)) if (!(k in v.labels) || v.labels[k] !== f.labels[k]) return false;
    if (f.datasetVersion !== null && f.datasetVersion !== v.datasetVersion) return false;
    if (f.createdBy !== null && f.createdBy !== v.createdBy) return false;
    if (f.createdAfter !== null && +v.createdAt < +f.createdAfter) return false;
    if (f.createdBefore !== null && +v.createdAt >= +f.createdBefore) return false;
    if (f.metric !== null) {
      const x = value(v, f.metric.name);
      if (x === undefined) return false;
      if (f.metric.gte !== null && x < f.metric.gte) return false;
      if (f.metric.lte !== null && x > f.metric.lte) return false;
    }
    if (s.order.by === 'METRIC' && value(v, s.order.metric!) === undefined) return false;
    return true;
  });
  const sign = s.order.direction === 'ASC' ? 1 : -1;
  const key = (v: ModelVersion): number[] =>
    s.order.by === 'NUMBER' ? [v.number] : s.order.by === 'CREATED_AT' ? [+v.createdAt, v.number] : [value(v, s.order.metric!)!, v.number];
  return hits.sort((a, b) => {
    const [ka, kb] = [key(a), key(b)];
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return sign * (ka[i]! - kb[i]!);
    return 0;
  });
}

/** A small seeded generator (mulberry32): the same seed gives the same data and queries. */
export function seeded(seed: number): { next: () => number; int: (n: number) => number; pick: <T>(xs: readonly T[]) => T; chance: (p: number) => boolean } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: (xs) => xs[int(xs.length)]!, chance: (p) => next() < p };
}
