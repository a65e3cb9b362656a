import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, publish, startRegistry } from '../support/api-harness.js';
import { twoServerProcesses } from '../support/server-process.js';
import { closed, openSocket } from '../support/raw-http.js';
import { type WsClient, until, wsClient } from '../support/ws-client.js';

const EVENTS = `subscription($after: Float, $model: String, $actions: [String!]) {
  registryEvents(afterSequence: $after, modelName: $model, actions: $actions) { sequence action modelName actor }
}`;
const DEPLOYMENT = `subscription($model: String!, $env: String) {
  deploymentChanged(modelName: $model, environment: $env) { id action status active version { id } }
}`;
type Ev = { sequence: number; action: string; modelName: string | null; actor: string };
const pickEvent = (d: any) => d.registryEvents as Ev;

/**
 * Subscriptions over graphql-ws against two registry processes on one store (the SQLite file, or
 * a MongoDB database when MONGODB_URI is set), with a real graphql-ws client.
 */
describe(`subscriptions: two server processes on one ${process.env.MONGODB_URI ? 'MongoDB database' : 'SQLite file'}`, () => {
  const clients: WsClient[] = [];
  const two = twoServerProcesses(
    'subs',
    {
      REGISTRY_EVENTS_POLL_MS: '100',
      REGISTRY_WS_AUTH_RECHECK_SECONDS: '0.5',
      REGISTRY_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3',
      REGISTRY_MAX_WS_CONNECTIONS_PER_TOKEN: '6',
    },
    async () => {
      await Promise.all(clients.map((c) => c.dispose().catch(() => {})));
    },
  );
  const admin = two.token;
  const open = (i: number, secret: string | null = admin) => {
    const c = wsClient(two.server(i).url, secret);
    clients.push(c);
    return c;
  };
  const gql = async (i: number, query: string, variables?: unknown, secret = admin) => {
    const body = await two.gql(i, query, variables, secret);
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const harness = (i: number) => ({ ok: (q: string, v?: Record<string, unknown>) => gql(i, q, v) }) as unknown as Harness;
  const register = (i: number, modelName: string) =>
    gql(i, `mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version { id } } }`, {
      input: { modelName, modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm.bin', sizeBytes: 1, sha256: 'a'.repeat(64) }] },
    });
  const describeModel = (i: number, name: string, description: string) =>
    gql(i, `mutation($n: String!, $d: String) { updateModel(name: $n, description: $d) { name } }`, { n: name, d: description });
  const head = async () => (await gql(0, `{ auditEvents(first: 1) { edges { node { sequence } } } }`)).auditEvents.edges[0]?.node.sequence ?? 0;
  const expectContiguous = (seqs: number[], from: number, to: number) =>
    expect(seqs).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));

  it('replays the stored events, then streams new ones committed by either process', async () => {
    await register(0, 'replayed');
    await describeModel(1, 'replayed', 'from the other process');
    const stored = await head();
    const c = open(0);
    const got = c.subscribe(EVENTS, {}, pickEvent);
    await until(() => got.items.length >= stored, 'the replay');
    await describeModel(1, 'replayed', 'live, from process 2');
    await describeModel(0, 'replayed', 'live, from process 1');
    await until(() => got.items.length >= stored + 2, 'the live events');
    expect(got.errors).toEqual([]);
    expectContiguous(got.items.map((e) => e.sequence), 1, stored + 2);
    expect(got.items.slice(-2).map((e) => e.action)).toEqual(['MODEL_UPDATED', 'MODEL_UPDATED']);
    await c.dispose();
  });

  it('resumes after a disconnect, on the other process, with no gap or duplicate while 200 mutations run', async () => {
    await register(0, 'burst');
    const start = await head();
    const first = open(0);
    const a = first.subscribe(EVENTS, { after: start }, pickEvent);
    const burst = Promise.all(Array.from({ length: 200 }, (_, i) => describeModel(i, 'burst', `d${i}`)));
    await until(() => a.items.length >= 30, 'the first events of the burst');
    // What the consumer processed before it went away; anything still in flight is dropped with the socket.
    const seen = a.items.slice();
    await first.dispose();
    const last = seen[seen.length - 1]!.sequence;
    const second = open(1);
    const b = second.subscribe(EVENTS, { after: last }, pickEvent);
    await burst;
    const end = await head();
    await until(() => (b.items[b.items.length - 1]?.sequence ?? last) >= end, 'the rest of the burst');
    expect([...a.errors, ...b.errors]).toEqual([]);
    expectContiguous([...seen, ...b.items].map((e) => e.sequence), start + 1, end);
    expect([...seen, ...b.items].filter((e) => e.action === 'MODEL_UPDATED' && e.modelName === 'burst')).toHaveLength(200);
    await second.dispose();
  }, 60_000);

  it('filters by model and action', async () => {
    const start = await head();
    const c = open(1);
    const got = c.subscribe(EVENTS, { after: start, model: 'filtered', actions: ['MODEL_UPDATED'] }, pickEvent);
    await register(0, 'filtered');
    await register(0, 'other');
    await describeModel(0, 'other', 'not this one');
    await describeModel(1, 'filtered', 'this one');
    await until(() => got.items.length >= 1, 'the filtered event');
    await describeModel(0, 'filtered', 'and this one');
    await until(() => got.items.length >= 2, 'the second filtered event');
    expect(got.items.map((e) => [e.modelName, e.action])).toEqual([['filtered', 'MODEL_UPDATED'], ['filtered', 'MODEL_UPDATED']]);
    await c.dispose();
  });

  it("gives a scoped token only its models' events, and no token events", async () => {
    const created = await gql(0, `mutation { createApiToken(name: "scoped-sub", role: VIEWER, modelScope: "scoped-*") { secret token { id } } }`);
    const secret = created.createApiToken.secret as string;
    const c = open(1, secret);
    const got = c.subscribe(EVENTS, {}, pickEvent);
    const outside = c.subscribe(DEPLOYMENT, { model: 'unscoped-model' }, (d) => d);
    await register(0, 'scoped-a');
    await register(1, 'unscoped-model');
    await gql(0, `mutation { createApiToken(name: "noise", role: VIEWER) { token { id } } }`);
    await describeModel(0, 'scoped-a', 'seen');
    await until(() => got.items.some((e) => e.action === 'MODEL_UPDATED'), 'the scoped event');
    // Everything up to now has been read: the stream is past the other models' events.
    expect(got.items.length).toBeGreaterThan(0);
    expect(got.items.every((e) => e.modelName?.startsWith('scoped-'))).toBe(true);
    expect(got.items.some((e) => e.action.startsWith('API_TOKEN_'))).toBe(false);
    await until(() => outside.errors.length > 0, 'the refusal outside the scope');
    expect(outside.errors[0]!.extensions?.code).toBe('NOT_FOUND');
    await c.dispose();
  });

  it('refuses a connection without a valid token, and cuts off a revoked one within seconds', async () => {
    const anonymous = open(0, null);
    expect((await anonymous.closedEvent).code).toBe(4401);
    const created = await gql(0, `mutation { createApiToken(name: "soon-revoked", role: VIEWER) { secret token { id } } }`);
    const c = open(1, created.createApiToken.secret);
    const got = c.subscribe(EVENTS, { after: await head() }, pickEvent);
    await describeModel(0, 'replayed', 'before the revocation');
    await until(() => got.items.length >= 1, 'an event before the revocation');
    await gql(0, `mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }`, { id: created.createApiToken.token.id });
    const closed = await c.closedEvent;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/revoked/);
  });

  it('deploymentChanged sends the live deployment, then each promotion and rollback', async () => {
    const v1 = await publish(harness(0), 'deployed');
    const v2 = await publish(harness(1), 'deployed');
    const promote = (i: number, id: string) => gql(i, `mutation($id: ID!) { promoteModelVersion(input: { versionId: $id }) { id } }`, { id });
    const first = (await promote(0, v1)).promoteModelVersion.id as string;
    const c = open(0);
    const got = c.subscribe(DEPLOYMENT, { model: 'deployed' }, (d) => d.deploymentChanged);
    const staging = c.subscribe(DEPLOYMENT, { model: 'deployed', env: 'staging' }, (d) => d.deploymentChanged);
    await until(() => got.items.length >= 1, 'the live deployment');
    expect(got.items[0]).toMatchObject({ id: first, action: 'PROMOTE', active: true, version: { id: v1 } });
    const second = (await promote(1, v2)).promoteModelVersion.id as string;
    await until(() => got.items.length >= 2, 'the promotion');
    const back = (await gql(1, `mutation { rollbackModel(input: { modelName: "deployed" }) { id } }`)).rollbackModel.id as string;
    await until(() => got.items.length >= 3, 'the rollback');
    expect(got.items.map((d: any) => [d.id, d.action, d.version.id])).toEqual([[first, 'PROMOTE', v1], [second, 'PROMOTE', v2], [back, 'ROLLBACK', v1]]);
    expect(got.items[2]).toMatchObject({ active: true });
    expect(staging.items).toEqual([]);
    expect(got.errors).toEqual([]);
    await c.dispose();
  }, 30_000);

  it('limits subscriptions per connection and connections per token, with a clear error', async () => {
    const c = open(0);
    const subs = [1, 2, 3, 4].map(() => c.subscribe(EVENTS, { after: 1e12 }, pickEvent));
    await until(() => subs[3]!.errors.length > 0, 'the refusal of the fourth subscription');
    expect(subs[3]!.errors[0]!.message).toMatch(/Too many subscriptions on this connection \(at most 3\)/);
    expect(subs.slice(0, 3).every((s) => s.errors.length === 0)).toBe(true);
    await c.dispose();

    const created = await gql(0, `mutation { createApiToken(name: "many-sockets", role: VIEWER) { secret } }`);
    const secret = created.createApiToken.secret as string;
    const mine = Array.from({ length: 6 }, () => open(0, secret));
    await Promise.all(mine.map((m) => m.connected));
    const live = mine.map((m) => m.subscribe(EVENTS, { after: 1e12 }, pickEvent));
    const seventh = open(0, secret);
    const closed = await seventh.closedEvent;
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/Too many WebSocket connections for this token \(at most 6\)/);
    // The limit is per process: the same token connects to the other one.
    const elsewhere = open(1, secret);
    await elsewhere.connected;
    expect(live.every((s) => s.closed === null)).toBe(true);
    await Promise.all([...mine, seventh, elsewhere].map((m) => m.dispose()));
  });

  it('drains on SIGTERM: open subscriptions are closed (1001) and the process exits 0', async () => {
    const c = open(1);
    const got = c.subscribe(EVENTS, { after: await head() }, pickEvent);
    await describeModel(0, 'replayed', 'before the drain');
    await until(() => got.items.length >= 1, 'a live event');
    const exit = new Promise<number | null>((r) => two.server(1).child.once('exit', (code) => r(code)));
    two.server(1).child.kill('SIGTERM');
    expect((await c.closedEvent).code).toBe(1001);
    expect(await exit).toBe(0);
  }, 30_000);
});

