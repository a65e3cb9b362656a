import { InvalidArgumentError } from '../domain/errors.js';
import type { ModelVersion, Page } from '../domain/model.js';
import { type SearchPosition, type VersionOrder, positionOf } from '../domain/version-search.js';

/**
 * The cursors of searchVersions: base64url JSON ["search", by, metric, direction, ...key]. A cursor
 * names its order, so one made for another order (or another list) is refused as bad input.
 */
function head(order: VersionOrder): (string | null)[] {
  return ['search', order.by, order.metric, order.direction];
}

export function encodeSearchCursor(order: VersionOrder, p: SearchPosition): string {
  const key = p.by === 'NUMBER' ? [p.number] : p.by === 'CREATED_AT' ? [p.createdAt, p.number] : [p.value, p.number];
  return Buffer.from(JSON.stringify([...head(order), ...key]), 'utf8').toString('base64url');
}

export function decodeSearchCursor(order: VersionOrder, cursor: string | null | undefined): SearchPosition | null {
  if (cursor === null || cursor === undefined) return null;
  let parsed: unknown;
  try {
    parsed = cursor.length <= 512 ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
  } catch {
    parsed = undefined;
  }
  const h = head(order);
  const size = order.by === 'NUMBER' ? 1 : 2;
  const ok = Array.isArray(parsed) && parsed.length === h.length + size && h.every((x, i) => parsed[i] === x);
  const key = ok ? (parsed as unknown[]).slice(h.length) : [];
  const number = key[key.length - 1];
  if (!ok || !Number.isSafeInteger(number) || (size === 2 && !(typeof key[0] === 'number' && Number.isFinite(key[0])))) {
    throw new InvalidArgumentError('after', 'is not a cursor returned by this search (same filter order and direction)');
  }
  const n = number as number;
  if (order.by === 'NUMBER') return { by: 'NUMBER', number: n };
  if (order.by === 'CREATED_AT') return { by: 'CREATED_AT', createdAt: key[0] as number, number: n };
  return { by: 'METRIC', value: key[0] as number, number: n };
}

/** A page from up to first+1 matches in order. */
export function searchPage(rows: ModelVersion[], first: number, total: number, order: VersionOrder): Page<ModelVersion> {
  const items = rows.slice(0, first).map((node) => ({ node, cursor: encodeSearchCursor(order, positionOf(node, order)) }));
  return { items, hasNextPage: rows.length > first, totalCount: total };
}
