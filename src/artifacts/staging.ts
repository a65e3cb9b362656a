import type { StagedGroup } from './artifact.store.js';

/** Groups objects listed in key order by `groupOf` (consecutive keys with the same group id). */
export async function* groupConsecutive<T extends { key: string; size: number; modified: Date }>(
  objects: AsyncIterable<T>,
  groupOf: (key: string) => { id: string; modelName: string | null; versionId: string | null } | null,
): AsyncIterable<StagedGroup> {
  let current: (StagedGroup & { id: string }) | null = null;
  for await (const o of objects) {
    const g = groupOf(o.key);
    if (g === null) continue;
    if (current !== null && current.id !== g.id) {
      yield withoutId(current);
      current = null;
    }
    current ??= { id: g.id, modelName: g.modelName, versionId: g.versionId, keys: [], bytes: 0, lastModified: o.modified };
    current.keys.push(o.key);
    current.bytes += o.size;
    if (o.modified > current.lastModified) current.lastModified = o.modified;
  }
  if (current !== null) yield withoutId(current);
}

function withoutId(g: StagedGroup & { id: string }): StagedGroup {
  return { modelName: g.modelName, versionId: g.versionId, keys: g.keys, bytes: g.bytes, lastModified: g.lastModified };
}
