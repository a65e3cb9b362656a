/**
 * Registry events: how many events per second reach graphql-ws subscribers, and how long from
 * commit to subscriber. Writers send `updateModel` mutations (one audit event each) to one registry
 * process; the subscribers listen on the same process (woken by its own writes) or on a second
 * process on the same SQLite file (which finds the events by polling). Each subscriber checks that
 * it got every event once, in sequence order.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface EventsFigure {
  path: 'same process' | 'other process';
  subscribers: number;
  writers: number;
  seconds: number;
  /** Events committed during the load. */
  events: number;
  /** Events per second received by the slowest subscriber (the load's span, commit to last arrival). */
  perSecond: number;
  /** From the event's occurredAt (taken just before its commit) to its arrival, over every delivery. */
  p50Ms: number;
  p99Ms: number;
  /** Subscribers that missed an event, got one twice or out of order. */
  broken: number;
  errors: string[];
}

const EVENTS = 'subscription($after: Float) { registryEvents(afterSequence: $after) { sequence occurredAt } }';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function gql(url: string, token: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data: any; errors?: { message: string }[] };
  if (body.errors) throw new Error(body.errors[0]!.message);
  return body.data;
}

/** One load: `writers` concurrent writers on `writeUrl` for `seconds`, `subscribers` on `listenUrl`. */
export async function measureEvents(opts: {
  writeUrl: string; listenUrl: string; token: string; path: EventsFigure['path']; subscribers: number; writers: number; seconds: number;
}): Promise<EventsFigure> {
  const errors: string[] = [];
  const model = `events-${opts.path.replace(' ', '-')}-${opts.subscribers}`;
  await gql(opts.writeUrl, opts.token, `mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version { id } } }`, {
    input: { modelName: model, modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm', sizeBytes: 1, sha256: 'a'.repeat(64) }] },
  });
  const start = (await gql(opts.writeUrl, opts.token, '{ auditEvents(first: 1) { edges { node { sequence } } } }')).auditEvents.edges[0].node.sequence as number;
  const latencies: number[] = [];
  const subs = Array.from({ length: opts.subscribers }, () => ({ seqs: [] as number[], lastAt: 0 }));
  const clients = subs.map((s) => {
    const client = createClient({
      url: `${opts.listenUrl.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${opts.token}` }, retryAttempts: 0,
    });
    client.subscribe<{ registryEvents: { sequence: number; occurredAt: string } }>({ query: EVENTS, variables: { after: start } }, {
      next: (r) => {
        if (!r.data) return;
        const now = Date.now();
        s.seqs.push(r.data.registryEvents.sequence);
        s.lastAt = now;
        latencies.push(now - Date.parse(r.data.registryEvents.occurredAt));
      },
      error: (err) => errors.push(String((err as Error)?.message ?? JSON.stringify(err))),
      complete: () => {},
    });
    return client;
  });
  // Every subscriber is live before the load starts (a marker event reaches all of them).
  await gql(opts.writeUrl, opts.token, 'mutation($n: String!) { updateModel(name: $n, description: "ready") { name } }', { n: model });
  await until(() => subs.every((s) => s.seqs.length >= 1), 30_000);
  const marker = Math.max(...subs.map((s) => s.seqs[0]!));
  latencies.length = 0;
  const t0 = Date.now();
  const deadline = t0 + opts.seconds * 1000;
  await Promise.all(Array.from({ length: opts.writers }, async (_, w) => {
    for (let i = 0; Date.now() < deadline; i++) {
      try {
        await gql(opts.writeUrl, opts.token, 'mutation($n: String!, $d: String) { updateModel(name: $n, description: $d) { name } }', { n: model, d: `${w}-${i}` });
      } catch (err) {
        if (errors.length < 5) errors.push((err as Error).message);
      }
    }
  }));
  const end = (await gql(opts.writeUrl, opts.token, '{ auditEvents(first: 1) { edges { node { sequence } } } }')).auditEvents.edges[0].node.sequence as number;
  await until(() => subs.every((s) => (s.seqs[s.seqs.length - 1] ?? 0) >= end), 60_000).catch(() => errors.push('not every subscriber got every event within 60 s'));
  // Contiguous from the first, up to at least `end` (the registry's own events, e.g. a signed audit checkpoint, may follow it).
  const broken = subs.filter((s) => s.seqs.some((q, i) => q !== s.seqs[0]! + i) || (s.seqs[s.seqs.length - 1] ?? 0) < end).length;
  const slowest = Math.max(...subs.map((s) => s.lastAt));
  await Promise.all(clients.map((c) => c.dispose()));
  const sorted = latencies.sort((a, b) => a - b);
  const events = end - marker;
  return {
    path: opts.path, subscribers: opts.subscribers, writers: opts.writers, seconds: opts.seconds, events,
    perSecond: events / (Math.max(slowest - t0, 1) / 1000), p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), broken, errors: errors.slice(0, 5),
  };
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const stop = Date.now() + ms;
  while (!check()) {
    if (Date.now() > stop) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
