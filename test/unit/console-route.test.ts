import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingHttpHeaders, type Server, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, GRAPHIQL_CSP, consoleRoute } from '../../src/http/console/console.route.js';

/** One request with the path exactly as given (fetch would normalise `..`). */
function rawRequest(url: string, opts: { method: string; headers: Record<string, string> }): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  const u = new URL(url);
  const path = url.slice(u.origin.length);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: opts.method, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The /ui route on a real HTTP server over real files: caching, CSP, gzip, refusals. */
describe('console route', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let missingBase: string;
  let missingServer: Server;
  const js = 'export const x = 1;\n'.repeat(200);

  const listen = async (route: ReturnType<typeof consoleRoute>) => {
    const s = createServer((req, res) => {
      void route(req, res, new URL(req.url ?? '/', 'http://x')).then((mine) => {
        if (!mine) res.writeHead(404, { 'x-not-mine': '1' }).end();
      });
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return { s, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'console-route-'));
    mkdirSync(join(dir, 'ui', 'assets'), { recursive: true });
    writeFileSync(join(dir, 'ui', 'index.html'), '<!doctype html><script type="module" src="/ui/assets/app-abc.js"></script>');
    writeFileSync(join(dir, 'ui', 'assets', 'app-abc.js'), js);
    mkdirSync(join(dir, 'ui', 'graphiql'));
    mkdirSync(join(dir, 'ui', 'assets', 'folder-x1'));
    writeFileSync(join(dir, 'ui', 'graphiql', 'index.html'), '<!doctype html><title>GraphiQL</title>');
    writeFileSync(join(dir, 'secret.txt'), 'outside');
    ({ s: server, url: base } = await listen(consoleRoute(join(dir, 'ui'))));
    ({ s: missingServer, url: missingBase } = await listen(consoleRoute(join(dir, 'not-built'))));
  });
  afterAll(() => {
    server.close();
    missingServer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html revalidated and hashed assets immutable, both with the CSP', async () => {
    const index = await fetch(`${base}/ui/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    const asset = await fetch(`${base}/ui/assets/app-abc.js`);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('content-encoding')).toBe('gzip');
    expect(await asset.text()).toBe(js);
    expect(asset.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
  });

  it('serves GraphiQL\'s page with its own CSP (inline styles allowed, nothing else looser) and only that page', async () => {
    for (const path of ['/ui/graphiql/', '/ui/graphiql/index.html']) {
      const page = await fetch(`${base}${path}`);
      expect([page.status, page.headers.get('cache-control')], path).toEqual([200, 'no-cache']);
      expect(await page.text()).toContain('<title>GraphiQL</title>');
      expect(page.headers.get('content-security-policy'), path).toBe(GRAPHIQL_CSP);
    }
    const strict = new Set(CONSOLE_CSP.split('; '));
    const looser = GRAPHIQL_CSP.split('; ').filter((d) => !strict.has(d));
    expect(looser).toEqual(["style-src 'self' 'unsafe-inline'", "font-src 'self' data:", "worker-src 'self'"]);
    // And it keeps every other directive of the console's (frame-ancestors, base-uri, …).
    const graphiql = new Set(GRAPHIQL_CSP.split('; '));
    expect([...strict].filter((d) => !graphiql.has(d))).toEqual(["style-src 'self'"]);
    const redirect = await fetch(`${base}/ui/graphiql?tab=2`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([308, '/ui/graphiql/?tab=2']);
    expect((await fetch(`${base}/ui/graphiql/other.html`)).status).toBe(404);
    expect((await fetch(`${base}/ui/assets/app-abc.js`)).headers.get('content-security-policy')).toBe(CONSOLE_CSP);
  });

  it('sends identity bytes without Accept-Encoding: gzip, and no body to HEAD', async () => {
    const plain = await rawRequest(`${base}/ui/assets/app-abc.js`, { method: 'GET', headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(js);
    const head = await rawRequest(`${base}/ui/assets/app-abc.js`, { method: 'HEAD', headers: {} });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it('redirects /ui to /ui/, refuses other methods, unknown paths and any climb out of the folder', async () => {
    const redirect = await fetch(`${base}/ui`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([308, '/ui/']);
    expect((await fetch(`${base}/ui/`, { method: 'POST' })).status).toBe(405);
    for (const path of ['/ui/assets/..%2F..%2Fsecret.txt', '/ui/assets/../../secret.txt', '/ui/../secret.txt', '/ui/assets/nope.js', '/ui/secret.txt', '/ui/assets/.hidden', '/ui/assets/folder-x1']) {
      const res = await rawRequest(`${base}${path}`, { method: 'GET', headers: {} });
      expect(res.status, path).toBe(404);
      expect(res.body.toString()).not.toContain('outside');
    }
    const other = await fetch(`${base}/uix`);
    expect(other.headers.get('x-not-mine')).toBe('1');
  });

  it('answers 503 naming the build command when the console is not built', async () => {
    const res = await fetch(`${missingBase}/ui/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build');
  });
});
