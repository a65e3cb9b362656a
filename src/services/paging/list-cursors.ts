import { InvalidArgumentError } from '../../domain/errors.js';
import type { Page } from '../../domain/model.js';

/**
 * Cursors for lists a service pages itself (lists the store hands over whole or ranked: API
 * tokens, version rankings). Opaque to clients: base64url of a JSON array that starts with the
 * list's name, so a cursor from one list is refused by another.
 */
/** A key part: a string, a safe integer, or a metric value (a finite number, or null for none). */
export type KeyKind = 'string' | 'number' | 'value';
type KeyPart = string | number | null;

const fits = (v: unknown, kind: KeyKind): boolean =>
  kind === 'string' ? typeof v === 'string'
    : kind === 'number' ? Number.isSafeInteger(v)
      : v === null || (typeof v === 'number' && Number.isFinite(v));

export function encodeListCursor(list: string, key: readonly KeyPart[]): string {
  return Buffer.from(JSON.stringify([list, ...key]), 'utf8').toString('base64url');
}

export function decodeListCursor(list: string, cursor: string | null | undefined, shape: readonly KeyKind[]): KeyPart[] | null {
  if (cursor === null || cursor === undefined) return null;
  let parsed: unknown;
  try {
    parsed = cursor.length <= 512 ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
  } catch {
    parsed = undefined;
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.length === shape.length + 1 &&
    parsed[0] === list &&
    parsed.slice(1).every((v, i) => fits(v, shape[i]!));
  if (!ok) throw new InvalidArgumentError('after', 'is not a cursor returned by this list');
  return (parsed as KeyPart[]).slice(1);
}

/** A page of `first` items from `rest` (the items after the cursor, in order); `total` counts the whole list. */
export function pageOf<T>(list: string, rest: readonly T[], first: number, total: number, key: (item: T, index: number) => KeyPart[]): Page<T> {
  const items = rest.slice(0, first).map((node, i) => ({ node, cursor: encodeListCursor(list, key(node, i)) }));
  return { items, hasNextPage: rest.length > first, totalCount: total };
}
