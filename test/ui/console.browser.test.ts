import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, browserMissing, launchBrowser, sharedConsoleBuild } from '../support/browser.js';
import { type ConsoleSeed, apiClient, seedConsole } from '../support/console-seed.js';
import { storeEnv } from '../support/api-harness.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

/**
 * The console at /ui in Debian's Chromium against a real registry process seeded through the API.
 * Without Chromium the suite is reported as skipped, with the reason, never as passed.
 */
const missing = browserMissing();
if (missing) process.stderr.write(`browser suite NOT RUN: ${missing}\n`);

describe.skipIf(missing !== null)(`the web console in a real browser${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let seed: ConsoleSeed;
  let dataDir: string;
  // SQLite here; a fresh MongoDB database when MONGODB_URI is set.
  const storage = storeEnv();
  const violations: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'registry-ui-'));
    const adminToken = randomBytes(24).toString('base64url');
    server = await startServerProcess({ ...storage.env, REGISTRY_DATA_DIR: join(dataDir, 'data'), REGISTRY_ADMIN_TOKEN: adminToken, REGISTRY_CONSOLE_DIR: sharedConsoleBuild() });
    seed = await seedConsole(server.url, adminToken);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('console', (m) => /Content Security Policy/i.test(m.text()) && violations.push(m.text()));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await storage.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const text = (selector: string) => page.locator(selector).first().innerText();
  const signIn = async (secret: string) => {
    await page.goto(`${server.url}/ui/`);
    await page.getByLabel('API token').fill(secret);
    await page.keyboard.press('Enter');
    await page.getByTestId('viewer-role').waitFor();
  };

  it('serves /ui with a strict CSP and long-lived caching of hashed assets', async () => {
    const res = await fetch(`${server.url}/ui/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const asset = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(await res.text())![1]!;
    const js = await fetch(`${server.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-encoding')).toBe('gzip');
    expect((await js.text()).length).toBeGreaterThan(Number(js.headers.get('content-length')));
    expect((await fetch(`${server.url}/ui/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
  });

  it('signs in with a token kept in sessionStorage only, and shows role and scope', async () => {
    await signIn(seed.adminToken);
    expect(await text('[data-testid=viewer-role]')).toBe('ADMIN');
    expect(await text('[data-testid=viewer-scope]')).toBe('all models');
    expect(await page.evaluate('sessionStorage.getItem("registry.token")')).toBe(seed.adminToken);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(page.url()).not.toContain(seed.adminToken);
  });

  it('lists models with what runs where and the production metric', async () => {
    const row = page.getByTestId('models-table').locator('tr', { hasText: 'fraud-detector' });
    await expect.poll(() => row.innerText()).toMatch(/production\s+v2 since .* by /);
    expect(await row.innerText()).toMatch(/staging\s+v5/);
    expect(await row.innerText()).toContain('roc_auc 0.86');
    await page.getByLabel('Search by name').fill('churn');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.getByTestId('models-table').locator('tbody tr').count()).toBe(1);
  });

  it('pages through models and versions with the API cursors', async () => {
    const names = () => page.getByTestId('models-table').locator('tbody th').allInnerTexts();
    await page.goto(`${server.url}/ui/#/?first=2`);
    await expect.poll(names).toEqual(['churn-predictor', 'fraud-detector']);
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(names).toEqual(['image-tagger']);
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(names).toEqual(['churn-predictor', 'fraud-detector']);

    await page.goto(`${server.url}/ui/#/models/fraud-detector?first=2`);
    const numbers = () => page.getByTestId('versions-table').locator('tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-version'))));
    await expect.poll(numbers).toEqual([5, 4]);
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(numbers).toEqual([3, 2]);
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(numbers).toEqual([1]);
    await page.getByTestId('sort-roc_auc').click();
    await expect.poll(numbers).toEqual([4, 5]);
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(numbers).toEqual([2, 1]);
  });

  it('opens a model, sorts its versions by a metric and plots it', async () => {
    await page.goto(`${server.url}/ui/#/models/fraud-detector`);
    const numbers = () => page.getByTestId('versions-table').locator('tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-version'))));
    await expect.poll(numbers).toEqual([5, 4, 3, 2, 1]);
    await page.getByTestId('sort-roc_auc').click();
    // Ranked by compareVersionsConnection: READY and ARCHIVED only, highest first.
    await expect.poll(numbers).toEqual([4, 5, 2, 1]);
    await page.getByTestId('sort-roc_auc').click();
    await expect.poll(numbers).toEqual([1, 2, 5, 4]);
    expect(await page.locator('[data-testid=metric-plot] circle.pt').count()).toBe(5);
    expect(await page.locator('[data-testid=metric-plot] circle.pt.grey').count()).toBe(2);
    expect(await page.locator('[data-testid=metric-plot] circle[data-production=true]').getAttribute('data-status')).toBe('READY');
  });

  it('compares two versions with deltas and a hyperparameter diff', async () => {
    await page.getByLabel('Select version 2').check();
    await page.getByLabel('Select version 4').check();
    await page.getByTestId('compare-link').click();
    const auc = page.getByTestId('compare-metrics').locator('tr', { hasText: 'roc_auc' });
    await expect.poll(() => auc.innerText()).toMatch(/0\.86\s+0\.9\s*\(\+0\.04/);
    expect(await page.getByTestId('compare-hyperparameters').locator('tr.differs', { hasText: 'learning_rate' }).count()).toBe(1);
  });

  it('promotes: a refusing policy shows the server message, a passing one moves the timeline', async () => {
    await page.goto(`${server.url}/ui/#/versions/${seed.versions.get(4)!.id}`);
    await page.getByTestId('policy').check();
    await page.getByLabel('Metric', { exact: true }).fill('roc_auc');
    await page.getByLabel('Minimum ratio').fill('1.5');
    await page.getByRole('button', { name: 'Promote v4…' }).click();
    expect(await page.getByTestId('confirm').innerText()).toMatch(/v4 0\.9 · production v2 0\.86 · delta \+0\.04/);
    await page.getByRole('button', { name: 'Confirm promote' }).click();
    await expect.poll(() => text('[data-testid=action-message]')).toContain('Improvement policy not met');
    expect(await page.getByTestId('action-message').getAttribute('role')).toBe('alert');

    await page.getByLabel('Minimum ratio').fill('1.01');
    await page.getByRole('button', { name: 'Promote v4…' }).click();
    await page.getByRole('button', { name: 'Confirm promote' }).click();
    await expect.poll(() => text('[data-testid=action-message]')).toBe('Promoted: v4 is live in production.');

    await page.goto(`${server.url}/ui/#/models/fraud-detector/deployments`);
    await expect.poll(() => text('[data-testid=live-production]')).toBe('Live: v4');
    const lane = page.getByTestId('timeline-production');
    expect(await lane.locator('li').first().innerText()).toContain('Promote to v4 (from v2)');
    expect(await lane.locator('li[data-kind=refused]').count()).toBe(2);
    expect(await page.getByTestId('timeline-denied').locator('li[data-kind=denied]').count()).toBe(1);

    // Live: a rollback made by another client shows up without a reload.
    await apiClient(server.url, seed.adminToken)(`mutation { rollbackModel(input: { modelName: "fraud-detector", reason: "pager" }) { id } }`);
    await expect.poll(() => text('[data-testid=live-production]'), { timeout: 10_000 }).toBe('Live: v2');
    expect(await lane.locator('li').first().innerText()).toContain('Rollback to v2');
  });

  it('rolls back (here refused: the server\'s message is shown) and archives after a confirmation', async () => {
    // production went v1 → v2 → v4 → (rollback) v2; rolling back again would bring v1, which is ARCHIVED.
    await page.goto(`${server.url}/ui/#/versions/${seed.versions.get(2)!.id}`);
    await page.getByRole('button', { name: 'Roll back production' }).click();
    await expect.poll(() => text('[data-testid=action-message]')).toMatch(/^Cannot roll back to /);
    expect(await page.getByTestId('action-message').getAttribute('role')).toBe('alert');

    const gql = apiClient(server.url, seed.adminToken);
    const tagger = (await gql(`{ modelVersions(modelName: "image-tagger", first: 1) { edges { node { id } } } }`)).modelVersions.edges[0].node.id;
    await page.goto(`${server.url}/ui/#/versions/${tagger}`);
    page.once('dialog', (d) => void d.dismiss());
    await page.getByRole('button', { name: 'Archive v1' }).click();
    expect(await page.getByTestId('action-message').count()).toBe(0);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Archive v1' }).click();
    await expect.poll(() => text('[data-testid=action-message]')).toBe('Archived v1.');
    await expect.poll(() => text('main h1')).toContain('ARCHIVED');
    expect((await gql(`query($id: ID!) { modelVersion(id: $id) { status } }`, { id: tagger })).modelVersion.status).toBe('ARCHIVED');
  });

  it('downloads an artifact through a fresh presigned URL, byte for byte', async () => {
    await page.goto(`${server.url}/ui/#/versions/${seed.versions.get(2)!.id}`);
    const row = page.getByTestId('artifacts').locator('tr', { hasText: 'model.bin' });
    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: /Download/ }).click()]);
    expect(readFileSync((await download.path())!).equals(seed.versions.get(2)!.bytes)).toBe(true);
  });

  it('verifies the audit chain and shows hashes', async () => {
    await page.goto(`${server.url}/ui/#/audit`);
    await page.getByTestId('verify').click();
    await expect.poll(() => text('[data-testid=verify-result]')).toMatch(/^Valid: \d+ events/);
    expect(await page.getByTestId('audit-table').locator('tbody tr').first().innerText()).toMatch(/[0-9a-f]{64}/);
    // Live: an event committed by another client appears without a reload.
    await apiClient(server.url, seed.adminToken)(`mutation { updateModel(name: "image-tagger", description: "live now") { name } }`);
    await expect.poll(() => page.getByTestId('audit-table').locator('tbody tr').first().innerText(), { timeout: 10_000 }).toContain('MODEL_UPDATED');
  });

  it('shows a viewer token no action buttons, and sign-out clears the token', async () => {
    await page.goto(`${server.url}/ui/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    expect(await page.evaluate('sessionStorage.getItem("registry.token")')).toBeNull();
    await signIn(seed.viewerToken);
    expect(await text('[data-testid=viewer-role]')).toBe('VIEWER');
    await page.goto(`${server.url}/ui/#/versions/${seed.versions.get(5)!.id}`);
    await page.getByTestId('artifacts').waitFor();
    expect(await page.getByTestId('actions').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Promote|Roll back|Archive/ }).count()).toBe(0);
  });

  it('shows a scoped deployer actions on its models only, and a refused token the server\'s message', async () => {
    const gql = apiClient(server.url, seed.adminToken);
    const { createApiToken } = await gql(`mutation { createApiToken(name: "churn-deployer", role: DEPLOYER, modelScope: "churn-*") { secret } }`);
    const churn = (await gql(`{ modelVersions(modelName: "churn-predictor", first: 1) { edges { node { id } } } }`)).modelVersions.edges[0].node.id;
    await page.goto(`${server.url}/ui/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').fill('not-a-token');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('alert').innerText()).toMatch(/token/i);
    await signIn(createApiToken.secret);
    expect(await text('[data-testid=viewer-scope]')).toBe('scope churn-*');
    await page.goto(`${server.url}/ui/#/versions/${churn}`);
    await page.getByTestId('actions').waitFor();
    expect(await page.getByRole('button', { name: /^Promote v3/ }).count()).toBe(1);
    // fraud-detector is outside the scope: the API hides it, and no button is drawn.
    await page.goto(`${server.url}/ui/#/versions/${seed.versions.get(4)!.id}`);
    await expect.poll(() => page.locator('main').innerText()).toContain('outside your token');
    expect(await page.getByRole('button', { name: /Promote|Roll back|Archive/ }).count()).toBe(0);
    expect(violations).toEqual([]);
  });
});
