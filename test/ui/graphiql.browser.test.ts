import { describe, expect, it } from 'vitest';
import { browserMissing } from '../support/browser.js';
import { apiClient } from '../support/console-seed.js';
import { consoleSuite } from '../support/console-suite.js';

/**
 * GraphiQL at /ui/graphiql/ in Debian's Chromium against a real registry process: its own CSP, the
 * console's token on every request, the schema's docs, the queries behind a view, a subscription
 * over graphql-ws. Without Chromium the suite is reported as skipped, with the reason.
 */
const missing = browserMissing();
if (missing) process.stderr.write(`browser suite NOT RUN: ${missing}\n`);

/** Monaco draws spaces as U+00A0 and only the lines in view: enough for the short texts checked here. */
const flat = (s: string) => s.replace(/\u00a0/g, ' ');

// One retry: GraphiQL's Monaco editors render asynchronously, and on loaded two-core machines a
// test here failed about once in six full runs (an editor still empty, a subscription's answer
// not yet drawn) while passing on the rerun. A failure that repeats still fails the suite.
describe.skipIf(missing !== null)(`GraphiQL in a real browser${missing ? ` (skipped: ${missing})` : ''}`, { retry: 1 }, () => {
  const ui = consoleSuite();
  const editor = (which: 'query' | 'variables' | 'response', page = ui.page) =>
    page.locator({ query: '.graphiql-query-editor', variables: '.graphiql-editor-tool', response: '.graphiql-response' }[which]).locator('.view-lines').first();
  const read = async (which: 'query' | 'variables' | 'response', page = ui.page) => flat(await editor(which, page).innerText());
  const run = (page = ui.page) => page.getByRole('button', { name: /^Execute query/ }).click();

  it('serves /ui/graphiql/ with its own CSP (inline styles only) while the console keeps its strict one', async () => {
    const res = await fetch(`${ui.server.url}/ui/graphiql/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = Object.fromEntries((res.headers.get('content-security-policy') ?? '').split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]));
    expect(csp['default-src']).toBe("'none'");
    expect(csp['script-src']).toBe("'self'");
    expect(csp['style-src']).toBe("'self' 'unsafe-inline'");
    expect(csp['connect-src']).toBe("'self'");
    expect(csp['worker-src']).toBe("'self'");
    expect(Object.values(csp).join(' ')).not.toMatch(/https?:|\*|unsafe-eval|blob:/);
    const html = await res.text();
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(url, 'every file from this server').toMatch(/^\/ui\/assets\/[\w.-]+$/);
    const redirect = await fetch(`${ui.server.url}/ui/graphiql`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([308, '/ui/graphiql/']);

    for (const path of ['/ui/', '/ui/index.html']) {
      const console = (await fetch(`${ui.server.url}${path}`)).headers.get('content-security-policy') ?? '';
      expect(console, path).toContain("style-src 'self';");
      expect(console, path).not.toContain('unsafe-inline');
    }
  });

  it('opens from the console\'s menu and runs a query as the signed-in token, sent as a bearer header only', async () => {
    await ui.signIn(ui.seed.adminToken);
    const auth: string[] = [];
    ui.page.on('request', (r) => r.url().endsWith('/graphql') && auth.push(r.headers()['authorization'] ?? '(none)'));
    await ui.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API explorer' }).click();
    await ui.page.waitForURL(/\/ui\/graphiql\/$/);
    await expect.poll(() => read('query')).toContain('viewer { name role modelScope }');
    await run();
    await expect.poll(() => read('response')).toMatch(/"role": "ADMIN"/);
    expect(auth.length).toBeGreaterThan(1); // the schema's introspection and the query
    expect(new Set(auth)).toEqual(new Set([`Bearer ${ui.seed.adminToken}`]));
    expect(ui.page.url()).not.toContain(ui.seed.adminToken);
    expect(await ui.page.evaluate('localStorage.length')).toBe(0);
    expect(await ui.page.evaluate('JSON.stringify(Object.entries(sessionStorage).filter(([k]) => k !== "registry.token"))')).not.toContain(ui.seed.adminToken);
  });

  it('shows the schema\'s docs: a type\'s description as the API has it', async () => {
    const gql = apiClient(ui.server.url, ui.seed.adminToken);
    const { __type } = await gql(`{ __type(name: "Model") { description } }`);
    expect(__type.description.length).toBeGreaterThan(10);
    await ui.page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    const docs = ui.page.locator('.graphiql-doc-explorer');
    await docs.getByRole('link', { name: 'Model', exact: true }).first().click();
    await expect.poll(() => docs.innerText()).toContain(__type.description);
  });

  it('runs Monaco\'s workers under their CSP: the GraphQL worker marks a field the schema lacks', async () => {
    // A CSP violation inside a worker reaches neither the page's console nor its DOM event, so the
    // workers are checked by what they do: validation against the schema happens in a worker.
    await ui.page.goto(`${ui.server.url}/ui/`);
    await ui.page.evaluate('sessionStorage.clear()');
    await ui.signIn(ui.seed.adminToken);
    await ui.page.goto(`${ui.server.url}/ui/graphiql/`);
    await ui.page.locator('.graphiql-query-editor .monaco-editor').first().click();
    await ui.page.keyboard.press('Control+A');
    await ui.page.keyboard.type('{ noSuchField }');
    await expect.poll(() => ui.page.locator('.graphiql-query-editor .squiggly-error').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(ui.page.workers().length).toBeGreaterThanOrEqual(2);
  });

  it('arrives with the queries behind a view, one tab each, and runs them', async () => {
    await ui.page.goto(`${ui.server.url}/ui/#/models/fraud-detector`);
    await ui.page.getByTestId('versions-table').locator('tbody tr').first().waitFor();
    await ui.page.getByTestId('query-behind').click();
    await ui.page.waitForURL(/\/ui\/graphiql\/$/); // ?from=view dropped: a reload keeps the tabs as edited
    const tabs = ui.page.locator('.graphiql-tab');
    await expect.poll(async () => (await tabs.allInnerTexts()).map((t) => t.trim()).sort()).toEqual(['ModelOverview', 'VersionsPage']);
    await expect.poll(() => read('query')).toMatch(/query (ModelOverview|VersionsPage)\(/);
    await expect.poll(() => read('variables')).toContain('"fraud-detector"');
    await run();
    await expect.poll(() => read('response')).toContain('"data"');
    expect(await read('response')).not.toContain('"errors"');
  });

  it('runs the subscription behind a live view over graphql-ws and shows new events', async () => {
    await ui.page.goto(`${ui.server.url}/ui/#/models/fraud-detector/deployments`);
    await ui.page.getByTestId('timeline-production').waitFor();
    await ui.page.getByTestId('query-behind').click();
    await ui.page.waitForURL(/\/ui\/graphiql\/$/);
    await ui.page.locator('.graphiql-tab', { hasText: 'DeploymentEvents' }).getByRole('button').first().click();
    await expect.poll(() => read('query')).toContain('subscription DeploymentEvents');
    await run();
    const gql = apiClient(ui.server.url, ui.seed.adminToken);
    await gql(`mutation($id: ID!) { promoteModelVersion(input: { versionId: $id, environment: "staging" }) { id } }`, { id: ui.seed.versions.get(4)!.id });
    await expect.poll(() => read('response'), { timeout: 10_000 }).toContain('MODEL_VERSION_PROMOTED');
  });

  it('without a sign-in says so, and a run shows the server\'s UNAUTHENTICATED error', async () => {
    // A new tab: its sessionStorage is empty, as for someone who opens GraphiQL without signing in.
    // (Clearing sessionStorage in the tab the earlier tests used left GraphiQL's query editor empty
    // on CI, 2 runs in 6: GraphiQL saves its tabs as it goes.)
    const page = await ui.browser.context.newPage();
    try {
      await page.goto(`${ui.server.url}/ui/graphiql/`);
      await expect.poll(() => page.getByRole('status').innerText()).toContain('Not signed in');
      await expect.poll(() => read('query', page)).toContain('viewer');
      await run(page);
      await expect.poll(() => read('response', page)).toContain('"code": "UNAUTHENTICATED"');
    } finally {
      await page.close();
    }
    expect(ui.violations).toEqual([]);
  });
});
