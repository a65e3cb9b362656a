import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startRegistry } from '../../support/api-harness.js';
import { eventually, webhookKeyEnv } from '../../support/webhook-receiver.js';
import { FAST_WEBHOOKS, createWebhook, deliveries, describeModel, registerModel } from './webhook-helpers.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The README's receiver, pasted into a file and run as a newcomer would, receives real deliveries. */
describe("webhooks: the README's receiver", () => {
  const dir = mkdtempSync(join(tmpdir(), 'registry-readme-receiver-'));
  let h: Harness;
  let child: ChildProcess | null = null;
  beforeAll(async () => {
    h = await startRegistry({ ...FAST_WEBHOOKS, ...webhookKeyEnv() });
  });
  afterAll(async () => {
    child?.kill('SIGTERM');
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies real deliveries (204) and refuses forged or replayed ones (401)', async () => {
    const code = /```js\n(\/\/ receiver\.mjs[\s\S]*?)```/.exec(readme)?.[1];
    expect(code, 'the README has a receiver.mjs snippet').toBeDefined();
    writeFileSync(join(dir, 'receiver.mjs'), code!);
    const port = await freePort();
    await registerModel(h.ok.bind(h), 'readme');
    const hook = await createWebhook(h.ok.bind(h), { url: `http://127.0.0.1:${port}/hook`, actions: ['MODEL_UPDATED'] });
    let output = '';
    child = spawn(process.execPath, ['receiver.mjs'], { cwd: dir, env: { ...process.env, WEBHOOK_SECRET: hook.secret, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    await describeModel(h.ok.bind(h), 'readme', 'hello');
    const log = await eventually(async () => {
      const l = await deliveries(h.ok.bind(h), hook.id);
      return l.some((d) => d.status === 'SUCCEEDED') ? l : undefined;
    }, 30_000, 'a delivery the receiver accepted');
    expect(log.at(-1)).toMatchObject({ status: 'SUCCEEDED', httpStatus: 204 });
    expect(output).toMatch(/\d+ MODEL_UPDATED readme null/);

    const body = JSON.stringify({ id: 'x', sequence: 1 });
    const sign = (t: number, secret = hook.secret) => `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
    const post = async (signature: string) =>
      (await fetch(`http://127.0.0.1:${port}/hook`, { method: 'POST', headers: { 'x-registry-signature': signature }, body })).status;
    const now = Math.floor(Date.now() / 1000);
    expect(await post(sign(now))).toBe(204);
    expect(await post(sign(now, 'whsec_wrong'))).toBe(401);
    expect(await post(sign(now - 301))).toBe(401);
    expect(await post('garbage')).toBe(401);
  });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}
