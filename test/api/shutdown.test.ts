import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Upload, REGISTER, sha256, storeEnv } from '../support/api-harness.js';
import { closed, openSocket, slowRequest } from '../support/raw-http.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

const MiB = 1024 * 1024;

/**
 * SIGTERM on a real server process under load: /readyz turns 503, the listener closes, every
 * request the server had accepted finishes, then the store closes and the process exits 0.
 * NODE_ENV=production as in a deployment (Apollo installs its own signal handlers unless NODE_ENV=test).
 */
describe('a server process stopped with SIGTERM', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'registry-drain-'));
  const token = randomBytes(32).toString('base64url');
  const storage = storeEnv();
  const env = { REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: token, NODE_ENV: 'production', ...storage.env };
  let server: ServerProcess | null = null;
  afterEach(async () => {
    await server?.stop();
    server = null;
  });
  afterAll(async () => {
    await storage.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const gql = async (query: string, variables?: unknown) => {
    const res = await fetch(`${server!.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
    return (await res.json()) as { data: any; errors?: unknown[] };
  };
  const register = async (model: string, bytes: Buffer): Promise<{ id: string; upload: Upload['upload'] }> => {
    const r = await gql(REGISTER, { input: { modelName: model, modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm.bin', sizeBytes: bytes.length, sha256: sha256(bytes) }] } });
    return { id: r.data.registerModelVersion.version.id, upload: r.data.registerModelVersion.uploads[0].upload };
  };
  const exited = (s: ServerProcess) =>
    new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      if (s.child.exitCode !== null || s.child.signalCode !== null) resolve({ code: s.child.exitCode, signal: s.child.signalCode });
      else s.child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  /** Settled at once, so a rejection before it is awaited is not an unhandled one. */
  const settle = <T>(p: Promise<T>): Promise<PromiseSettledResult<T>> =>
    p.then(
      (value) => ({ status: 'fulfilled', value }) as const,
      (reason: unknown) => ({ status: 'rejected', reason }) as const,
    );
  const uploadHeaders = (u: Upload['upload'], length: number) => ({ ...Object.fromEntries(u.headers.map((h) => [h.name, h.value])), 'content-length': String(length) });

  it('finishes uploads, completions, half-read answers and half-sent queries accepted before the signal, then exits 0', async () => {
    server = await startServerProcess(env);
    const s = server;
    const auth = { authorization: `Bearer ${token}` };

    // Uploads whose bodies trickle in across the signal (2 MiB in 16 chunks, 150 ms apart).
    const slowFiles = Array.from({ length: 3 }, () => randomBytes(2 * MiB));
    const slowVersions = await Promise.all(slowFiles.map((b, i) => register(`drain-up-${i}`, b)));
    // Versions uploaded in full whose completion (read back and hash 24 MiB) is in flight at the signal.
    const bigFiles = Array.from({ length: 2 }, () => randomBytes(24 * MiB));
    const bigVersions = await Promise.all(bigFiles.map((b, i) => register(`drain-done-${i}`, b)));
    for (const [i, v] of bigVersions.entries()) {
      const put = await slowRequest(v.upload.url, { method: 'PUT', headers: uploadHeaders(v.upload, bigFiles[i]!.length), chunks: [bigFiles[i]!] });
      expect(put.status).toBe(200);
    }
    // A READY version whose 24 MiB download the client reads slowly.
    const served = await register('drain-read', bigFiles[0]!);
    await slowRequest(served.upload.url, { method: 'PUT', headers: uploadHeaders(served.upload, bigFiles[0]!.length), chunks: [bigFiles[0]!] });
    expect((await gql(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`, { id: served.id })).data.completeModelVersionUpload.status).toBe('READY');

    const uploads = slowVersions.map((v, i) => {
      const file = slowFiles[i]!;
      const chunks = Array.from({ length: 16 }, (_, c) => file.subarray((c * file.length) / 16, ((c + 1) * file.length) / 16));
      return settle(slowRequest(v.upload.url, { method: 'PUT', headers: uploadHeaders(v.upload, file.length), chunks, pauseMs: 150 }));
    });
    const downloads = [0, 1].map(() =>
      settle(
        slowRequest(`${s.url}/v1/models/drain-read/versions/latest/artifacts/m.bin`, { headers: auth }).then((redirect) => {
          expect(redirect.status).toBe(302);
          return slowRequest(redirect.headers.location!, { readPauseMs: 1500 });
        }),
      ),
    );
    // A query whose body is half sent before the signal and the rest after.
    const query = Buffer.from(JSON.stringify({ query: '{ models(first: 100) { totalCount edges { node { name versionCount } } } }' }));
    const halfQuery = settle(
      slowRequest(`${s.url}/graphql`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', 'content-length': String(query.length) },
        chunks: [query.subarray(0, 20), query.subarray(20)],
        pauseMs: 700,
      }),
    );
    // A /readyz probe whose request line is in but whose headers end only after the signal.
    const probe = await openSocket(s.url);
    const probeAnswer = closed(probe);
    probe.write('GET /readyz HTTP/1.1\r\nHost: registry\r\n');
    // An idle keep-alive connection: it must not hold the shutdown up.
    const idle = await openSocket(s.url);
    const idleClosed = closed(idle);
    idle.write('GET /healthz HTTP/1.1\r\nHost: registry\r\n\r\n');
    // Steady load: four clients sending queries and registrations, each on a new connection, until one is refused.
    let signalledAt = Infinity;
    const load = Array.from({ length: 4 }, async (_, w) => {
      const outcomes: { status: number | string; endedAfterSignal: boolean; cutAfterHeaders: boolean; validJson: boolean }[] = [];
      for (let i = 0; ; i++) {
        const body = Buffer.from(
          JSON.stringify(
            i % 2
              ? { query: '{ models(first: 100) { totalCount edges { node { name versionCount } } } }' }
              : { query: REGISTER, variables: { input: { modelName: `drain-load-${w}`, modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm', sizeBytes: 1, sha256: sha256('x') }] } } },
          ),
        );
        const r = await slowRequest(`${s.url}/graphql`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'content-length': String(body.length) }, chunks: [body] }).then(
          (res) => ({ status: res.status as number | string, cutAfterHeaders: false, validJson: (() => { try { return !JSON.parse(res.body.toString()).errors; } catch { return false; } })() }),
          (err: Error & { code?: string; afterHeaders?: boolean }) => ({ status: err.code ?? err.message, cutAfterHeaders: err.afterHeaders === true, validJson: false }),
        );
        outcomes.push({ ...r, endedAfterSignal: Date.now() > signalledAt });
        if (typeof r.status === 'string') return outcomes;
      }
    });
    await new Promise((r) => setTimeout(r, 400));
    const completions = bigVersions.map((v) => settle(gql(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status failureReason } }`, { id: v.id })));
    await new Promise((r) => setTimeout(r, 30));

    const exit = exited(s);
    signalledAt = Date.now();
    s.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 150));
    probe.write('\r\n');
    const refused = await fetch(`${s.url}/healthz`).then(
      (r) => `answered ${r.status}`,
      (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
    );

    const up = await Promise.all(uploads);
    const down = await Promise.all(downloads);
    const done = await Promise.all(completions);
    const half = [await halfQuery];
    const loadOutcomes = (await Promise.all(load)).flat();
    const status = await exit;
    const report = (r: PromiseSettledResult<{ status: number }>) => (r.status === 'fulfilled' ? r.value.status : String(r.reason));
    console.log(`exit ${JSON.stringify(status)}; uploads ${up.map(report)}; downloads ${down.map(report)}; completions ${done.map((r) => (r.status === 'fulfilled' ? JSON.stringify(r.value.data) : String(r.reason)))}; half-sent query ${half.map(report)}; new connection: ${refused}`);

    expect(up.map(report)).toEqual([200, 200, 200]);
    expect(down.map(report)).toEqual([200, 200]);
    for (const d of down) if (d.status === 'fulfilled') expect(sha256(d.value.body)).toBe(sha256(bigFiles[0]!));
    expect(done.map((r) => (r.status === 'fulfilled' ? r.value.data?.completeModelVersionUpload?.status : String(r.reason)))).toEqual(['READY', 'READY']);
    expect(half.map(report)).toEqual([200]);
    if (half[0]!.status === 'fulfilled') expect(JSON.parse(half[0]!.value.body.toString()).data.models.totalCount).toBeGreaterThan(0);
    expect(await probeAnswer).toMatch(/^HTTP\/1\.1 503/);
    expect(await idleClosed).toMatch(/^HTTP\/1\.1 200/);
    expect(refused).toBe('ECONNREFUSED');
    expect(status).toEqual({ code: 0, signal: null });
    // Under the steady load, every answer that began is whole and successful; requests fail only
    // at connection level once the listener is closed (never cut after their answer began).
    const answered = loadOutcomes.filter((o) => typeof o.status === 'number');
    const failed = loadOutcomes.filter((o) => typeof o.status === 'string');
    console.log(`steady load: ${answered.length} answered (${answered.filter((o) => o.endedAfterSignal).length} ended after the signal), connection errors: ${failed.map((o) => o.status).join(',')}`);
    expect(answered.length).toBeGreaterThan(10);
    for (const o of answered) expect(o).toMatchObject({ status: 200, validJson: true });
    expect(failed.filter((o) => o.cutAfterHeaders)).toEqual([]);
    expect(failed.every((o) => o.endedAfterSignal)).toBe(true);

    // The bytes that arrived during the drain are there: the next process completes those versions.
    server = await startServerProcess(env);
    for (const v of slowVersions) {
      expect((await gql(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status failureReason } }`, { id: v.id })).data.completeModelVersionUpload).toEqual({ status: 'READY', failureReason: null });
    }
  }, 90_000);

  it('cuts what is still running when the grace period ends, and still closes the store and exits', async () => {
    server = await startServerProcess({ ...env, REGISTRY_SHUTDOWN_GRACE_SECONDS: '1' });
    const s = server;
    const bytes = randomBytes(MiB);
    const v = await register('drain-stuck', bytes);
    // An upload that stops sending halfway and never finishes.
    const stuck = slowRequest(v.upload.url, { method: 'PUT', headers: uploadHeaders(v.upload, bytes.length), chunks: [bytes.subarray(0, 1000)] }).then(
      (r) => `answered ${r.status}`,
      (err: Error & { code?: string }) => err.code ?? err.message,
    );
    await new Promise((r) => setTimeout(r, 300));
    const exit = exited(s);
    const signalled = Date.now();
    s.child.kill('SIGTERM');
    const status = await exit;
    const ms = Date.now() - signalled;
    console.log(`exit ${JSON.stringify(status)} ${ms} ms after the signal; stuck upload: ${await stuck}`);
    expect(status).toEqual({ code: 0, signal: null });
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(10_000);
    expect(await stuck).toMatch(/ECONNRESET|socket hang up/);
  }, 60_000);

  it('keeps draining when SIGINT follows SIGTERM', async () => {
    server = await startServerProcess(env);
    const s = server;
    const bytes = randomBytes(MiB);
    const v = await register('drain-twice', bytes);
    const chunks = Array.from({ length: 8 }, (_, c) => bytes.subarray((c * bytes.length) / 8, ((c + 1) * bytes.length) / 8));
    const upload = settle(slowRequest(v.upload.url, { method: 'PUT', headers: uploadHeaders(v.upload, bytes.length), chunks, pauseMs: 150 }));
    await new Promise((r) => setTimeout(r, 300));
    const exit = exited(s);
    s.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    s.child.kill('SIGINT');
    const [up, status] = await Promise.all([upload, exit]);
    console.log(`SIGTERM then SIGINT: upload ${up.status === 'fulfilled' ? up.value.status : String(up.reason)}, exit ${JSON.stringify(status)}`);
    expect(up.status === 'fulfilled' ? up.value.status : String(up.reason)).toBe(200);
    expect(status).toEqual({ code: 0, signal: null });
  }, 60_000);
});
