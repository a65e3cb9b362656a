import { browserMissing, buildTestConsole } from './browser.js';
import { buildForTests } from './built.js';

/**
 * vitest's globalSetup, before any test file runs: compiles the registry once (see built.ts) and,
 * when the browser suites can run, builds the console once for all of them (see browser.ts).
 */
export default function setup(): void {
  buildForTests();
  if (browserMissing() === null) buildTestConsole();
}
