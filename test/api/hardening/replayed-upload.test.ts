import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, REGISTER, type Upload, put, sha256, startRegistry } from '../../support/api-harness.js';

/**
 * Issue 9.1: a replayed upload URL racing two completions must never make a READY version serve
 * bytes other than the ones declared and verified. Before the fix, both finalize calls shared one
 * `verifying/` file: the second could put other bytes there while the first hashed the good ones.
 */
const SIZE = 96 * 1024 * 1024;

/**
 * Starts a PUT of `body` and sends all but the last byte (resolving once they left this process);
 * `finish()` sends the last byte and waits for the answer.
 */
async function heldBackPut(upload: Upload['upload'], body: Buffer): Promise<{ finish: () => Promise<number> }> {
  const url = new URL(upload.url);
  const headers = Object.fromEntries(upload.headers.map((h) => [h.name, h.value]));
  let status: Promise<number>;
  const req = request(url, { method: 'PUT', headers: { ...headers, 'content-length': body.length } });
  status = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  await new Promise<void>((resolve, reject) => req.write(body.subarray(0, body.length - 1), (err) => (err ? reject(err) : resolve())));
  // Let the server read what was sent, so that the last byte is all that separates it from storing the file.
  await new Promise((r) => setTimeout(r, 300));
  return {
    finish: async () => {
      req.end(body.subarray(body.length - 1));
      return status;
    },
  };
}

describe('a replayed upload racing two completions (embedded store)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRegistry();
  });
  afterAll(async () => {
    await h?.close();
  });

  const COMPLETE = `mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status failureReason } }`;

  it.each([20, 60, 150])('serves only the verified bytes when the replay lands %i ms into the first completion', async (delayMs) => {
    const good = randomBytes(SIZE);
    const other = randomBytes(SIZE);
    const data = await h.ok(REGISTER, {
      input: { modelName: 'race', modelType: 't', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'model.bin', sizeBytes: SIZE, sha256: sha256(good) }] },
    });
    const { version, uploads } = data.registerModelVersion as { version: { id: string }; uploads: Upload[] };
    expect((await put(uploads[0]!.upload, good)).status).toBe(200);
    const replay = await heldBackPut(uploads[0]!.upload, other);
    const first = h.gql(COMPLETE, { id: version.id });
    await new Promise((r) => setTimeout(r, delayMs));
    const replayStatus = await replay.finish();
    const second = await h.gql(COMPLETE, { id: version.id });
    const firstResult = await first;
    const answers = [firstResult, second].map((r) => r.data?.completeModelVersionUpload?.status ?? r.errors?.[0]?.extensions.code);
    // Each answer is an outcome (READY, or FAILED when the replay landed before the bytes were
    // claimed), or CONFLICT while the other completion holds the version's lease.
    for (const a of answers) expect(['READY', 'FAILED', 'CONFLICT']).toContain(a);
    // A replay that arrives once the version is READY is refused by the registry's own route.
    expect([200, 409]).toContain(replayStatus);
    const status = (await h.ok(`query($id: ID!) { modelVersion(id: $id) { status } }`, { id: version.id })).modelVersion.status;
    const res = await fetch(`${h.url}/v1/models/race/versions/${version.id}/artifacts/model.bin`, { headers: h.auth(), redirect: 'follow' });
    if (status === 'READY') {
      expect(res.status).toBe(200);
      // The one thing that must never happen: READY with bytes other than the declared ones.
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(good));
    } else {
      expect(status).toBe('FAILED');
      expect(res.status).toBe(404);
    }
    // Large bytes written, hashed and read back: up to 19 s with two suites side by side on two cores.
  }, 90_000);

  it('refuses the upload URL once the version is READY, and writes nothing', async () => {
    const good = randomBytes(1024);
    const data = await h.ok(REGISTER, {
      input: { modelName: 'race', modelType: 't', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'model.bin', sizeBytes: good.length, sha256: sha256(good) }] },
    });
    const { version, uploads } = data.registerModelVersion as { version: { id: string }; uploads: Upload[] };
    expect((await put(uploads[0]!.upload, good)).status).toBe(200);
    expect((await h.ok(COMPLETE, { id: version.id })).completeModelVersionUpload.status).toBe('READY');
    const replay = await put(uploads[0]!.upload, randomBytes(1024));
    expect(replay.status).toBe(409);
    expect(await replay.json()).toEqual({ error: expect.stringMatching(/no longer takes uploads/) });
  });
});
