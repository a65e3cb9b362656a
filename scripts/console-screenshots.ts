/**
 * `npm run screenshots`: the console's main screens as PNG files in docs/ui/ (shown in the README),
 * taken in headless Chromium from a fresh registry process seeded through the API.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { browserMissing, ensureConsoleBuilt, launchBrowser } from '../test/support/browser.js';
import { seedConsole } from '../test/support/console-seed.js';
import { startServerProcess } from '../test/support/server-process.js';

const missing = browserMissing();
if (missing) {
  process.stderr.write(`${missing}\n`);
  process.exit(2);
}
ensureConsoleBuilt();
const out = new URL('../docs/ui/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), 'registry-shots-'));
const admin = randomBytes(24).toString('base64url');
const server = await startServerProcess({ REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: admin });
try {
  const seed = await seedConsole(server.url, admin);
  for (const [suffix, viewport] of [['', { width: 1280, height: 860 }], ['-phone', { width: 390, height: 844 }]] as const) {
    const browser = await launchBrowser(viewport);
    const page = await browser.context.newPage();
    const shot = async (name: string, hash: string, ready: string) => {
      await page.goto(`${server.url}/ui/${hash}`);
      await page.locator(ready).first().waitFor();
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(out, `${name}${suffix}.png`), fullPage: suffix === '' });
      process.stdout.write(`docs/ui/${name}${suffix}.png\n`);
    };
    if (suffix === '') await shot('sign-in', '', '#token');
    await page.goto(`${server.url}/ui/`);
    await page.getByLabel('API token').fill(admin);
    await page.keyboard.press('Enter');
    await page.getByTestId('viewer-role').waitFor();
    await shot('models', '#/', '[data-testid=models-table] tbody tr li');
    await shot('model', '#/models/fraud-detector', '[data-testid=versions-table] tbody tr');
    if (suffix === '') {
      const [v2, v4, v5] = [2, 4, 5].map((n) => seed.versions.get(n)!.id);
      await shot('compare', `#/models/fraud-detector/compare?ids=${v2},${v4},${v5}`, '[data-testid=compare-metrics] tbody tr');
      await shot('deployments', '#/models/fraud-detector/deployments', '[data-testid=timeline-production] li');
      await shot('version', `#/versions/${v4}`, '[data-testid=artifacts] tbody tr');
      await page.goto(`${server.url}/ui/#/audit`);
      await page.getByTestId('verify').click();
      await page.getByTestId('verify-result').locator('.ok').waitFor();
      await page.screenshot({ path: join(out, 'audit.png') });
      process.stdout.write('docs/ui/audit.png\n');
      // GraphiQL (/ui/graphiql/) as "the query behind this view" opens it, answer and docs shown.
      await page.goto(`${server.url}/ui/#/models/fraud-detector`);
      await page.getByTestId('versions-table').locator('tbody tr').first().waitFor();
      await page.getByTestId('query-behind').click();
      await page.waitForURL(/\/ui\/graphiql\/$/);
      await page.locator('.graphiql-query-editor .view-lines', { hasText: 'query' }).waitFor();
      await page.getByRole('button', { name: /^Execute query/ }).click();
      await page.locator('.graphiql-response .view-lines', { hasText: 'data' }).waitFor();
      await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
      await page.locator('.graphiql-doc-explorer').getByRole('link', { name: 'Query', exact: true }).first().click();
      await page.waitForTimeout(500);
      await page.screenshot({ path: join(out, 'graphiql.png') });
      process.stdout.write('docs/ui/graphiql.png\n');
    }
    await browser.close();
  }
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
