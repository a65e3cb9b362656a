import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtEntry } from '../support/built.js';
import { CHUNK_BYTES, HEADER_BYTES, MAGIC, TAG_BYTES } from '../../src/artifacts/encryption/chunked-format.js';
import { type Harness, publish, sha256, startRegistry } from '../support/api-harness.js';

const root = new URL('../../', import.meta.url).pathname;

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Plaintext that is easy to find on disk: a recognisable text, 3 chunks and a bit. */
const plaintext = (tag: string): Buffer => Buffer.from(`${tag}: secret model weights 0123456789 `.repeat(Math.ceil((3 * CHUNK_BYTES + 500) / 40))).subarray(0, 3 * CHUNK_BYTES + 500);

/** Encryption at rest of the embedded store, through the whole registry (real HTTP, real SQLite, real files). */
describe('encryption at rest, embedded mode (issue 15)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRegistry();
  });
  afterAll(async () => {
    await h?.close();
  });
  const artifactFile = (stage: 'uploads' | 'models', versionId: string, path: string) => join(h.dataDir, 'artifacts', stage, 'enc', versionId, path);
  const download = (versionId: string, path: string, headers: Record<string, string> = {}) =>
    fetch(`${h.url}/v1/models/enc/versions/${versionId}/artifacts/${path}`, { headers: { ...h.auth(), ...headers } });

  it('creates the key file beside the data (0600, 64 hex), outside the database', async () => {
    const file = join(h.dataDir, 'artifact-encryption.key');
    const hex = (await readFile(file, 'utf8')).trim();
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const db = await readFile(join(h.dataDir, 'registry.db'));
    expect(db.includes(Buffer.from(hex, 'hex'))).toBe(false);
    expect(db.includes(Buffer.from(hex))).toBe(false);
  });

  it('never writes the plaintext under the artifact root (staged or final); serves it back whole, by range, with its sha256 as ETag', async () => {
    const bytes = plaintext('alpha');
    const id = await publish(h, 'enc', { files: { 'model.bin': bytes }, complete: false });
    const staged = await readFile(artifactFile('uploads', id, 'model.bin'));
    expect(staged.subarray(0, MAGIC.length).equals(MAGIC)).toBe(true);
    expect(staged.includes(bytes.subarray(0, 40))).toBe(false);
    const done = await h.ok(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`, { id });
    expect(done.completeModelVersionUpload.status).toBe('READY');
    const files = await filesUnder(join(h.dataDir, 'artifacts'));
    expect(files.some((f) => f.endsWith(join(id, 'model.bin')))).toBe(true);
    for (const f of files) expect((await readFile(f)).includes(bytes.subarray(100, 140)), f).toBe(false);

    const whole = await download(id, 'model.bin');
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe(String(bytes.length));
    expect(whole.headers.get('etag')).toBe(`"${sha256(bytes)}"`);
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
    const part = await download(id, 'model.bin', { range: `bytes=${CHUNK_BYTES - 3}-${2 * CHUNK_BYTES + 2}` });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes ${CHUNK_BYTES - 3}-${2 * CHUNK_BYTES + 2}/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(CHUNK_BYTES - 3, 2 * CHUNK_BYTES + 3))).toBe(true);
    expect((await download(id, 'model.bin', { range: `bytes=${bytes.length}-` })).status).toBe(416);
  });

  it('never serves altered bytes: a download of a final file whose ciphertext was changed aborts after the authentic chunks', async () => {
    const bytes = plaintext('bravo');
    const id = await publish(h, 'enc', { files: { 'model.bin': bytes } });
    const file = artifactFile('models', id, 'model.bin');
    const disk = await readFile(file);
    disk[HEADER_BYTES + (CHUNK_BYTES + TAG_BYTES) + 1234]! ^= 0x01; // inside chunk 1
    await writeFile(file, disk);
    const res = await download(id, 'model.bin');
    const received: Buffer[] = [];
    const failure = await (async () => {
      if (res.status !== 200) return res.status;
      for await (const c of res.body!) received.push(Buffer.from(c));
      return null;
    })().catch((e: unknown) => e);
    expect(failure).not.toBeNull(); // the body never completes
    const got = Buffer.concat(received);
    expect(got.length).toBeLessThan(bytes.length);
    expect(got.equals(bytes.subarray(0, got.length))).toBe(true); // only authentic plaintext got out
    // A range inside the authentic chunk 0 still reads.
    const head = await download(id, 'model.bin', { range: 'bytes=0-99' });
    expect(Buffer.from(await head.arrayBuffer()).equals(bytes.subarray(0, 100))).toBe(true);
  });

  it('fails verification of an upload whose ciphertext was changed on disk before completion', async () => {
    const bytes = plaintext('charlie');
    const id = await publish(h, 'enc', { files: { 'model.bin': bytes }, complete: false });
    const file = artifactFile('uploads', id, 'model.bin');
    const disk = await readFile(file);
    disk[disk.length - 5]! ^= 0x40;
    await writeFile(file, disk);
    const done = await h.ok(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status failureReason } }`, { id });
    expect(done.completeModelVersionUpload.status).toBe('FAILED');
    expect(done.completeModelVersionUpload.failureReason).toMatch(/"model.bin" failed to decrypt: chunk 3 failed authentication/);
  });
});

describe('the encryption key file at start (issue 15)', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('refuses to start with a damaged key file (exit 2), naming it and leaving it as it is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-enc-key-'));
    dirs.push(dir);
    const keyFile = join(dir, 'keys', 'artifacts.key');
    await mkdir(join(dir, 'keys'));
    await writeFile(keyFile, 'ab'.repeat(16));
    const child = spawn(process.execPath, [builtEntry('main')], {
      cwd: root,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', REGISTRY_DATA_DIR: dir, REGISTRY_ADMIN_TOKEN: 'a'.repeat(40), REGISTRY_ENCRYPTION_KEY_FILE: keyFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
      if (/GraphQL at http/.test(output)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);
    expect(code).toBe(2);
    expect(output).toContain(`Refusing to start: ${keyFile} is damaged: it must hold exactly 64 hex characters`);
    expect(await readFile(keyFile, 'utf8')).toBe('ab'.repeat(16));
  });
});
