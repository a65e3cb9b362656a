import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConflictError, FailedPreconditionError, NotFoundError, type ProductionChange, type ProgressEvent, RegistryClient, RegistryClientError, UnauthenticatedError,
} from '../../src/client/index.js';
import { artifactBackends } from '../support/artifact-backends.js';
import { type FlakyProxy, startFlakyProxy } from '../support/flaky-proxy.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

/** The typed TypeScript client in this process against a real registry process, on both artifact stores. */
describe.each(artifactBackends('client'))('TypeScript client, %s', (name, backend) => {
  let server: ServerProcess;
  let closeBackend: () => Promise<void>;
  let proxy: FlakyProxy;
  let dataDir: string;
  let work: string;
  let client: RegistryClient;
  const token = randomBytes(32).toString('base64url');
  const s3 = name.startsWith('S3');

  beforeAll(async () => {
    const b = await backend();
    closeBackend = b.close;
    dataDir = mkdtempSync(join(tmpdir(), 'registry-client-'));
    work = mkdtempSync(join(tmpdir(), 'registry-client-work-'));
    // The filesystem store's upload URLs name the registry's public URL: here a proxy that fails first tries.
    proxy = await startFlakyProxy();
    server = await startServerProcess({ REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: token, ...(s3 ? {} : { REGISTRY_PUBLIC_URL: proxy.url }), ...b.env });
    proxy.target = server.url;
    client = new RegistryClient({ url: server.url, token, retry: { baseDelayMs: 20 } });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await proxy?.close();
    await closeBackend?.();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  const file = (name: string, bytes: Buffer) => {
    writeFileSync(join(work, name), bytes);
    return join(work, name);
  };

  it('pushes (retrying failed uploads) and pulls back the same bytes, reporting progress', async () => {
    const big = randomBytes(2 * 1024 * 1024 + 3);
    const small = Buffer.from('{"labels":["a","b"]}');
    const events: ProgressEvent[] = [];
    const pushed = await client.push({
      model: 'typed', modelType: 'mlp', datasetVersion: 'ds-1', metrics: { acc: 0.8 }, hyperparameters: { layers: [64, 32] },
      files: [{ file: file('big.bin', big), path: 'weights/big.bin' }, { file: file('labels.json', small), path: 'labels.json', contentType: 'application/json' }],
      onProgress: (e) => events.push(e),
    });
    expect(pushed.version).toMatchObject({ modelName: 'typed', number: 1, status: 'READY' });
    if (!s3) expect(proxy.faults).toEqual({ status503: 2, resets: 2, downloadCuts: 0 }); // every file failed twice before it went through
    const uploaded = events.filter((e) => e.phase === 'upload' && e.bytes !== undefined).reduce((s, e) => s + e.bytes!, 0);
    expect(uploaded).toBe(big.length + small.length); // bytes of failed tries are taken back

    const dir = join(work, 'pulled');
    const { manifest, files } = await client.pull({ model: 'typed', ref: '1', dir });
    expect(manifest).toMatchObject({ versionId: pushed.version.id, number: 1, status: 'READY' });
    expect(files).toEqual([join(dir, 'weights', 'big.bin'), join(dir, 'labels.json')]);
    expect(readFileSync(files[0]!).equals(big)).toBe(true);
    expect(readFileSync(files[1]!).equals(small)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['labels.json', 'weights']);
    expect(readdirSync(join(dir, 'weights'))).toEqual(['big.bin']); // no temporary file left by the cut first try
    if (!s3) expect(proxy.faults.downloadCuts).toBe(1); // the big file's first download was cut and retried
  }, 60_000);

  it('answers the manifest with 304 for its ETag, and watches production by polling with it', async () => {
    const v1 = (await client.push({ model: 'watched', modelType: 't', datasetVersion: 'd', files: [{ file: file('w1', randomBytes(1000)), path: 'w' }] })).version;
    const v2 = (await client.push({ model: 'watched', modelType: 't', datasetVersion: 'd2', files: [{ file: file('w2', randomBytes(1000)), path: 'w' }] })).version;
    await client.promote({ model: 'watched', ref: v1.id });
    const first = await client.manifest('watched', 'production');
    expect(first.notModified).toBe(false);
    const etag = first.etag!;
    expect(await client.manifest('watched', 'production', etag)).toEqual({ notModified: true, etag });

    const abort = new AbortController();
    const polls: boolean[] = [];
    const seen: ProductionChange[] = [];
    const watching = (async () => {
      for await (const change of client.watchProduction('watched', { mode: 'poll', intervalMs: 50, signal: abort.signal, onPoll: (n) => polls.push(n) })) {
        seen.push(change);
        if (seen.length === 2) abort.abort();
      }
    })();
    while (polls.filter(Boolean).length < 3) await new Promise((r) => setTimeout(r, 20));
    await client.promote({ model: 'watched', ref: '2' });
    await watching;
    expect(seen).toEqual([
      { model: 'watched', environment: 'production', versionId: v1.id, number: 1, via: 'poll' },
      { model: 'watched', environment: 'production', versionId: v2.id, number: 2, via: 'poll' },
    ]);
    expect(polls[0]).toBe(false);
    expect(polls.filter(Boolean).length).toBeGreaterThanOrEqual(3); // 304s while nothing changed
    expect(await client.productionModel('watched')).toMatchObject({ id: v2.id, number: 2, artifacts: [{ path: 'w', sizeBytes: 1000 }] });
  }, 60_000);

  it('watches production over the deploymentChanged subscription', async () => {
    const v = (await client.push({ model: 'live', modelType: 't', datasetVersion: 'd', files: [{ file: file('l1', randomBytes(10)), path: 'l' }] })).version;
    const abort = new AbortController();
    const seen: ProductionChange[] = [];
    const watching = (async () => {
      for await (const change of client.watchProduction('live', { signal: abort.signal })) {
        seen.push(change);
        abort.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    await client.promote({ model: 'live', ref: 'latest' });
    await watching;
    expect(seen).toEqual([{ model: 'live', environment: 'production', versionId: v.id, number: 1, via: 'subscription' }]);
  }, 30_000);

  it('promotes idempotently under concurrent retries, and throws typed errors carrying the server\'s code', async () => {
    await client.push({ model: 'idem', modelType: 't', datasetVersion: 'd', metrics: { acc: 0.9 }, files: [{ file: file('i1', randomBytes(10)), path: 'i' }] });
    await client.push({ model: 'idem', modelType: 't', datasetVersion: 'd2', metrics: { acc: 0.1 }, files: [{ file: file('i2', randomBytes(10)), path: 'i' }] });
    const tries = await Promise.all([1, 2, 3, 4, 5].map(() => client.promote({ model: 'idem', ref: '1', idempotencyKey: 'release-7' })));
    expect(new Set(tries.map((d) => d.id)).size).toBe(1);
    expect((await client.history('idem')).totalCount).toBe(1);

    const reused = await client.promote({ model: 'idem', ref: '2', idempotencyKey: 'release-7' }).catch((e: unknown) => e);
    expect(reused).toBeInstanceOf(ConflictError);
    expect(reused).toMatchObject({ code: 'CONFLICT' });
    const policy = await client.promote({ model: 'idem', ref: '2', requireImprovement: { metric: 'acc' } }).catch((e: unknown) => e);
    expect(policy).toBeInstanceOf(FailedPreconditionError);
    expect((policy as Error).message).toMatch(/^Improvement policy not met/);
    const missing = await client.pull({ model: 'idem', ref: '99', dir: join(work, 'none') }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    const anonymous = await new RegistryClient({ url: server.url }).models().catch((e: unknown) => e);
    expect(anonymous).toBeInstanceOf(UnauthenticatedError);
    expect(anonymous).toBeInstanceOf(RegistryClientError);
    const bad = await client.push({ model: 'Not A Name', modelType: 't', datasetVersion: 'd', files: [{ file: file('b', randomBytes(1)), path: 'b' }] }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'BAD_USER_INPUT', name: 'BadInputError' });
  }, 60_000);
});

/** Upload URLs that expire during a push's retries are replaced through createUploadUrls (filesystem store, behind the failing proxy). */
describe('TypeScript client, upload URLs expiring during retries', () => {
  let server: ServerProcess;
  let proxy: FlakyProxy;
  let dataDir: string;
  const token = randomBytes(32).toString('base64url');
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'registry-client-ttl-'));
    proxy = await startFlakyProxy();
    server = await startServerProcess({ REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: token, REGISTRY_PUBLIC_URL: proxy.url, REGISTRY_UPLOAD_URL_TTL_SECONDS: '3' });
    proxy.target = server.url;
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await proxy?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('fetches fresh upload URLs when the retries outlast them, and completes the version', async () => {
    // 503, then a cut connection, each followed by 0.75-3 s of backoff: the 3-second URL is about to expire (or has) by the third try.
    const client = new RegistryClient({ url: server.url, token, retry: { baseDelayMs: 1500, attempts: 5 } });
    const bytes = randomBytes(256 * 1024);
    const file = join(dataDir, 'expiring.bin');
    writeFileSync(file, bytes);
    const { version } = await client.push({ model: 'expiring', modelType: 't', datasetVersion: 'd', files: [{ file, path: 'm.bin' }] });
    expect(version.status).toBe('READY');
    expect(proxy.faults).toMatchObject({ status503: 1, resets: 1 });
    const history = await client.auditEvents({ modelName: 'expiring', action: 'UPLOAD_URLS_ISSUED' });
    // Fresh URLs issued by createUploadUrls: at least once (again if a busy machine outlasts the fresh ones too).
    expect(history.totalCount).toBeGreaterThanOrEqual(1);
    const { files } = await client.pull({ model: 'expiring', ref: version.id, dir: join(dataDir, 'out') });
    expect(readFileSync(files[0]!).equals(bytes)).toBe(true);
  }, 60_000);
});
