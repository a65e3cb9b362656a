import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditResult, serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

/**
 * The optional (MAY) audits that report a notice, and why: Apollo's CSRF prevention refuses GET
 * requests that could be simple cross-site requests (no content-type, no preflight header), so
 * these GETs answer 400 on purpose. A notice is not a warning; any other notice fails the test.
 */
const EXPECTED_NOTICES = new Set([
  'MAY accept application/x-www-form-urlencoded formatted GET requests',
  'MAY allow URL-encoded JSON string {variables} parameter in GETs when accepting application/graphql-response+json',
  'MAY allow URL-encoded JSON string {variables} parameter in GETs when accepting application/json',
]);

/**
 * GraphQL over HTTP conformance: the `graphql-http` audit suite against a real server process,
 * every request carrying the admin token. Every audit passes: no error, no warning.
 */
describe('GraphQL over HTTP (graphql-http audit suite)', () => {
  const token = randomBytes(32).toString('base64url');
  let server: ServerProcess;
  let dataDir = '';
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'registry-graphql-http-'));
    server = await startServerProcess({ REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: token });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const withToken: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };

  const audits = serverAudits({ url: () => `${server.url}/graphql`, fetchFn: withToken });

  it('has audits to run', () => {
    expect(audits.length).toBeGreaterThan(40);
  });

  it.each(audits.map((a) => [a.name, a] as const))('%s', async (name, audit) => {
    const result: AuditResult = await audit.fn();
    if (result.status === 'notice' && EXPECTED_NOTICES.has(name)) {
      expect(result.response.status).toBe(400);
      expect(await result.response.text()).toContain('Cross-Site Request Forgery');
      return;
    }
    const detail = result.status === 'ok' ? '' : `${result.reason}: ${await result.response.text().catch(() => '')}`;
    expect(`${result.status} ${detail}`.trim()).toBe('ok');
  });

  it('answers document failures with their Apollo codes: 200 under application/json, 400 under application/graphql-response+json', async () => {
    for (const [query, code] of [['{ models { ', 'GRAPHQL_PARSE_FAILED'], ['{ nope }', 'GRAPHQL_VALIDATION_FAILED']] as const) {
      for (const [accept, status] of [['application/json', 200], ['application/graphql-response+json', 400]] as const) {
        const res = await withToken(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: JSON.stringify({ query }) });
        expect(res.status, `${query} as ${accept}`).toBe(status);
        expect(res.headers.get('content-type')).toContain(accept);
        expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(code);
      }
    }
  });

  it('answers a bad variable value with BAD_USER_INPUT (200 under application/json) and a broken domain rule with BAD_USER_INPUT too', async () => {
    const post = (query: string, variables: unknown) =>
      withToken(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ query, variables }) });
    const coercion = await post('query($n: Int) { models(first: $n) { totalCount } }', { n: 'many' });
    expect(coercion.status).toBe(200);
    expect(((await coercion.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
    const rule = await post('{ model(name: "../x") { name } }', undefined);
    expect(rule.status).toBe(200);
    expect(((await rule.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
  });

  it('keeps 400 for requests that are not well-formed (no query)', async () => {
    const res = await withToken(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ variables: {} }) });
    expect(res.status).toBe(400);
  });
});
