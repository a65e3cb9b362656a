import { describe, expect, it } from 'vitest';
import { browserMissing } from '../support/browser.js';
import { CONTRAST_FAILURES, contrastRatio } from '../support/contrast.js';
import { consoleSuite } from '../support/console-suite.js';

/**
 * The console's accessibility in Debian's Chromium: every control labelled, text contrast (WCAG
 * 4.5:1, large text 3:1) on every screen, no sideways scrolling of the page at phone width (390 px)
 * or at 1280 px, and the main navigation and a table's sort buttons worked by Tab and Enter alone.
 */
const missing = browserMissing();
if (missing) process.stderr.write(`browser suite NOT RUN: ${missing}\n`);

describe.skipIf(missing !== null)(`the console's accessibility in a real browser${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const ui = consoleSuite();
  /** Every screen, each with something that shows it has loaded its data. */
  const screens = () => {
    const [v2, v4] = [ui.seed.versions.get(2)!.id, ui.seed.versions.get(4)!.id];
    return [
      { hash: '#/', ready: '[data-testid=models-table] tbody tr' },
      { hash: '#/models/fraud-detector', ready: '[data-testid=metric-plot] circle' },
      { hash: '#/models/fraud-detector/deployments', ready: '[data-testid=timeline-production] li' },
      { hash: `#/models/fraud-detector/compare?ids=${v2},${v4}`, ready: '[data-testid=compare-metrics] tbody tr' },
      { hash: `#/versions/${v4}`, ready: '[data-testid=artifacts] tbody tr' },
      { hash: '#/audit', ready: '[data-testid=audit-table] tbody tr' },
    ];
  };
  const show = async (hash: string, ready: string) => {
    await ui.page.goto(`${ui.server.url}/ui/${hash}`);
    await ui.page.locator(ready).first().waitFor();
  };
  /** The deepest elements reaching past the viewport's right edge: what to fix when the page scrolls sideways. */
  const WIDEST = `[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5 && ![...e.children].some((c) => c.getBoundingClientRect().right > innerWidth + 0.5)).slice(0, 5).map((e) => e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().replace(/\\s+/g, '.') : '') + '@' + Math.round(e.getBoundingClientRect().right)).join(', ')`;
  const pageWidth = () => ui.page.evaluate('document.documentElement.scrollWidth') as Promise<number>;
  const contrast = () => ui.page.evaluate(CONTRAST_FAILURES) as Promise<{ checked: number; failures: string[] }>;

  it('the sign-in screen: contrast and no sideways scrolling at 390 and 1280 px', async () => {
    for (const width of [390, 1280]) {
      await ui.page.setViewportSize({ width, height: 844 });
      await ui.page.goto(`${ui.server.url}/ui/`);
      await ui.page.getByLabel('API token').waitFor();
      const { checked, failures } = await contrast();
      expect(checked).toBeGreaterThan(2);
      expect(failures, `at ${width}px`).toEqual([]);
      expect(await pageWidth(), `at ${width}px`).toBeLessThanOrEqual(width);
    }
    await ui.page.setViewportSize({ width: 1280, height: 900 });
  });

  it('labels every control on every screen', async () => {
    await ui.signIn(ui.seed.adminToken);
    for (const { hash, ready } of screens()) {
      await show(hash, ready);
      const unlabelled = await ui.page.evaluate(
        `[...document.querySelectorAll('input, select, textarea, button')].filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim()).map((e) => e.outerHTML)`,
      );
      expect(unlabelled, hash).toEqual([]);
    }
  });

  it('has text contrast of at least 4.5:1 (3:1 for large text) on every screen, at 1280 px and on a phone', async () => {
    const failures: string[] = [];
    for (const width of [1280, 390]) {
      await ui.page.setViewportSize({ width, height: 900 });
      for (const { hash, ready } of screens()) {
        await show(hash, ready);
        const found = await contrast();
        expect(found.checked, `${hash} at ${width}px`).toBeGreaterThan(10);
        failures.push(...found.failures.map((f) => `${hash} at ${width}px: ${f}`));
      }
    }
    expect(failures).toEqual([]);
    await ui.page.setViewportSize({ width: 1280, height: 900 });
  });

  it('fits a phone (390 px) and 1280 px without sideways scrolling of the page on every screen', async () => {
    const wider: string[] = [];
    for (const width of [390, 1280]) {
      await ui.page.setViewportSize({ width, height: 844 });
      for (const { hash, ready } of screens()) {
        await show(hash, ready);
        const scrollWidth = await pageWidth();
        if (scrollWidth > width) wider.push(`${hash} at ${width}px is ${scrollWidth}px wide: ${await ui.page.evaluate(WIDEST)}`);
      }
    }
    expect(wider).toEqual([]);
    await ui.page.setViewportSize({ width: 1280, height: 900 });
  });

  it('works the main navigation and a table\'s sort buttons with Tab and Enter, with a visible focus', async () => {
    const page = ui.page;
    // The focused element's name, its outline's style and colour, and the first opaque background behind it.
    const focused = () => page.evaluate(`(() => {
      const e = document.activeElement;
      let bg = 'rgb(255, 255, 255)';
      for (let a = e; a; a = a.parentElement) { const c = getComputedStyle(a).backgroundColor; if (c !== 'transparent' && !/, 0\\)$/.test(c)) { bg = c; break; } }
      return [e.getAttribute('data-testid') || e.textContent.trim(), getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineColor, bg].join('|');
    })()`) as Promise<string>;
    /** Presses Tab (or Shift+Tab) until `name` has the focus, at most `limit` times. */
    const tabTo = async (name: string, limit = 60, key = 'Tab') => {
      for (let i = 1; i <= limit; i++) {
        await page.keyboard.press(key);
        const [label, outline, ring, behind] = (await focused()).split('|');
        if (label === name) {
          expect(outline, `focus ring on ${name}`).not.toBe('none');
          // WCAG 2.2 (1.4.11, 2.4.13): a focus indicator needs 3:1 against what surrounds it.
          expect(contrastRatio(ring!, behind!), `focus ring ${ring} on ${behind} at ${name}`).toBeGreaterThanOrEqual(3);
          return i;
        }
      }
      throw new Error(`${name} not reached with ${limit} Tab presses`);
    };
    await show('#/', '[data-testid=models-table] tbody tr'); // a fresh page: Tab starts at its top
    await tabTo('Audit', 10);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Audit log');
    expect(new URL(page.url()).hash).toBe('#/audit');
    await tabTo('Models', 3, 'Shift+Tab'); // the focus stays on the link Enter followed
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Models');

    await show('#/models/fraud-detector', '[data-testid=versions-table] tbody tr');
    const numbers = () => page.getByTestId('versions-table').locator('tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-version'))));
    await expect.poll(numbers).toEqual([5, 4, 3, 2, 1]);
    await tabTo('sort-roc_auc');
    await page.keyboard.press('Enter');
    await expect.poll(numbers).toEqual([4, 5, 2, 1]);
    expect(await page.locator('th[aria-sort=descending]').innerText()).toContain('roc_auc');
    await page.keyboard.press('Enter'); // the focus stays on the button: Enter again flips the order
    await expect.poll(numbers).toEqual([1, 2, 5, 4]);
    expect(await page.locator('th[aria-sort=ascending]').innerText()).toContain('roc_auc');
    expect(ui.violations).toEqual([]);
  });
});
