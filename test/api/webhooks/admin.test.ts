import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../../src/events/webhooks/secret-box.js';
import { type Harness, startRegistry } from '../../support/api-harness.js';
import { webhookKeyEnv } from '../../support/webhook-receiver.js';

const CREATE = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { id url actions modelScope description lastDeliveredSequence createdBy } } }`;
const LIST = `{ webhooks { id url actions } }`;
const head = async (h: Harness) => (await h.ok(`{ auditEvents(first: 1) { edges { node { sequence } } } }`)).auditEvents.edges[0]?.node.sequence ?? 0;
const sqliteOnly = process.env.MONGODB_URI ? it.skip : it;

/**
 * Webhook administration over real HTTP: admins only, bad input refused with nothing written,
 * every change audited, the secret shown once and stored sealed with a key outside the database.
 * Delivery is off here (REGISTRY_WEBHOOK_DELIVERY=false): these webhooks point at public addresses.
 */
describe('webhooks: administration', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRegistry({ REGISTRY_WEBHOOK_DELIVERY: 'false', ...webhookKeyEnv() });
  });
  afterAll(() => h.close());

  it('creates a webhook, shows its secret once, lists it without the secret, and audits it without the URL query', async () => {
    const before = await head(h);
    const created = (await h.ok(CREATE, {
      input: { url: 'https://93.184.215.14/hooks/registry?token=abc', actions: ['MODEL_VERSION_PROMOTED'], modelScope: 'iris*', description: 'deploys' },
    })).createWebhook;
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(created.webhook).toMatchObject({
      url: 'https://93.184.215.14/hooks/registry?token=abc', actions: ['MODEL_VERSION_PROMOTED'], modelScope: 'iris*', description: 'deploys',
      lastDeliveredSequence: before, createdBy: 'env-admin (REGISTRY_ADMIN_TOKEN)',
    });
    expect((await h.ok(LIST)).webhooks).toEqual([{ id: created.webhook.id, url: created.webhook.url, actions: ['MODEL_VERSION_PROMOTED'] }]);
    const event = (await h.ok(`{ auditEvents(first: 1) { edges { node { sequence action details } } } }`)).auditEvents.edges[0].node;
    expect(event).toEqual({
      sequence: before + 1, action: 'WEBHOOK_CREATED',
      details: { webhookId: created.webhook.id, target: 'https://93.184.215.14', actions: ['MODEL_VERSION_PROMOTED'], modelScope: 'iris*' },
    });
    expect(JSON.stringify(await h.ok(`{ webhook(id: "${created.webhook.id}") { id url actions modelScope description deliveries { totalCount } } }`))).not.toContain('whsec_');
    await h.ok(`mutation($id: ID!) { deleteWebhook(id: $id) { id } }`, { id: created.webhook.id });
  });

  sqliteOnly('keeps the secret sealed in the database with a key file outside it (0600): a database reader cannot sign', async () => {
    const { createWebhook } = await h.ok(CREATE, { input: { url: 'http://93.184.215.14/h' } });
    const keyFile = join(h.dataDir, 'webhook-key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const db = new Database(join(h.dataDir, 'registry.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT sealed_secret FROM webhooks WHERE id = ?').get(createWebhook.webhook.id) as { sealed_secret: string };
      expect(row.sealed_secret).toMatch(/^v1\./);
      expect(row.sealed_secret).not.toContain(createWebhook.secret.slice(6));
      const box = new SecretBox(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'hex'));
      expect(box.open(row.sealed_secret, createWebhook.webhook.id)).toBe(createWebhook.secret);
      expect(() => box.open(row.sealed_secret, 'another-webhook')).toThrow(/does not open/);
    } finally {
      db.close();
    }
    expect(readFileSync(join(h.dataDir, 'registry.db')).includes(Buffer.from(createWebhook.secret))).toBe(false);
    await h.ok(`mutation($id: ID!) { deleteWebhook(id: $id) { id } }`, { id: createWebhook.webhook.id });
  });

  it.each([
    ['not a URL', { url: 'hooks.example.com/x' }, 'input.url'],
    ['another scheme', { url: 'ftp://93.184.215.14/x' }, 'input.url'],
    ['credentials in the URL', { url: 'https://user:pw@93.184.215.14/x' }, 'input.url'],
    ['loopback', { url: 'http://127.0.0.1:9/x' }, 'loopback'],
    ['a name resolving to loopback', { url: 'http://localhost:9/x' }, 'loopback'],
    ['IPv6 loopback', { url: 'http://[::1]/x' }, 'loopback'],
    ['IPv4-mapped IPv6 loopback', { url: 'http://[::ffff:127.0.0.1]/x' }, 'loopback'],
    ['the cloud metadata address (link-local)', { url: 'http://169.254.169.254/latest/meta-data' }, 'loopback'],
    ['RFC 1918', { url: 'http://10.1.2.3/x' }, 'private'],
    ['RFC 1918 (192.168)', { url: 'http://192.168.0.10/x' }, 'private'],
    ['CGNAT', { url: 'http://100.64.0.1/x' }, 'private'],
    ['the unspecified address', { url: 'http://0.0.0.0/x' }, 'private'],
    ['IPv6 unique local', { url: 'http://[fd00::1]/x' }, 'private'],
    ['a bad action name', { url: 'http://93.184.215.14/x', actions: ['promoted'] }, 'input.actions[0]'],
    ['a bad model scope', { url: 'http://93.184.215.14/x', modelScope: 'Iris*x' }, 'input.modelScope'],
    ['a description too long', { url: 'http://93.184.215.14/x', description: 'x'.repeat(1001) }, 'input.description'],
  ])('refuses %s with BAD_USER_INPUT and writes nothing', async (_what, input, mention) => {
    const before = await head(h);
    const r = await h.gql(CREATE, { input });
    expect(r.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toContain(mention);
    expect(await head(h)).toBe(before);
    expect((await h.ok(LIST)).webhooks).toEqual([]);
  });

  it('is for unscoped admins only: FORBIDDEN for other roles and for a scoped admin, nothing written but the denial', async () => {
    const deployer = await h.token('DEPLOYER');
    const scopedAdmin = await h.token('ADMIN', { modelScope: 'iris*' });
    for (const secret of [deployer.secret, scopedAdmin.secret]) {
      const as = h.as(secret);
      expect(await as.code(CREATE, { input: { url: 'http://93.184.215.14/x' } })).toBe('FORBIDDEN');
      expect(await as.code(LIST)).toBe('FORBIDDEN');
      expect(await as.code(`mutation { deleteWebhook(id: "x") { id } }`)).toBe('FORBIDDEN');
    }
    expect((await h.ok(LIST)).webhooks).toEqual([]);
    const events = (await h.ok(`{ auditEvents(first: 6) { edges { node { action } } } }`)).auditEvents.edges.map((e: any) => e.node.action);
    expect(events).not.toContain('WEBHOOK_CREATED');
    expect(events).toContain('ACCESS_DENIED');
  });

  it('updates, rotates the secret, queues a redelivery, and deletes, each change audited; unknown ids are NOT_FOUND', async () => {
    const { createWebhook } = await h.ok(CREATE, { input: { url: 'http://93.184.215.14/a', actions: ['MODEL_UPDATED'] } });
    const id = createWebhook.webhook.id as string;
    const updated = (await h.ok(`mutation($id: ID!, $input: UpdateWebhookInput!) { updateWebhook(id: $id, input: $input) { url actions modelScope description } }`, {
      id, input: { url: 'http://93.184.215.15/b', modelScope: 'iris', description: 'now' },
    })).updateWebhook;
    expect(updated).toEqual({ url: 'http://93.184.215.15/b', actions: ['MODEL_UPDATED'], modelScope: 'iris', description: 'now' });
    const before = await head(h);
    expect(await h.code(`mutation($id: ID!, $input: UpdateWebhookInput!) { updateWebhook(id: $id, input: $input) { url } }`, { id, input: { url: 'http://10.0.0.1/' } })).toBe('BAD_USER_INPUT');
    expect(await head(h)).toBe(before);

    const rotated = (await h.ok(`mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret webhook { id } } }`, { id })).rotateWebhookSecret;
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(createWebhook.secret);

    // A redelivery names an event the webhook receives.
    await h.ok(`mutation { registerModelVersion(input: { modelName: "iris", modelType: "rf", datasetVersion: "d", metrics: [], artifacts: [{ path: "m", sizeBytes: 1, sha256: "${'a'.repeat(64)}" }] }) { version { id } } }`);
    await h.ok(`mutation { updateModel(name: "iris", description: "x") { name } }`);
    const updatedSeq = await head(h);
    expect((await h.ok(`mutation($id: ID!, $s: Float!) { redeliverWebhookEvent(webhookId: $id, eventSequence: $s) { id } }`, { id, s: updatedSeq })).redeliverWebhookEvent.id).toBe(id);
    expect(await h.code(`mutation($id: ID!, $s: Float!) { redeliverWebhookEvent(webhookId: $id, eventSequence: $s) { id } }`, { id, s: updatedSeq - 1 })).toBe('BAD_USER_INPUT');
    expect(await h.code(`mutation($id: ID!, $s: Float!) { redeliverWebhookEvent(webhookId: $id, eventSequence: $s) { id } }`, { id, s: updatedSeq + 100 })).toBe('BAD_USER_INPUT');

    expect((await h.ok(`mutation($id: ID!) { deleteWebhook(id: $id) { id } }`, { id })).deleteWebhook.id).toBe(id);
    expect((await h.ok(`query($id: ID!) { webhook(id: $id) { id } }`, { id })).webhook).toBeNull();
    expect(await h.code(`mutation($id: ID!) { deleteWebhook(id: $id) { id } }`, { id })).toBe('NOT_FOUND');
    expect(await h.code(`mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`, { id })).toBe('NOT_FOUND');
    const actions = (await h.ok(`{ auditEvents(action: null, first: 50) { edges { node { action details } } } }`)).auditEvents.edges
      .map((e: any) => e.node).filter((e: any) => e.action.startsWith('WEBHOOK_') && e.details.webhookId === id).map((e: any) => e.action);
    expect(actions).toEqual(['WEBHOOK_DELETED', 'WEBHOOK_SECRET_ROTATED', 'WEBHOOK_UPDATED', 'WEBHOOK_CREATED']);
  });
});
