import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

/** What one subscription received, as a real graphql-ws client saw it. */
export interface Received<T> {
  items: T[];
  errors: { message: string; extensions?: { code?: string } }[];
  completed: boolean;
  /** The socket's close event (code and reason), once the connection closed. */
  closed: { code: number; reason: string } | null;
}

export interface WsClient {
  client: Client;
  subscribe<T>(query: string, variables: Record<string, unknown>, pick: (data: any) => T): Received<T>;
  dispose(): Promise<void>;
  /** Resolves when the server acknowledged connection_init. */
  readonly connected: Promise<void>;
  /** Resolves with the close event of the connection. */
  readonly closedEvent: Promise<{ code: number; reason: string }>;
}

/** A graphql-ws client on `${url}/graphql` with `Bearer <secret>` in connection_init; it never retries. */
export function wsClient(url: string, secret: string | null): WsClient {
  let onClosed!: (e: { code: number; reason: string }) => void;
  const closedEvent = new Promise<{ code: number; reason: string }>((r) => (onClosed = r));
  let onConnected!: () => void;
  const connected = new Promise<void>((r) => (onConnected = r));
  const all: Received<unknown>[] = [];
  const client = createClient({
    url: `${url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: secret === null ? {} : { authorization: `Bearer ${secret}` },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
    on: {
      connected: () => onConnected(),
      closed: (event) => {
        const e = event as { code: number; reason: string };
        const closed = { code: e.code, reason: String(e.reason) };
        for (const r of all) r.closed ??= closed;
        onClosed(closed);
      },
    },
  });
  return {
    client,
    closedEvent,
    connected,
    subscribe<T>(query: string, variables: Record<string, unknown>, pick: (data: any) => T): Received<T> {
      const received: Received<T> = { items: [], errors: [], completed: false, closed: null };
      all.push(received as Received<unknown>);
      client.subscribe<any>(
        { query, variables },
        {
          next: (result) => {
            if (result.errors) received.errors.push(...(result.errors as Received<T>['errors']));
            if (result.data) received.items.push(pick(result.data));
          },
          error: (err) => {
            if (Array.isArray(err)) received.errors.push(...(err as Received<T>['errors']));
            else if (err && typeof err === 'object' && 'code' in err) received.closed ??= { code: (err as { code: number }).code, reason: String((err as { reason?: string }).reason) };
            else received.errors.push({ message: String(err) });
          },
          complete: () => {
            received.completed = true;
          },
        },
      );
      return received;
    },
    dispose: () => client.dispose() as Promise<void>,
  };
}

/** Polls `check` until it returns true; fails with `what` after `ms` (a liveness bound, not a performance check). */
export async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
