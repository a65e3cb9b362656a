import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeEnv } from '../../support/api-harness.js';
import { type ServerProcess, startServerProcess, twoServerProcesses } from '../../support/server-process.js';
import { type Receiver, eventually, startReceiver, webhookKeyEnv } from '../../support/webhook-receiver.js';
import { FAST_WEBHOOKS, type Gql, createWebhook, deliveries, delivered, describeModel, expectSigned, registerModel } from './webhook-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'registry-hooks-procs-'));
const receivers: Receiver[] = [];
const receiver = async (name: string) => {
  const r = await startReceiver(join(dir, `${name}.jsonl`));
  receivers.push(r);
  return r;
};
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.stop()));
  rmSync(dir, { recursive: true, force: true });
});

function client(url: () => string, token: string): Gql {
  return async (query, variables) => {
    const res = await fetch(`${url()}/graphql`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data: any; errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
}

describe(`webhooks: two server processes on one ${process.env.MONGODB_URI ? 'MongoDB database' : 'SQLite file'}`, () => {
  const two = twoServerProcesses('hooks2', { ...FAST_WEBHOOKS, ...webhookKeyEnv() });
  const gql = (i: number) => client(() => two.server(i).url, two.token);

  it('never sends one webhook two requests at the same time, and delivers every event once, in order', async () => {
    const r = await receiver('two');
    await r.control({ delayMs: 25 });
    await registerModel(gql(0), 'burst');
    const hooks = await Promise.all([0, 1, 2].map((i) => createWebhook(gql(i), { url: r.url(`/p${i}`), actions: ['MODEL_UPDATED'], modelScope: 'burst' })));
    const n = 40;
    await Promise.all(Array.from({ length: n }, (_, i) => describeModel(gql(i), 'burst', `b${i}`)));
    for (const [i, hook] of hooks.entries()) {
      const got = await eventually(() => (delivered(r.received(`/p${i}`)).length >= n ? delivered(r.received(`/p${i}`)) : undefined), 60_000, `${n} deliveries to /p${i}`);
      const sequences = got.map((b) => b.sequence);
      expect(sequences).toEqual([...new Set(sequences)].sort((x, y) => x - y));
      expect(new Set(got.map((b) => b.details.description))).toEqual(new Set(Array.from({ length: n }, (_, k) => `b${k}`)));
      expect(Math.max(...r.received(`/p${i}`).map((q) => q.concurrent))).toBe(1);
      expectSigned(r.received(`/p${i}`), hook.secret);
    }
  }, 90_000);
});

describe('webhooks: the SSRF guard at connect time and giving up', () => {
  const storage = storeEnv();
  const token = randomBytes(32).toString('base64url');
  const common = { REGISTRY_DATA_DIR: join(dir, 'guard'), REGISTRY_ADMIN_TOKEN: token, ...webhookKeyEnv(), ...storage.env };
  let admin: ServerProcess;
  let deliverer: ServerProcess;
  beforeAll(async () => {
    // One process may name 127.0.0.1 (and delivers nothing); the other refuses it, and delivers.
    admin = await startServerProcess({ ...common, ...FAST_WEBHOOKS, REGISTRY_WEBHOOK_DELIVERY: 'false' });
    deliverer = await startServerProcess({ ...common, ...FAST_WEBHOOKS, REGISTRY_WEBHOOK_ALLOW_PRIVATE: 'false', REGISTRY_WEBHOOK_GIVE_UP_SECONDS: '0.6' });
  }, 60_000);
  afterAll(async () => {
    await Promise.all([admin.stop(), deliverer.stop()]);
    await storage.dispose();
  });
  const gql = client(() => admin.url, token);

  it('refuses at connect time a target that resolves to loopback, whatever was allowed when it was created', async () => {
    const r = await receiver('guarded');
    await registerModel(gql, 'guarded');
    const byAddress = await createWebhook(gql, { url: r.url('/ip'), actions: ['MODEL_UPDATED'] });
    const byName = await createWebhook(gql, { url: `http://localhost:${r.port}/name`, actions: ['MODEL_UPDATED'] });
    await describeModel(gql, 'guarded', 'x');
    for (const hook of [byAddress, byName]) {
      const log = await eventually(async () => {
        const l = await deliveries(gql, hook.id);
        return l.some((d) => d.status === 'FAILED') ? l : undefined;
      }, 30_000, 'a refused delivery');
      expect(log.length).toBeGreaterThan(0);
      for (const d of log) {
        expect(d.httpStatus).toBeNull();
        expect(d.error).toMatch(/loopback, link-local or private/);
      }
    }
    expect(r.received()).toEqual([]);
    for (const hook of [byAddress, byName]) await gql(`mutation($id: ID!) { deleteWebhook(id: $id) { id } }`, { id: hook.id });
  });
});

describe('webhooks: giving up after the retry period, and redelivery', () => {
  const storage = storeEnv();
  const token = randomBytes(32).toString('base64url');
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({
      REGISTRY_DATA_DIR: join(dir, 'give-up'), REGISTRY_ADMIN_TOKEN: token, ...FAST_WEBHOOKS, REGISTRY_WEBHOOK_GIVE_UP_SECONDS: '0.6',
      ...webhookKeyEnv(), ...storage.env,
    });
  }, 60_000);
  afterAll(async () => {
    await server.stop();
    await storage.dispose();
  });
  const gql = client(() => server.url, token);

  it('marks an event FAILED after the give-up period, moves on, and sends it again on request', async () => {
    const r = await receiver('give-up');
    await r.control({ status: 503 });
    await registerModel(gql, 'stubborn');
    const hook = await createWebhook(gql, { url: r.url('/g'), actions: ['MODEL_UPDATED'] });
    await describeModel(gql, 'stubborn', 'lost');
    const failed = await eventually(async () => {
      const l = await deliveries(gql, hook.id);
      return l.some((d) => d.status === 'FAILED') ? l : undefined;
    }, 30_000, 'a FAILED delivery');
    const lostSequence = failed[0].eventSequence as number;
    expect(failed.map((d) => d.status)).toEqual([...failed.slice(0, -1).map(() => 'RETRYING'), 'FAILED']);
    expect(failed.at(-1).attempt).toBe(failed.length);
    await r.control({ status: 200 });
    await describeModel(gql, 'stubborn', 'next');
    await eventually(() => (delivered(r.received('/g')).some((b) => b.details.description === 'next') ? true : undefined), 30_000, 'the next event');
    await gql(`mutation($id: ID!, $s: Float!) { redeliverWebhookEvent(webhookId: $id, eventSequence: $s) { id } }`, { id: hook.id, s: lostSequence });
    await eventually(() => (delivered(r.received('/g')).some((b) => b.details.description === 'lost') ? true : undefined), 30_000, 'the redelivery');
    expect(delivered(r.received('/g')).map((b) => b.details.description)).toEqual(['next', 'lost']);
    const log = await deliveries(gql, hook.id);
    expect(log.at(-1)).toMatchObject({ eventSequence: lostSequence, redelivery: true, status: 'SUCCEEDED', httpStatus: 200 });
    expectSigned(r.received('/g'), hook.secret);
  });
});
