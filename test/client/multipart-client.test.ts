import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProgressEvent, RegistryClient } from '../../src/client/index.js';
import { type FlakyProxy, startFlakyProxy } from '../support/flaky-proxy.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

/**
 * The TypeScript client's multipart push (issue 16) against a registry process on the embedded
 * store, whose part URLs name a proxy that fails the first two tries of every PUT path (503, then
 * a connection cut half-way): each part is retried on its own. Files past 1 MiB go in 256 KiB parts.
 */
const PART = 256 * 1024;
describe('TypeScript client, multipart push', () => {
  let server: ServerProcess;
  let proxy: FlakyProxy;
  let dataDir: string;
  const token = randomBytes(32).toString('base64url');
  const start = async (env: Record<string, string> = {}) => {
    dataDir = mkdtempSync(join(tmpdir(), 'registry-client-mp-'));
    proxy = await startFlakyProxy();
    server = await startServerProcess({
      REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: token, REGISTRY_PUBLIC_URL: proxy.url,
      REGISTRY_MULTIPART_THRESHOLD_BYTES: String(1024 * 1024), REGISTRY_MULTIPART_PART_BYTES: String(PART), ...env,
    });
    proxy.target = server.url;
  };
  const stop = async () => {
    await server?.stop();
    await proxy?.close();
    rmSync(dataDir, { recursive: true, force: true });
  };

  describe('parts retried one by one, progress over the whole push', () => {
    beforeAll(() => start(), 60_000);
    afterAll(stop);

    it('retries each failing part on its own, counts every byte of the push once, and completes READY with the same bytes', async () => {
      const client = new RegistryClient({ url: server.url, token, retry: { baseDelayMs: 20 } });
      const big = randomBytes(6 * PART + 11); // 7 parts
      const small = Buffer.from('labels');
      writeFileSync(join(dataDir, 'big.bin'), big);
      writeFileSync(join(dataDir, 'small.txt'), small);
      const events: ProgressEvent[] = [];
      const { version } = await client.push({
        model: 'mp-client', modelType: 't', datasetVersion: 'd', partParallel: 3,
        files: [{ file: join(dataDir, 'big.bin'), path: 'big.bin' }, { file: join(dataDir, 'small.txt'), path: 'small.txt' }],
        onProgress: (e) => events.push(e),
      });
      expect(version.status).toBe('READY');
      // Every PUT path (7 parts, 1 small file) failed twice before it went through.
      expect(proxy.faults).toMatchObject({ status503: 8, resets: 8 });
      const start = events.find((e) => e.phase === 'upload' && e.bytes === undefined);
      expect(start?.totalBytes).toBe(big.length + small.length);
      const uploaded = events.filter((e) => e.phase === 'upload' && e.bytes !== undefined).reduce((s, e) => s + e.bytes!, 0);
      expect(uploaded).toBe(big.length + small.length); // bytes of failed tries are taken back
      const { files } = await client.pull({ model: 'mp-client', ref: version.id, dir: join(dataDir, 'out') });
      expect(readFileSync(files.find((f) => f.endsWith('big.bin'))!).equals(big)).toBe(true);
      // The client hashed each part (uploadPlan's part size) and registered the hashes: every part URL
      // was signed with its part's SHA-256, and every part went up with the x-amz-checksum-sha256 it lists.
      const partHashes = Array.from({ length: 7 }, (_, i) => createHash('sha256').update(big.subarray(i * PART, (i + 1) * PART)).digest('hex'));
      const partPuts = proxy.forwardedPuts.filter((p) => p.path.startsWith('/artifacts/part/'));
      expect(new Set(partPuts.map((p) => p.signedSha))).toEqual(new Set(partHashes));
      expect(partPuts.every((p) => p.checksumHeader === Buffer.from(p.signedSha!, 'hex').toString('base64'))).toBe(true);
      const singlePut = proxy.forwardedPuts.filter((p) => !p.path.startsWith('/artifacts/part/'));
      expect(singlePut.length).toBeGreaterThan(0);
      expect(singlePut.every((p) => p.signedSha === null && p.checksumHeader === null)).toBe(true); // the small file: one PUT, as before
    }, 60_000);

    it('a token that may not register: the push is refused by the registration itself (FORBIDDEN, recorded as ACCESS_DENIED), as before uploadPlan', async () => {
      const admin = new RegistryClient({ url: server.url, token });
      const { secret } = await admin.createToken({ name: 'mp-viewer', role: 'VIEWER' });
      writeFileSync(join(dataDir, 'denied.bin'), randomBytes(2 * PART));
      const viewer = new RegistryClient({ url: server.url, token: secret });
      const refused = await viewer.push({ model: 'mp-denied', modelType: 't', datasetVersion: 'd', files: [{ file: join(dataDir, 'denied.bin'), path: 'denied.bin' }] }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('may not register model versions') });
      const denied = await admin.auditEvents({ modelName: 'mp-denied', action: 'ACCESS_DENIED' });
      expect(denied.totalCount).toBe(1);
    }, 60_000);
  });

  describe('part URLs expiring during the retries', () => {
    beforeAll(() => start({ REGISTRY_UPLOAD_URL_TTL_SECONDS: '3' }), 60_000);
    afterAll(stop);

    it('asks createUploadUrls for fresh URLs of the parts still to send, and completes the version', async () => {
      // 503, then a cut connection, each followed by 0.75-3 s of backoff: the 3-second URLs are about to expire (or have) by the third try.
      const client = new RegistryClient({ url: server.url, token, retry: { baseDelayMs: 1500, attempts: 5 } });
      const bytes = randomBytes(5 * PART);
      writeFileSync(join(dataDir, 'exp.bin'), bytes);
      const { version } = await client.push({ model: 'mp-expiring', modelType: 't', datasetVersion: 'd', files: [{ file: join(dataDir, 'exp.bin'), path: 'exp.bin' }] });
      expect(version.status).toBe('READY');
      const issued = await client.auditEvents({ modelName: 'mp-expiring', action: 'UPLOAD_URLS_ISSUED' });
      expect(issued.totalCount).toBeGreaterThanOrEqual(1);
      const details = issued.edges.map((e) => e.node.details as { partNumbers?: number[] });
      expect(details.some((d) => Array.isArray(d.partNumbers) && d.partNumbers.length > 0)).toBe(true);
    }, 90_000);
  });
});
