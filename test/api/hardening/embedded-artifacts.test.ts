import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtEntry } from '../../support/built.js';
import { sign } from '../../../src/artifacts/signed-url.js';
import { type Harness, publish, startRegistry } from '../../support/api-harness.js';

const root = new URL('../../../', import.meta.url).pathname;

/** Runs the registry (src/main.ts, compiled: see built.ts) in a process of its own until it prints its ready line or exits; then stops it. */
async function runMain(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [builtEntry('main')], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (/GraphQL at http/.test(output)) child.kill('SIGTERM');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output };
}

describe('the embedded artifact directory under attack (issue 9: items 5, 6, 10, 16)', () => {
  const dirs: string[] = [];
  const freshDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'registry-edge-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it.each([
    ['empty', ''],
    ['not hex', 'z'.repeat(64)],
    ['too short', 'ab'.repeat(16)],
  ])('refuses to start with a damaged signing secret (%s), naming the file (item 5)', async (_what, content) => {
    const dir = freshDir();
    await mkdir(join(dir, 'artifacts'), { recursive: true });
    writeFileSync(join(dir, 'artifacts', '.signing-secret'), content);
    const { code, output } = await runMain({ REGISTRY_DATA_DIR: dir, REGISTRY_ADMIN_TOKEN: 'a'.repeat(40) });
    expect(code).toBe(2);
    expect(output).toMatch(/Refusing to start: .*\.signing-secret is damaged: it must hold exactly 64 hex characters/);
  });

  it('writes the first-start admin secret to a 0600 file and prints only its path when stdout is not a terminal (item 10)', async () => {
    const dir = freshDir();
    const { output } = await runMain({ REGISTRY_DATA_DIR: dir });
    const file = join(dir, 'bootstrap-admin-token');
    const secret = readFileSync(file, 'utf8').trim();
    expect(secret).toMatch(/^mr_[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(output).toContain(file);
    expect(output).not.toContain(secret);
    const secretFile = join(dir, 'artifacts', '.signing-secret');
    expect(readFileSync(secretFile, 'utf8')).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
  });

  describe('signed routes', () => {
    let h: Harness;
    let secret: Buffer;
    let versionId: string;
    beforeAll(async () => {
      h = await startRegistry();
      versionId = await publish(h, 'web', { files: { 'page.html': Buffer.from('<script>alert(document.cookie)</script>') } });
      secret = Buffer.from(readFileSync(join(h.dataDir, 'artifacts', '.signing-secret'), 'utf8'), 'hex');
    });
    afterAll(async () => {
      await h?.close();
    });

    /** A URL carrying a valid signature for any key: what a leaked or forged secret would allow. */
    const signed = (op: 'upload' | 'download', key: string, len: number | null = null) => {
      const method = op === 'upload' ? 'PUT' : 'GET';
      const expires = Math.floor(Date.now() / 1000) + 60;
      const q = new URLSearchParams({ expires: String(expires), ct: 'text/html', sig: sign(secret, { method, key, expires, contentLength: len, contentType: 'text/html' }) });
      if (len !== null) q.set('len', String(len));
      return `${h.url}/artifacts/${op}/${key.split('/').map(encodeURIComponent).join('/')}?${q}`;
    };

    it('serves downloads as attachments that never render in the registry origin (item 6)', async () => {
      const res = await fetch(`${h.url}/v1/models/web/versions/${versionId}/artifacts/page.html`, { headers: h.auth() });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="page.html"; filename*=UTF-8''page.html`);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toMatch(/^sandbox/);
      // Resumable: its sha256 is its ETag, and ranges are served (issue 17).
      const body = Buffer.from(await res.arrayBuffer());
      expect(res.headers.get('etag')).toBe(`"${createHash('sha256').update(body).digest('hex')}"`);
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      const again = await fetch(`${h.url}/v1/models/web/versions/${versionId}/artifacts/page.html`, { headers: { ...h.auth(), 'if-none-match': res.headers.get('etag')! } });
      expect(again.status).toBe(304);
    });

    it('reaches only uploads with PUT and final artifacts with GET, even with a valid signature (item 5)', async () => {
      expect((await fetch(signed('download', '.signing-secret'))).status).toBe(403);
      expect((await fetch(signed('download', `uploads/web/${versionId}/page.html`))).status).toBe(403);
      expect((await fetch(signed('download', `verifying/web/${versionId}/x/page.html`))).status).toBe(403);
      const put = await fetch(signed('upload', `models/web/${versionId}/page.html`, 3), { method: 'PUT', headers: { 'content-type': 'text/html' }, body: 'pwn' });
      expect(put.status).toBe(403);
      expect((await fetch(signed('download', `models/web/${versionId}/page.html`))).status).toBe(200);
    });

    it('says not ready while the artifact directory cannot be written (item 16)', async () => {
      expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
      const tmp = join(h.dataDir, 'artifacts', 'tmp');
      await rm(tmp, { recursive: true, force: true });
      await writeFile(tmp, 'not a directory');
      expect((await fetch(`${h.url}/readyz`)).status).toBe(503);
      await rm(tmp, { force: true });
      expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
    });
  });
});
