import { InvalidArgumentError } from '../domain/errors.js';
import type { Page } from '../domain/model.js';

/**
 * Opaque keyset cursors shared by the store implementations: base64url of a JSON array of the
 * sort key. A cursor that does not decode to the expected shape is refused as bad input.
 */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor<K extends readonly ('string' | 'number')[]>(
  cursor: string | null,
  shape: K,
): { [I in keyof K]: K[I] extends 'string' ? string : number } | null {
  if (cursor === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.length === shape.length &&
    parsed.every((v, i) => typeof v === shape[i] && (typeof v !== 'number' || Number.isSafeInteger(v)));
  if (!ok || cursor.length > 512) throw new InvalidArgumentError('after', 'is not a cursor returned by this list');
  return parsed as { [I in keyof K]: K[I] extends 'string' ? string : number };
}

/** Builds a page from up to first+1 rows fetched in order (the extra row tells hasNextPage). */
export function toPage<T>(rows: T[], first: number, totalCount: number, key: (row: T) => (string | number)[]): Page<T> {
  const items = rows.slice(0, first).map((node) => ({ node, cursor: encodeCursor(key(node)) }));
  return { items, hasNextPage: rows.length > first, totalCount };
}

/** The leading run of `events` (ascending) that continues `afterSequence` with no gap. */
export function contiguousAfter<T extends { sequence: number }>(afterSequence: number, events: readonly T[]): T[] {
  const run: T[] = [];
  for (const e of events) {
    if (e.sequence !== afterSequence + run.length + 1) break;
    run.push(e);
  }
  return run;
}
