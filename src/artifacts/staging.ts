/**
 * Staged bytes: uploads not yet verified, copies an interrupted verification left, partial writes
 * of an upload cut off mid-way. The cleanup of abandoned uploads lists them and removes those of
 * versions that will never complete. Keys are the store's own (from its listing), never a client's.
 */
export interface StagedGroup {
  /** The version the objects belong to; null for a partial write that names none (a cut-off upload). */
  modelName: string | null;
  versionId: string | null;
  /** The store's own keys of the objects. */
  keys: string[];
  bytes: number;
  /** The newest object's time. */
  lastModified: Date;
}

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
