import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Harness, type Upload, REGISTER, sha256, startRegistry, storeEnv } from '../support/api-harness.js';
import { closed, openSocket, slowRequest } from '../support/raw-http.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens `n` connections from `localAddress` that send nothing; each carries whether it is still open. */
async function flood(url: string, localAddress: string, n: number): Promise<{ sockets: Socket[]; failed: number; allClosed: Promise<unknown> }> {
  const sockets: Socket[] = [];
  const ends: Promise<unknown>[] = [];
  let failed = 0;
  for (let i = 0; i < n; i += 200) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(200, n - i) }, () => openSocket(url, localAddress)));
    for (const r of batch) {
      if (r.status === 'rejected') failed++;
      else {
        sockets.push(r.value);
        ends.push(closed(r.value));
      }
    }
  }
  return { sockets, failed, allClosed: Promise.all(ends) };
}

/** The value of one labelled series of the server's Prometheus metrics (0 when absent). */
async function metric(url: string, token: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const stillOpen = (sockets: Socket[]) => sockets.filter((s) => !s.destroyed && !s.readableEnded).length;

/** `count` requests from 127.0.0.1, each on a new connection: the statuses, or the error codes. */
async function serve(url: string, token: string, count: number): Promise<(number | string)[]> {
  const out: (number | string)[] = [];
  for (let i = 0; i < count; i++) {
    const path = i % 2 ? '/healthz' : '/graphql';
    const body = Buffer.from(JSON.stringify({ query: '{ viewer { role } }' }));
    const r = await slowRequest(`${url}${path}`, {
      method: i % 2 ? 'GET' : 'POST',
      headers: i % 2 ? {} : { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(body.length) },
      chunks: i % 2 ? [] : [body],
      localAddress: '127.0.0.1',
    }).then(
      (res) => res.status,
      (err: Error & { code?: string }) => err.code ?? err.message,
    );
    out.push(r);
  }
  return out;
}

/**
 * Thousands of connections that send nothing, against a real server process whose open-file
 * limit is 1024: other clients keep being served, and the silent connections do not stay.
 * Different 127.x source addresses act as different clients.
 */
describe('idle connections', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'registry-idle-'));
  const token = randomBytes(32).toString('base64url');
  const storage = storeEnv();
  const env = { REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: token, ...storage.env };
  let server: ServerProcess | null = null;
  const opened: Socket[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) s.destroy();
    await server?.stop();
    server = null;
  });
  afterAll(async () => {
    await storage.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('2000 silent connections from one address: others are served, the address holds at most its cap, and the silent ones are closed', async () => {
    server = await startServerProcess({ ...env, REGISTRY_HEADERS_TIMEOUT_SECONDS: '3' }, { fileLimit: 1024 });
    const attack = await flood(server.url, '127.0.0.2', 2000);
    opened.push(...attack.sockets);
    await sleep(300);
    const held = stillOpen(attack.sockets);
    const served = await serve(server.url, token, 20);
    const started = Date.now();
    const gone = await Promise.race([attack.allClosed.then(() => Date.now() - started), sleep(10_000).then(() => null)]);
    console.log(`silent flood from one address: ${attack.sockets.length} connected, ${attack.failed} failed, ${held} held open after 300 ms; others: ${served.join(',')}; all closed ${gone === null ? 'NOT within 10 s' : `${gone} ms later`}`);
    expect(served).toEqual(Array(20).fill(200));
    expect(held).toBeLessThanOrEqual(256);
    expect(gone).not.toBeNull();
    expect(await metric(server.url, token, 'registry_http_connections_closed_by_limit_total{reason="refused_per_address"}')).toBeGreaterThanOrEqual(2000 - 256);
  }, 60_000);

  it('1500 silent connections from ten addresses: at the total cap the oldest idle ones make room, an upload in progress is kept', async () => {
    server = await startServerProcess({ ...env, REGISTRY_MAX_CONNECTIONS: '500' }, { fileLimit: 1024 });
    const s = server;
    const bytes = randomBytes(256 * 1024);
    const reg = await (await fetch(`${s.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: REGISTER, variables: { input: { modelName: 'idle', modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm', sizeBytes: bytes.length, sha256: sha256(bytes) }] } } }),
    })).json() as { data: { registerModelVersion: { uploads: Upload[] } } };
    const upload = reg.data.registerModelVersion.uploads[0]!.upload;
    const chunks = Array.from({ length: 10 }, (_, i) => bytes.subarray((i * bytes.length) / 10, ((i + 1) * bytes.length) / 10));
    const uploading = slowRequest(upload.url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) }, chunks, pauseMs: 300, localAddress: '127.0.0.1' }).then(
      (r) => r.status,
      (err: Error & { code?: string }) => err.code ?? err.message,
    );
    await sleep(100);
    const attacks = [];
    for (let a = 2; a <= 11; a++) {
      const attack = await flood(s.url, `127.0.0.${a + 10}`, 150);
      opened.push(...attack.sockets);
      attacks.push(attack);
    }
    await sleep(300);
    const held = attacks.reduce((n, a) => n + stillOpen(a.sockets), 0);
    const served = await serve(s.url, token, 20);
    const uploaded = await uploading;
    console.log(`silent flood from ten addresses: ${attacks.reduce((n, a) => n + a.sockets.length, 0)} connected, ${held} held open; others: ${served.join(',')}; upload: ${uploaded}`);
    expect(served).toEqual(Array(20).fill(200));
    expect(uploaded).toBe(200);
    expect(held).toBeLessThanOrEqual(500);
    expect(await metric(s.url, token, 'registry_http_connections_closed_by_limit_total{reason="evicted_idle"}')).toBeGreaterThanOrEqual(1000);
    expect(await metric(s.url, token, 'registry_http_open_connections')).toBeLessThanOrEqual(500);
  }, 60_000);
});

describe('slow clients', () => {
  let h: Harness;
  afterAll(async () => {
    await h?.close();
  });

  const register = async (bytes: Buffer): Promise<Upload['upload']> => {
    const data = await h.ok(REGISTER, { input: { modelName: 'slow', modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm', sizeBytes: bytes.length, sha256: sha256(bytes) }] } });
    return data.registerModelVersion.uploads[0].upload;
  };

  it('closes a query whose body stalls, lets an upload take longer than that while bytes keep coming, cuts an idle upload, and closes idle keep-alive connections', async () => {
    const logLines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    h = await startRegistry({ REGISTRY_REQUEST_TIMEOUT_SECONDS: '1', REGISTRY_UPLOAD_IDLE_TIMEOUT_SECONDS: '1', REGISTRY_KEEP_ALIVE_TIMEOUT_SECONDS: '1' }, { logger: pino({ level: 'info' }, sink) });
    const auth = h.auth();
    // A query body that never finishes.
    const stalled = await openSocket(h.url);
    const stalledClosed = closed(stalled);
    stalled.write(`POST /graphql HTTP/1.1\r\nHost: r\r\nAuthorization: ${auth.authorization}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query":`);
    // An upload sending a chunk every 250 ms for 2.5 s: longer than the request timeout, never idle for 1 s.
    const moving = randomBytes(10 * 4096);
    const movingUrl = await register(moving);
    const steady = slowRequest(movingUrl.url, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(moving.length) },
      chunks: Array.from({ length: 10 }, (_, i) => moving.subarray(i * 4096, (i + 1) * 4096)),
      pauseMs: 250,
    }).then((r) => r.status, (err: Error & { code?: string }) => err.code ?? err.message);
    // An upload that stops after its first chunk.
    const idle = randomBytes(8192);
    const idleUrl = await register(idle);
    const stuck = slowRequest(idleUrl.url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': String(idle.length) }, chunks: [idle.subarray(0, 100)] }).then(
      (r) => `answered ${r.status}`,
      (err: Error & { code?: string }) => err.code ?? err.message,
    );
    const started = Date.now();
    const within = <T>(p: Promise<T>, ms: number) => Promise.race([p.then(() => Date.now() - started), sleep(ms).then(() => null)]);
    const [queryClosed, uploadCut] = await Promise.all([within(stalledClosed, 6000), within(stuck, 6000)]);
    const steadyStatus = await steady;
    console.log(`stalled query closed after ${queryClosed} ms; idle upload cut after ${uploadCut} ms (${await stuck}); steady 2.5 s upload: ${steadyStatus}`);
    expect(queryClosed).not.toBeNull();
    expect(uploadCut).not.toBeNull();
    expect(await stuck).toMatch(/ECONNRESET|socket hang up/);
    expect(steadyStatus).toBe(200);
    // A body cut by its timeout is the client's doing: logged as an aborted request, not as a server error.
    const aborted = logLines.map((l) => JSON.parse(l) as { level: number; msg: string; path?: string }).filter((l) => l.msg === 'request aborted');
    expect(aborted.map((l) => l.path)).toContain('/graphql');
    expect(logLines.filter((l) => l.includes('request failed'))).toEqual([]);

    // An idle keep-alive connection closes after REGISTRY_KEEP_ALIVE_TIMEOUT_SECONDS (it was a fixed 65 s).
    const keptAlive = await openSocket(h.url);
    const keptAliveClosed = closed(keptAlive);
    keptAlive.write('GET /healthz HTTP/1.1\r\nHost: r\r\n\r\n');
    const answeredAt = Date.now();
    const keepAliveClosed = await Promise.race([keptAliveClosed.then((text) => ({ text, ms: Date.now() - answeredAt })), sleep(6000).then(() => null)]);
    console.log(`idle keep-alive connection closed after ${keepAliveClosed?.ms ?? 'more than 6000'} ms`);
    expect(keepAliveClosed?.text).toMatch(/^HTTP\/1\.1 200/);
  }, 30_000);
});
