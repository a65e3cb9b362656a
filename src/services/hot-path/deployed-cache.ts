import type { DeploymentPointer, ModelVersion } from '../../domain/model.js';

/** What a (model, environment) resolves to: its pointer and the version the pointer names. */
export interface Deployed {
  pointer: DeploymentPointer;
  version: ModelVersion;
}

/** Entries kept per process (each holds one version, at most 100 artifacts). */
export const DEPLOYED_CACHE_SIZE = 1000;

/**
 * The inference hot path's per-process cache: (model, environment) → pointer and deployed version.
 * Every read first asks the store for its change stamp (SQLite: `PRAGMA data_version`, which moves
 * when another connection commits, with this connection's `total_changes()`), a read much cheaper
 * than the pointer and version reads it saves; an entry is served only under the stamp it was read
 * under, so a promotion, rollback or version change made by any process is seen by the very next
 * read. The stamp is taken before the reads: a write landing during them leaves an entry that the
 * next read refuses. A store without a cheap stamp (MongoDB: null) is read every time.
 * Bounded: the oldest entry goes when a new one would exceed the size.
 */
export class DeployedCache {
  private readonly entries = new Map<string, { stamp: string; deployed: Deployed }>();

  constructor(
    private readonly stamp: () => string | null,
    private readonly max = DEPLOYED_CACHE_SIZE,
  ) {}

  /** `load` reads the pointer and its version; null when the environment has none (not cached). */
  async get(modelName: string, environment: string, load: () => Promise<Deployed | null>): Promise<Deployed | null> {
    const stamp = this.stamp();
    if (stamp === null) return load();
    const key = `${modelName}\u0000${environment}`;
    const hit = this.entries.get(key);
    if (hit && hit.stamp === stamp) return hit.deployed;
    const deployed = await load();
    this.entries.delete(key);
    if (deployed) {
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { stamp, deployed });
    }
    return deployed;
  }

  get size(): number {
    return this.entries.size;
  }
}
