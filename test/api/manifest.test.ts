import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactBackends } from '../support/artifact-backends.js';
import { type Harness, promote, publish, sha256, startRegistry } from '../support/api-harness.js';

/** The worker's manifest route and the download route's version headers, on both artifact stores, over real HTTP. */
const backends = artifactBackends('manifest');

describe.each(backends)('version manifest over HTTP, %s', (_name, backend) => {
  let h: Harness;
  let closeBackend: () => Promise<void>;
  const files = { 'model.bin': Buffer.from('manifest weights v1'), 'conf/config.json': Buffer.from('{"threshold":0.4}') };
  let v1: string;
  let v2: string;
  beforeAll(async () => {
    const b = await backend();
    closeBackend = b.close;
    h = await startRegistry(b.env);
    v1 = await publish(h, 'worker', { files });
    v2 = await publish(h, 'worker', { files: { 'model.bin': Buffer.from('manifest weights v2') } });
    await promote(h, v1);
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await closeBackend?.();
  });

  const manifest = (ref: string, headers: Record<string, string> = {}, model = 'worker') =>
    fetch(`${h.url}/v1/models/${model}/versions/${ref}/manifest`, { headers: { ...h.auth(), ...headers } });

  it('lists every artifact with a working presigned URL, by version id, number, latest and environment', async () => {
    const res = await manifest(v1);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { artifacts: { path: string; sizeBytes: number; sha256: string; expiresAt: string; url: string }[] };
    expect(body).toMatchObject({ model: 'worker', versionId: v1, number: 1, status: 'READY', environment: null });
    expect(body.artifacts.map((a: { path: string }) => a.path)).toEqual(['model.bin', 'conf/config.json']);
    for (const a of body.artifacts) {
      const bytes = files[a.path as keyof typeof files];
      expect(a).toMatchObject({ sizeBytes: bytes.length, sha256: sha256(bytes), contentType: 'application/octet-stream' });
      expect(new Date(a.expiresAt).getTime()).toBeGreaterThan(Date.now());
      const got = Buffer.from(await (await fetch(a.url)).arrayBuffer());
      expect(sha256(got)).toBe(a.sha256);
    }
    expect(await (await manifest('1')).json()).toMatchObject({ versionId: v1, number: 1 });
    expect(await (await manifest('2')).json()).toMatchObject({ versionId: v2, number: 2, environment: null });
    expect(await (await manifest('latest')).json()).toMatchObject({ versionId: v2 });
    expect(await (await manifest('production')).json()).toMatchObject({ versionId: v1, environment: 'production' });
  });

  it('keeps one ETag for one version when its status moves READY -> ARCHIVED, and shows the status as it is now', async () => {
    const v3 = await publish(h, 'worker', { files: { 'model.bin': Buffer.from('manifest weights v3') } });
    const before = await manifest(v3); // resolved (and cached by this process) while READY
    expect(((await before.json()) as { status: string }).status).toBe('READY');
    await h.ok(`mutation($id: ID!) { archiveModelVersion(versionId: $id) { status } }`, { id: v3 });
    const after = await manifest(v3);
    expect(((await after.json()) as { status: string }).status).toBe('ARCHIVED');
    expect(after.headers.get('etag')).toBe(before.headers.get('etag'));
    const byNumber = await manifest('3');
    expect(((await byNumber.json()) as { status: string }).status).toBe('ARCHIVED');
    expect(byNumber.headers.get('etag')).toBe(before.headers.get('etag'));
  });

  it('answers 304 with no body for a matching If-None-Match, and a new ETag once the environment moves', async () => {
    const first = await manifest('production');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect((await manifest('production')).headers.get('etag')).toBe(etag);
    const cached = await manifest('production', { 'if-none-match': etag });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe(etag);
    expect(cached.headers.get('cache-control')).toBe('no-store');
    expect(await cached.text()).toBe('');
    expect((await manifest('production', { 'if-none-match': `"other", W/${etag}` })).status).toBe(304);
    expect((await manifest('production', { 'if-none-match': '"stale"' })).status).toBe(200);

    expect((await promote(h, v2)).errors).toBeUndefined();
    const moved = await manifest('production', { 'if-none-match': etag });
    expect(moved.status).toBe(200);
    expect(moved.headers.get('etag')).not.toBe(etag);
    expect(((await moved.json()) as { versionId: string }).versionId).toBe(v2);
    await h.ok(`mutation { rollbackModel(input: { modelName: "worker" }) { id } }`);
    expect((await manifest('production')).headers.get('etag')).toBe(etag);
  });

  it('needs a token, and answers NOT_FOUND alike for what is missing, outside the scope, or not verified', async () => {
    expect((await fetch(`${h.url}/v1/models/worker/versions/latest/manifest`)).status).toBe(401);
    const pending = await publish(h, 'worker', { complete: false });
    for (const ref of [pending, '99', 'canary']) {
      const res = await manifest(ref);
      expect(res.status, ref).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe('NOT_FOUND');
    }
    expect((await manifest('latest', {}, 'nobody')).status).toBe(404);
    const other = await h.token('VIEWER', { modelScope: 'other-*' });
    const scoped = await fetch(`${h.url}/v1/models/worker/versions/latest/manifest`, { headers: h.auth(other.secret) });
    expect(scoped.status).toBe(404);
    expect(await scoped.json()).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('answers 400 BAD_USER_INPUT stating the rule for a malformed ref', async () => {
    for (const ref of ['not_a_ref!', '0', '007', 'v!!', 'v2025_abc']) {
      const res = await manifest(ref);
      expect(res.status, ref).toBe(400);
      const body = (await res.json()) as { code: string; error: string };
      expect(body.code, ref).toBe('BAD_USER_INPUT');
      expect(body.error, ref).toContain('a version number (1, 2, 3 …), "latest", or an environment name');
    }
  });

  it('redirects downloads with the resolved version id and the artifact sha256, also by version number', async () => {
    for (const ref of [v1, '1']) {
      const res = await fetch(`${h.url}/v1/models/worker/versions/${ref}/artifacts/conf/config.json`, { headers: h.auth(), redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('x-model-version-id')).toBe(v1);
      expect(res.headers.get('x-artifact-sha256')).toBe(sha256(files['conf/config.json']));
      expect(sha256(Buffer.from(await (await fetch(res.headers.get('location')!)).arrayBuffer()))).toBe(sha256(files['conf/config.json']));
    }
  });
});
