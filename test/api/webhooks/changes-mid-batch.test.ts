import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, it } from 'vitest';
import { type Harness, startRegistry } from '../../support/api-harness.js';

/**
 * From review: a change to a webhook (its scope, its secret) applies to the very next delivery,
 * not after the batch the worker had already read. The receiver answers slowly, so the change
 * lands while a batch of 20 events is being delivered.
 */
let h: Harness | undefined;
const got: { at: number }[] = [];
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    got.push({ at: Date.now() });
    setTimeout(() => { res.writeHead(200); res.end('ok'); }, 200);
  });
});
afterAll(async () => {
  await h?.close();
  receiver.close();
});

it('stops delivering events outside a narrowed scope at once, mid-batch', async () => {
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = (receiver.address() as AddressInfo).port;
  h = await startRegistry({ REGISTRY_WEBHOOK_ALLOW_PRIVATE: 'true', REGISTRY_WEBHOOK_POLL_MS: '100' });
  await h.ok(`mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version { id } } }`, {
    input: { modelName: 'm', modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm.bin', sizeBytes: 1, sha256: 'a'.repeat(64) }] },
  });
  const created = (await h.ok(`mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }`, {
    input: { url: `http://127.0.0.1:${port}/hook`, actions: ['MODEL_UPDATED'] },
  })).createWebhook;
  for (let i = 0; i < 20; i++) await h.ok(`mutation($d: String) { updateModel(name: "m", description: $d) { name } }`, { d: `d${i}` });
  const deadline = Date.now() + 20_000;
  while (got.length < 2 && Date.now() < deadline) await sleep(20);
  expect(got.length).toBeGreaterThanOrEqual(2);
  await h.ok(`mutation($id: ID!, $input: UpdateWebhookInput!) { updateWebhook(id: $id, input: $input) { id } }`, { id: created.webhook.id, input: { modelScope: 'other-models' } });
  const changedAt = Date.now();
  await sleep(2500);
  // At most the one request already in flight when the change landed.
  expect(got.filter((g) => g.at > changedAt).length).toBeLessThanOrEqual(1);
  expect(got.length).toBeLessThan(20);
}, 60_000);
