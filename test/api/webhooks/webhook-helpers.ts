import { expect } from 'vitest';
import { verifySignature } from '../../../src/events/webhooks/webhook-signature.js';
import type { Received } from '../../support/webhook-receiver.js';

/** Settings that let delivery tests run in seconds: fast polls and retries, 127.0.0.1 allowed. */
export const FAST_WEBHOOKS = {
  REGISTRY_WEBHOOK_ALLOW_PRIVATE: 'true',
  REGISTRY_WEBHOOK_POLL_MS: '100',
  REGISTRY_WEBHOOK_RETRY_MIN_MS: '100',
  REGISTRY_WEBHOOK_RETRY_MAX_MS: '400',
  REGISTRY_WEBHOOK_TIMEOUT_MS: '3000',
  REGISTRY_WEBHOOK_LEASE_MS: '4000',
};

export type Gql = (query: string, variables?: Record<string, unknown>) => Promise<any>;

export const CREATE_WEBHOOK = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { id } } }`;

export async function createWebhook(gql: Gql, input: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const r = (await gql(CREATE_WEBHOOK, { input })).createWebhook;
  return { id: r.webhook.id, secret: r.secret };
}

export async function deliveries(gql: Gql, id: string): Promise<any[]> {
  const r = await gql(`query($id: ID!) { webhook(id: $id) { lastDeliveredSequence deliveries(first: 100) { totalCount edges { node {
    eventSequence eventId attempt status httpStatus error responseBody durationMs nextAttemptAt redelivery } } } } }`, { id });
  return r.webhook.deliveries.edges.map((e: any) => e.node).reverse();
}

export const registerModel = (gql: Gql, modelName: string) =>
  gql(`mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version { id } } }`, {
    input: { modelName, modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm.bin', sizeBytes: 1, sha256: 'a'.repeat(64) }] },
  });

export const describeModel = (gql: Gql, name: string, description: string) =>
  gql(`mutation($n: String!, $d: String) { updateModel(name: $n, description: $d) { name } }`, { n: name, d: description });

export interface Body {
  id: string;
  sequence: number;
  action: string;
  occurredAt: string;
  actor: string;
  modelName: string | null;
  versionId: string | null;
  details: Record<string, unknown>;
}

/** The bodies the receiver answered 2xx to, in the order they arrived. */
export function delivered(received: Received[]): Body[] {
  return received.filter((r) => r.status === 200).sort((a, b) => a.start - b.start).map((r) => JSON.parse(r.body) as Body);
}

/** Every request is signed with `secret` over its exact body, recently, and names its event in X-Registry-Event-Id. */
export function expectSigned(received: Received[], secret: string): void {
  expect(received.length).toBeGreaterThan(0);
  for (const r of received) {
    expect(r.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature(secret, r.signature!, r.body, new Date())).toBe(true);
    expect(verifySignature(`${secret}x`, r.signature!, r.body, new Date())).toBe(false);
    expect(verifySignature(secret, r.signature!, `${r.body} `, new Date())).toBe(false);
    expect(r.eventId).toBe((JSON.parse(r.body) as Body).id);
  }
}

/** Each sequence from the first arrival on, ascending: order kept (repeats of the same event allowed only back to back). */
export function firstArrivals(bodies: Body[]): number[] {
  const seen: number[] = [];
  for (const b of bodies) if (seen.at(-1) !== b.sequence) seen.push(b.sequence);
  return seen;
}