describe('subscriptions: a WebSocket is a connection', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRegistry({ REGISTRY_MAX_CONNECTIONS_PER_ADDRESS: '2' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('counts against the per-address cap while open, and frees its place when closed', async () => {
    const sockets = [wsClient(h.url, h.adminToken), wsClient(h.url, h.adminToken)];
    await Promise.all(sockets.map((s) => s.connected));
    const open = sockets.map((s) => s.subscribe(EVENTS, {}, pickEvent));
    // A third connection from this address is closed at once, without an answer.
    const third = await openSocket(h.url);
    third.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await closed(third)).toBe('');
    await sockets[0]!.dispose();
    await sockets[0]!.closedEvent;
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      const s = await openSocket(h.url);
      s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      status = /^HTTP\/1\.1 200/.test(await closed(s)) ? 200 : 0;
      if (status !== 200) await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(200);
    expect(open[1]!.closed).toBeNull();
    await sockets[1]!.dispose();
  });
});

describe('subscriptions: HTTP timeouts do not cut an open WebSocket', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRegistry({ REGISTRY_HEADERS_TIMEOUT_SECONDS: '1', REGISTRY_KEEP_ALIVE_TIMEOUT_SECONDS: '1', REGISTRY_REQUEST_TIMEOUT_SECONDS: '1' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('keeps a quiet subscription open past the headers, request and keep-alive timeouts', async () => {
    const c = wsClient(h.url, h.adminToken);
    await c.connected;
    const got = c.subscribe(EVENTS, {}, pickEvent);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(got.closed).toBeNull();
    await h.ok(`mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version { id } } }`, {
      input: { modelName: 'quiet', modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm', sizeBytes: 1, sha256: 'a'.repeat(64) }] },
    });
    await until(() => got.items.length === 1, 'the event after the quiet time');
    expect(got.items[0]).toMatchObject({ action: 'MODEL_VERSION_REGISTERED', modelName: 'quiet' });
    await c.dispose();
  });
});
