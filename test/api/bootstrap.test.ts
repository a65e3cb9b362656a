import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

/** The first start without REGISTRY_ADMIN_TOKEN creates one admin token, once in the registry's life. */
describe('admin bootstrap', () => {
  const apps: App[] = [];
  const dirs: string[] = [];
  const start = async (dir: string, env: Record<string, string> = {}) => {
    const app = await createApp(loadConfig({ PORT: '0', REGISTRY_DATA_DIR: dir, LOG_LEVEL: 'silent', ...env }));
    apps.push(app);
    return app;
  };
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const freshDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'registry-boot-'));
    dirs.push(d);
    return d;
  };

  it('creates one admin token at the first start, which works, and never again', async () => {
    const dir = freshDir();
    const first = await start(dir);
    expect(first.bootstrapSecret).toMatch(/^mr_/);
    const url = await first.listen();
    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${first.bootstrapSecret}` }, body: JSON.stringify({ query: '{ viewer { role name } }' }) });
    expect(await res.json()).toEqual({ data: { viewer: { role: 'ADMIN', name: 'bootstrap-admin (bootstrap-admin)' } } });
    await first.close();
    expect((await start(dir)).bootstrapSecret).toBeNull();
  });

  it('creates exactly one when several registry instances (separate store connections) start together', async () => {
    const dir = freshDir();
    const started = await Promise.all([start(dir), start(dir), start(dir)]);
    expect(started.filter((a) => a.bootstrapSecret !== null)).toHaveLength(1);
  });

  it('creates none while REGISTRY_ADMIN_TOKEN is set; a later start without it and without any admin token does', async () => {
    const dir = freshDir();
    expect((await start(dir, { REGISTRY_ADMIN_TOKEN: 'x'.repeat(40) })).bootstrapSecret).toBeNull();
    await apps.pop()!.close();
    expect((await start(dir)).bootstrapSecret).not.toBeNull();
  });

  it('refuses a short REGISTRY_ADMIN_TOKEN at start with a message naming it', () => {
    expect(() => loadConfig({ REGISTRY_ADMIN_TOKEN: 'short' })).toThrow(/REGISTRY_ADMIN_TOKEN: must be at least 32 characters/);
  });
});
