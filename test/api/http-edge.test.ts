import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLogger } from '../support/log-capture.js';
import type { RegistryStore } from '../../src/stores/registry.store.js';
import { type FaultSwitch, withFaults } from '../support/faults.js';
import { type Harness, promote, publish, startRegistry } from '../support/api-harness.js';

/** The HTTP edge: health, limits, CSRF, request ids, the download route, masking and logs. */
describe('HTTP edge', () => {
  let h: Harness;
  const { logger, lines: logLines } = capturedLogger();
  let storeFaults: FaultSwitch;
  beforeAll(async () => {
    const wrapStore = (store: RegistryStore): RegistryStore => {
      const w = withFaults(store);
      storeFaults = w.faults;
      return w.proxy;
    };
    h = await startRegistry({}, { wrapStore, logger });
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers /healthz and /readyz', async () => {
    expect(await (await fetch(`${h.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${h.url}/readyz`)).json()).toEqual({ status: 'ready' });
    expect((await fetch(`${h.url}/nowhere`)).status).toBe(404);
  });

  it('serves Prometheus metrics to token holders, with a closed set of route labels', async () => {
    expect((await fetch(`${h.url}/metrics`)).status).toBe(401);
    await fetch(`${h.url}/v1/models/x/versions/latest/artifacts/${'a'.repeat(50)}`, { headers: h.auth() });
    const text = await (await fetch(`${h.url}/metrics`, { headers: h.auth() })).text();
    expect(text).toMatch(/registry_http_requests_total\{route="healthz",method="GET",status="200"\} \d+/);
    expect(text).toContain('registry_http_request_duration_seconds_bucket');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).not.toContain('aaaaaaaaaa');
  });

  it('echoes a sane x-request-id and makes one up otherwise', async () => {
    const mine = await fetch(`${h.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(mine.headers.get('x-request-id')).toBe('abc-123');
    const hostile = await fetch(`${h.url}/healthz`, { headers: { 'x-request-id': 'x'.repeat(500) } });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses bodies over the limit with 413', async () => {
    const res = await fetch(`${h.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...h.auth() }, body: JSON.stringify({ query: `{ models { totalCount } }`, pad: 'x'.repeat(1024 * 1024) }) });
    expect(res.status).toBe(413);
  });

  it('refuses malformed JSON, batched requests and simple GET requests without a CSRF header', async () => {
    const bad = await fetch(`${h.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...h.auth() }, body: '{"query":' });
    expect(bad.status).toBe(400);
    const batch = await fetch(`${h.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...h.auth() }, body: JSON.stringify([{ query: '{ models { totalCount } }' }, { query: '{ models { totalCount } }' }]) });
    expect(batch.status).toBe(400);
    const csrf = await fetch(`${h.url}/graphql?query=${encodeURIComponent('{ models { totalCount } }')}`, { headers: h.auth() });
    expect(csrf.status).toBe(400);
    const allowed = await fetch(`${h.url}/graphql?query=${encodeURIComponent('{ models { totalCount } }')}`, { headers: { 'apollo-require-preflight': 'true', ...h.auth() } });
    expect(await allowed.json()).toEqual({ data: { models: { totalCount: 0 } } });
  });

  it('redirects inference workers to a fresh download URL by version id, latest or environment', async () => {
    const bytes = Buffer.from('production weights');
    const v1 = await publish(h, 'serve', { files: { 'model.pkl': bytes, 'dir/with space (1).txt': Buffer.from('x') } });
    await promote(h, v1);
    const v2 = await publish(h, 'serve', { files: { 'model.pkl': Buffer.from('newer') } });
    await publish(h, 'serve', { complete: false });
    for (const [ref, expected] of [['production', bytes], [v1, bytes], ['latest', Buffer.from('newer')]] as const) {
      const redirect = await fetch(`${h.url}/v1/models/serve/versions/${ref}/artifacts/model.pkl`, { redirect: 'manual', headers: h.auth() });
      expect(redirect.status).toBe(302);
      const followed = await fetch(redirect.headers.get('location')!);
      expect(Buffer.from(await followed.arrayBuffer())).toEqual(expected);
    }
    const spaced = await fetch(`${h.url}/v1/models/serve/versions/production/artifacts/dir/with%20space%20(1).txt`, { headers: h.auth() });
    expect(await spaced.text()).toBe('x');
    expect(v2).not.toBe(v1);
  });

  it('answers 404 with a JSON body for anything the download route cannot find', async () => {
    const pending = await publish(h, 'dl404', { complete: false });
    for (const path of [
      '/v1/models/ghost/versions/production/artifacts/model.pkl',
      '/v1/models/dl404/versions/production/artifacts/model.pkl',
      `/v1/models/dl404/versions/${pending}/artifacts/model.pkl`,
      '/v1/models/dl404/versions/latest/artifacts/model.pkl',
      '/v1/models/serve/versions/production/artifacts/nope.bin',
      '/v1/models/serve/versions/v20990101000000_00000000/artifacts/model.pkl',
      '/v1/models/serve/versions/production/artifacts/..%2F..%2Fregistry.db',
    ]) {
      const res = await fetch(`${h.url}${path}`, { redirect: 'manual', headers: h.auth() });
      expect(res.status, path).toBe(404);
      expect((await res.json()) as object, path).toHaveProperty('error');
    }
  });

  it('answers 400 BAD_USER_INPUT stating the rule for a malformed ref or model name on the download route', async () => {
    for (const path of ['/v1/models/churn/versions/v!!/artifacts/x', '/v1/models/churn/versions/0/artifacts/x', '/v1/models/Churn!/versions/latest/artifacts/x']) {
      const res = await fetch(`${h.url}${path}`, { redirect: 'manual', headers: h.auth() });
      expect(res.status, path).toBe(400);
      const body = (await res.json()) as { code: string; error: string };
      expect(body.code, path).toBe('BAD_USER_INPUT');
      expect(body.error, path).toMatch(/must match|is not a version ref: use a version id/);
    }
  });

    it('masks unexpected errors as INTERNAL_SERVER_ERROR and logs them with the request id', async () => {
    storeFaults.fail('stats', 1, 'disk on fire: /secret/path');
    {
      const res = await fetch(`${h.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'trace-me', ...h.auth() }, body: JSON.stringify({ query: '{ registryStats { models } }' }) });
      const body = (await res.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
      expect(body.errors[0]).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      expect(JSON.stringify(body)).not.toContain('disk on fire');
      const logged = logLines.find((l) => l.includes('disk on fire'));
      expect(logged).toBeDefined();
      expect(JSON.parse(logged!).requestId).toBe('trace-me');
    }
  });

  it('never writes a signature or a presigned URL to the log', async () => {
    const v = await publish(h, 'logs');
    await fetch(`${h.url}/v1/models/logs/versions/${v}/artifacts/model.pkl`, { headers: h.auth() });
    const text = logLines.join('');
    expect(text).toContain('/artifacts/upload/');
    expect(text).not.toMatch(/sig=|X-Amz-Signature|expires=/);
    expect(text).not.toContain(h.adminToken);
  });
});
