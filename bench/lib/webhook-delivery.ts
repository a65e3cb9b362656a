/**
 * Webhook delivery: how many events per second reach webhook receivers, and how long from commit
 * to delivery. Writers send `updateModel` mutations (one audit event each) to one registry process,
 * whose delivery worker POSTs them to `webhooks` webhooks served by a receiver in this process on
 * 127.0.0.1 (the registry runs with REGISTRY_WEBHOOK_ALLOW_PRIVATE=true). Each webhook's deliveries
 * are checked: every event once, in sequence order.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookFigure {
  webhooks: number;
  writers: number;
  seconds: number;
  events: number;
  /** Events per second delivered to the slowest webhook (the load's span, first commit to its last delivery). */
  perSecond: number;
  /** From the event's occurredAt (taken just before its commit) to its arrival at the receiver, over every delivery. */
  p50Ms: number;
  p99Ms: number;
  /** Webhooks that missed an event, got one twice or out of order. */
  broken: number;
  errors: string[];
}

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

export async function measureWebhooks(opts: { writeUrl: string; token: string; webhooks: number; writers: number; seconds: number }): Promise<WebhookFigure> {
  const errors: string[] = [];
  const model = `webhooks-${opts.webhooks}`;
  const got = Array.from({ length: opts.webhooks }, () => ({ seqs: [] as number[], lastAt: 0 }));
  const latencies: number[] = [];
  let measuring = false;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = Date.now();
      const i = Number(req.url!.slice(1));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { sequence: number; occurredAt: string };
      got[i]!.seqs.push(body.sequence);
      got[i]!.lastAt = now;
      if (measuring) latencies.push(now - Date.parse(body.occurredAt));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  const ids: string[] = [];
  try {
    await gql(opts.writeUrl, opts.token, `mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version { id } } }`, {
      input: { modelName: model, modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm', sizeBytes: 1, sha256: 'a'.repeat(64) }] },
    });
    for (let i = 0; i < opts.webhooks; i++) {
      const r = await gql(opts.writeUrl, opts.token, 'mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }', {
        input: { url: `http://127.0.0.1:${port}/${i}`, actions: ['MODEL_UPDATED'], modelScope: model },
      });
      ids.push(r.createWebhook.webhook.id);
    }
    // Every webhook is delivering before the load starts (a marker event reaches all of them).
    await gql(opts.writeUrl, opts.token, 'mutation($n: String!) { updateModel(name: $n, description: "ready") { name } }', { n: model });
    await until(() => got.every((g) => g.seqs.length >= 1), 30_000);
    const marker = got[0]!.seqs[0]!;
    measuring = true;
    const t0 = Date.now();
    const deadline = t0 + opts.seconds * 1000;
    let committed = 0;
    await Promise.all(Array.from({ length: opts.writers }, async (_, w) => {
      for (let i = 0; Date.now() < deadline; i++) {
        try {
          await gql(opts.writeUrl, opts.token, 'mutation($n: String!, $d: String) { updateModel(name: $n, description: $d) { name } }', { n: model, d: `${w}-${i}` });
          committed++;
        } catch (err) {
          if (errors.length < 5) errors.push((err as Error).message);
        }
      }
    }));
    const expected = committed + 1;
    await until(() => got.every((g) => g.seqs.length >= expected), 120_000).catch(() => errors.push('not every webhook got every event within 120 s'));
    const broken = got.filter((g) => g.seqs.length !== expected || g.seqs[0] !== marker || g.seqs.some((q, i) => i > 0 && q <= g.seqs[i - 1]!)).length;
    const slowest = Math.max(...got.map((g) => g.lastAt));
    const sorted = latencies.sort((a, b) => a - b);
    return {
      webhooks: opts.webhooks, writers: opts.writers, seconds: opts.seconds, events: committed,
      perSecond: committed / (Math.max(slowest - t0, 1) / 1000), p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), broken, errors: errors.slice(0, 5),
    };
  } finally {
    for (const id of ids) await gql(opts.writeUrl, opts.token, 'mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id }).catch(() => {});
    await new Promise((resolve) => receiver.close(resolve));
  }
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const stop = Date.now() + ms;
  while (!check()) {
    if (Date.now() > stop) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
