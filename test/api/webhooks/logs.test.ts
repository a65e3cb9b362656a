import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startRegistry } from '../../support/api-harness.js';
import { capturedLogger } from '../../support/log-capture.js';
import { type Receiver, eventually, startReceiver, webhookKeyEnv } from '../../support/webhook-receiver.js';
import { FAST_WEBHOOKS, createWebhook, deliveries, delivered, describeModel, registerModel } from './webhook-helpers.js';

/**
 * Secrets never reach a log: the whole registry logs at `trace` into memory while webhooks are
 * created, rotated, delivered, retried and given up on; no line holds a signing secret, its
 * sealed form or the server key.
 */
describe('webhooks: secrets stay out of the logs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'registry-hooks-logs-'));
  const { logger, lines } = capturedLogger('trace');
  let h: Harness;
  let r: Receiver;
  beforeAll(async () => {
    r = await startReceiver(join(dir, 'r.jsonl'));
    h = await startRegistry({ ...FAST_WEBHOOKS, REGISTRY_WEBHOOK_GIVE_UP_SECONDS: '0.3', LOG_LEVEL: 'trace', ...webhookKeyEnv() }, { logger });
  }, 60_000);
  afterAll(async () => {
    await h.close();
    await r.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs no secret, sealed secret or key while webhooks are managed and delivered', async () => {
    await r.control({ status: 500 });
    await registerModel(h.ok.bind(h), 'logged');
    const hook = await createWebhook(h.ok.bind(h), { url: r.url('/l?token=query-secret'), actions: ['MODEL_UPDATED'] });
    const rotated = (await h.ok(`mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`, { id: hook.id })).rotateWebhookSecret.secret as string;
    await describeModel(h.ok.bind(h), 'logged', 'given up');
    await eventually(async () => ((await deliveries(h.ok.bind(h), hook.id)).some((d) => d.status === 'FAILED') ? true : undefined), 30_000, 'a give-up');
    await r.control({ status: 200 });
    await describeModel(h.ok.bind(h), 'logged', 'delivered');
    await eventually(() => (delivered(r.received()).length > 0 ? true : undefined), 30_000, 'a delivery');
    await h.app.close();

    const text = lines.join('');
    expect(text).toContain('gave up on an event');
    const key = process.env.MONGODB_URI ? webhookKeyEnv().REGISTRY_WEBHOOK_KEY! : readFileSync(join(h.dataDir, 'webhook-key'), 'utf8').trim();
    for (const secret of [hook.secret, rotated, key, 'query-secret', hook.secret.slice(6), rotated.slice(6)]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\./);
  });
});
