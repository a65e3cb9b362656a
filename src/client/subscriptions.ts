import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { RegistryClientError, errorFor } from './errors.js';
import type { Transport } from './transport.js';

/** A graphql-ws connection to the registry's /graphql, authenticated in connection_init; reconnects on network loss. */
export function subscriptionClient(t: Transport): Client {
  return createClient({
    url: `${t.baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: t.options.token ? { authorization: `Bearer ${t.options.token}` } : {},
    retryAttempts: 5,
    lazy: true,
  });
}

/** Closes that carry no GraphQL error: the registry's codes for a revoked token and for too many connections. */
function closeError(event: unknown): RegistryClientError {
  const e = event as { code?: number; reason?: string; message?: string };
  if (e.code === 4401 || e.code === 4403) return errorFor(e.code === 4401 ? 'UNAUTHENTICATED' : 'FORBIDDEN', e.reason || 'The registry closed the subscription');
  if (Array.isArray(event)) {
    const first = event[0] as { message: string; extensions?: { code?: string } } | undefined;
    if (first) return errorFor(first.extensions?.code ?? 'BAD_USER_INPUT', first.message);
  }
  return errorFor('NETWORK', `The subscription ended: ${e.reason || e.message || `close code ${e.code ?? '?'}`}`);
}

/**
 * Each result of a subscription as an async iterator; ends when `signal` aborts (or the server
 * completes it) and throws a typed error when the server refuses it or the connection is lost.
 */
export async function* subscribe<TData, TVars extends Record<string, unknown>>(
  client: Client, doc: TypedDocumentNode<TData, TVars>, variables: TVars, signal?: AbortSignal,
): AsyncGenerator<TData> {
  const queue: TData[] = [];
  let done = false;
  let failure: RegistryClientError | null = null;
  let wake: (() => void) | null = null;
  const poke = () => {
    wake?.();
    wake = null;
  };
  const stop = client.subscribe<TData>({ query: print(doc), variables }, {
    next: (r) => {
      if (r.errors?.length) failure = closeError(r.errors);
      else if (r.data) queue.push(r.data);
      poke();
    },
    error: (err) => {
      failure = closeError(err);
      poke();
    },
    complete: () => {
      done = true;
      poke();
    },
  });
  const onAbort = () => {
    done = true;
    poke();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      while (queue.length) yield queue.shift()!;
      if (failure) throw failure;
      if (done || signal?.aborted) return;
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stop();
  }
}
