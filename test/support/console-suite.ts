import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { storeEnv } from './api-harness.js';
import { type Browser, launchBrowser, sharedConsoleBuild } from './browser.js';
import { type ConsoleSeed, seedConsole } from './console-seed.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

export interface ConsoleSuite {
  server: ServerProcess;
  seed: ConsoleSeed;
  browser: Browser;
  page: Page;
  /** Content-Security-Policy violations seen by the page's console and the DOM's securitypolicyviolation event (a worker's own violations reach neither: graphiql.browser.test.ts checks the workers by what they do). */
  violations: string[];
  /** Signs in on the console's sign-in screen, as a person would. */
  signIn(secret: string): Promise<void>;
}

/**
 * A real registry process (SQLite here; a fresh MongoDB database when MONGODB_URI is set) seeded
 * through the API, serving the console built once per test process, and a Chromium page on it.
 * Registers its own beforeAll/afterAll; the fields are set once beforeAll has run.
 */
export function consoleSuite(): ConsoleSuite {
  const suite = { violations: [] as string[] } as ConsoleSuite;
  const storage = storeEnv();
  let dataDir = '';
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'registry-ui-'));
    const adminToken = randomBytes(24).toString('base64url');
    suite.server = await startServerProcess({ ...storage.env, REGISTRY_DATA_DIR: join(dataDir, 'data'), REGISTRY_ADMIN_TOKEN: adminToken, REGISTRY_CONSOLE_DIR: sharedConsoleBuild() });
    suite.seed = await seedConsole(suite.server.url, adminToken);
    suite.browser = await launchBrowser();
    suite.page = await suite.browser.context.newPage();
    const csp = (text: string) => /Content Security Policy/i.test(text) && suite.violations.push(text);
    suite.page.on('console', (m) => csp(m.text()));
    suite.page.on('worker', (w) => w.on('console', (m) => csp(`worker ${w.url()}: ${m.text()}`)));
    await suite.page.exposeBinding('__cspViolation', (_src, text: string) => suite.violations.push(text));
    await suite.page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) => window.__cspViolation(e.violatedDirective + ' ' + e.blockedURI))`);
  });
  afterAll(async () => {
    // Checked here too, so that a run of one test (-t) still fails on a violation it caused.
    const violations = [...suite.violations];
    await suite.browser?.close();
    await suite.server?.stop();
    await storage.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    expect(violations, 'Content-Security-Policy violations').toEqual([]);
  });
  suite.signIn = async (secret: string) => {
    await suite.page.goto(`${suite.server.url}/ui/`);
    await suite.page.getByLabel('API token').fill(secret);
    await suite.page.keyboard.press('Enter');
    await suite.page.getByTestId('viewer-role').waitFor();
  };
  return suite;
}
