import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

/**
 * Issue 18.6: clients that forward the bearer token on a redirect to the same host name (Go's
 * HTTP client, older curl) would hand it to storage. The registry warns at start when the
 * endpoint in presigned URLs shares its host name or is a subdomain of it. Opening the S3 store
 * contacts no server, so no S3 endpoint needs to run here.
 */
describe('S3 storage host at start', () => {
  const apps: App[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function warningsFor(env: Record<string, string>): Promise<{ msg: string; storageHost?: string }[]> {
    const dir = mkdtempSync(join(tmpdir(), 'registry-s3-start-'));
    dirs.push(dir);
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const config = loadConfig({ PORT: '0', REGISTRY_DATA_DIR: dir, REGISTRY_ADMIN_TOKEN: 'x'.repeat(40), S3_BUCKET: 'models', S3_FORCE_PATH_STYLE: 'true', ...env });
    apps.push(await createApp(config, { logger }));
    return lines.map((l) => JSON.parse(l) as { msg: string; storageHost?: string }).filter((l) => l.msg.includes('presigned URLs point at the registry host'));
  }

  it('warns when S3_PUBLIC_ENDPOINT is the registry host (another port) or its subdomain', async () => {
    const same = await warningsFor({ REGISTRY_PUBLIC_URL: 'https://registry.example.com', S3_ENDPOINT: 'http://minio:9000', S3_PUBLIC_ENDPOINT: 'https://registry.example.com:9000' });
    expect(same.map((w) => w.storageHost)).toEqual(['registry.example.com']);
    const sub = await warningsFor({ REGISTRY_PUBLIC_URL: 'https://registry.example.com', S3_PUBLIC_ENDPOINT: 'https://s3.Registry.example.com' });
    expect(sub.map((w) => w.storageHost)).toEqual(['s3.registry.example.com']);
    const viaEndpoint = await warningsFor({ HOST: '127.0.0.1', S3_ENDPOINT: 'http://127.0.0.1:9000' });
    expect(viaEndpoint).toHaveLength(1);
  });

  it('does not warn for a storage host of its own, or AWS S3 (no endpoint)', async () => {
    expect(await warningsFor({ REGISTRY_PUBLIC_URL: 'https://registry.example.com', S3_PUBLIC_ENDPOINT: 'https://storage.example.com' })).toEqual([]);
    expect(await warningsFor({ REGISTRY_PUBLIC_URL: 'https://registry.example.com', S3_PUBLIC_ENDPOINT: 'https://example.com' })).toEqual([]);
    expect(await warningsFor({ REGISTRY_PUBLIC_URL: 'https://registry.example.com' })).toEqual([]);
  });
});
