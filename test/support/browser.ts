import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core (no browser download): headless, no sandbox (root in
 * CI), nothing phoning home, a fresh profile each time. `CHROMIUM_PATH` overrides the binary.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Why the browser suites cannot run here; null when they can. */
export function browserMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(viewport = { width: 1280, height: 900 }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'registry-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport,
    acceptDownloads: true,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const root = new URL('../../', import.meta.url).pathname;

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds ui/ into `outDir` (a test's own folder: `npm start` elsewhere may be rebuilding dist/ui meanwhile). */
export function buildConsole(outDir: string): void {
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'ui/vite.config.ts', '--logLevel', 'warn', '--outDir', outDir], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`building the console failed:\n${r.stdout}\n${r.stderr}`);
}

/**
 * ui/ built for the tests into test/.build/ui, once per run by vitest's global setup
 * (build-once.ts) when the browser suites can run, and only when ui/ or the lock file changed
 * since the last build: one build (about 10 s of CPU on two cores) for every browser suite.
 */
export const TEST_CONSOLE_DIR = join(root, 'test', '.build', 'ui');

export function buildTestConsole(): void {
  buildConsoleIfStale(TEST_CONSOLE_DIR);
}

/** The console the browser suites serve (REGISTRY_CONSOLE_DIR): the global setup's build. */
export function sharedConsoleBuild(): string {
  if (!existsSync(join(TEST_CONSOLE_DIR, 'index.html'))) throw new Error(`${TEST_CONSOLE_DIR} is missing: the global setup (test/support/build-once.ts) builds it when Chromium is there`);
  return TEST_CONSOLE_DIR;
}

/** Builds ui/ into dist/ui (as `npm run build` does) unless that build is newer than every source. */
export function ensureConsoleBuilt(): void {
  buildConsoleIfStale(join(root, 'dist', 'ui'));
}

/** Builds ui/ into `outDir` unless the build there is newer than every file of ui/ and the lock file. */
function buildConsoleIfStale(outDir: string): void {
  const index = join(outDir, 'index.html');
  const sources = Math.max(newest(join(root, 'ui')), statSync(join(root, 'package-lock.json')).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  buildConsole(outDir);
}
