import { browserMissing, ensureConsoleBuilt, launchBrowser } from '../../test/support/browser.js';
import { seedConsole } from '../../test/support/console-seed.js';
import { median } from './load.js';

/**
 * The web console's first load in headless Chromium (a fresh profile each round: nothing cached):
 * bytes on the wire (headers included, as Chromium's network layer counts them) and the time from
 * navigation to the models list drawn from its GraphQL answers. Its ceiling in the same run: a
 * fresh profile loading the registry's /healthz (the browser, the connection and one request).
 */
export interface ConsoleLoadFigure {
  rounds: number;
  bytes: number;
  requests: number;
  msToModelsList: number;
  msBareLoad: number;
  warmMsToModelsList: number;
  skipped: string | null;
}

export async function measureConsoleLoad(opts: { url: string; token: string; rounds: number; progress: (s: string) => void }): Promise<ConsoleLoadFigure> {
  const missing = browserMissing();
  if (missing) return { rounds: 0, bytes: 0, requests: 0, msToModelsList: 0, msBareLoad: 0, warmMsToModelsList: 0, skipped: missing };
  ensureConsoleBuilt();
  await seedConsole(opts.url, opts.token);
  const bytes: number[] = [];
  const requests: number[] = [];
  const cold: number[] = [];
  const warm: number[] = [];
  const bare: number[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    opts.progress(`console first load: round ${round + 1} of ${opts.rounds}`);
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      let t = performance.now();
      await page.goto(`${opts.url}/healthz`);
      bare.push(performance.now() - t);
      await browser.context.addInitScript(`sessionStorage.setItem('registry.token', ${JSON.stringify(opts.token)})`);
      const cdp = await browser.context.newCDPSession(page);
      await cdp.send('Network.enable');
      let b = 0;
      let n = 0;
      cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => {
        b += e.encodedDataLength;
        n++;
      });
      t = performance.now();
      await page.goto(`${opts.url}/ui/`);
      await page.locator('[data-testid=models-table] tbody tr li').first().waitFor();
      cold.push(performance.now() - t);
      bytes.push(b);
      requests.push(n);
      t = performance.now();
      await page.reload();
      await page.locator('[data-testid=models-table] tbody tr li').first().waitFor();
      warm.push(performance.now() - t);
    } finally {
      await browser.close();
    }
  }
  return { rounds: opts.rounds, bytes: median(bytes), requests: median(requests), msToModelsList: median(cold), msBareLoad: median(bare), warmMsToModelsList: median(warm), skipped: null };
}
