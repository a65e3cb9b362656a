import { createClient, type Client } from 'graphql-ws';
import { TOKEN_KEY } from './session-keys.js';

/**
 * The console's only way to the registry: the public GraphQL API on /graphql (POST, JSON) and its
 * subscriptions over graphql-ws on the same path. The token lives in sessionStorage only: never in
 * a URL, never logged.
 */
export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (secret: string) => sessionStorage.setItem(TOKEN_KEY, secret),
  clear: () => {
    sessionStorage.removeItem(TOKEN_KEY);
    closeLive();
  },
};

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

/** Runs one operation as the signed-in token; throws ApiError with the server's message. */
export async function gql<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const secret = token.get();
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  let body: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = await res.json();
  } catch {
    throw new ApiError(`The registry answered HTTP ${res.status}`, null);
  }
  if (body.errors?.length) {
    const first = body.errors[0]!;
    throw new ApiError(first.message, first.extensions?.code ?? null);
  }
  if (!body.data) throw new ApiError(`The registry answered HTTP ${res.status} without data`, null);
  return body.data;
}

let live: Client | null = null;

function liveClient(): Client {
  if (!live) {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    live = createClient({
      url: `${scheme}://${location.host}/graphql`,
      connectionParams: () => ({ authorization: `Bearer ${token.get() ?? ''}` }),
      lazy: true,
      retryAttempts: 5,
    });
  }
  return live;
}

function closeLive(): void {
  void live?.dispose();
  live = null;
}

/** Calls onEvent for each event of a subscription; returns the unsubscribe function. */
export function subscribe(query: string, variables: Record<string, unknown>, onEvent: (data: any) => void): () => void {
  return liveClient().subscribe({ query, variables }, { next: (r) => r.data && onEvent(r.data), error: () => {}, complete: () => {} });
}
