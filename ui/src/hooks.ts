import { useCallback, useEffect, useState } from 'preact/hooks';
import { gql, subscribe } from './api.js';
import type { Operation } from './session-keys.js';

export type { Operation };

/**
 * The queries the screen on show ran (the latest of each operation), for the "query behind this
 * view" link: cleared when the route changes, handed to GraphiQL through sessionStorage.
 */
const behind = new Map<string, Operation>();
const operationName = (query: string) => /^\s*(?:query|mutation|subscription)\s+(\w+)/.exec(query)?.[1] ?? query.slice(0, 40);
export function recordOperation(op: Operation): void {
  behind.set(operationName(op.query), op);
}
export function clearOperations(): void {
  behind.clear();
}
export function operationsBehind(): Operation[] {
  return [...behind.values()];
}

/** api.subscribe, the subscription counted in the query behind the view (GraphiQL runs it over graphql-ws). */
export function subscribeBehind(query: string, variables: Record<string, unknown>, onEvent: (data: any) => void): () => void {
  recordOperation({ query, variables });
  return subscribe(query, variables, onEvent);
}

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Runs a GraphQL query when its variables change; `reload` runs it again (live refresh). */
export function useQuery<T = any>(query: string, variables: Record<string, unknown>, skip = false): Loaded<T> {
  const key = JSON.stringify(variables);
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({ data: null, error: null, loading: !skip });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (skip) return;
    recordOperation({ query, variables });
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    gql<T>(query, variables).then(
      (data) => current && setState({ data, error: null, loading: false }),
      (err: Error) => current && setState({ data: null, error: err.message, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [query, key, tick, skip]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export const fmtDate = (iso: string | null | undefined) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) + 'Z' : '—');
export const fmtNum = (n: number | null | undefined) => (n === null || n === undefined ? '—' : String(Number(n.toPrecision(4))));
export const fmtBytes = (n: number) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);
