import { buildForTests } from './built.js';

/** vitest's globalSetup: compiles the registry once, before any test file runs (see built.ts). */
export default function setup(): void {
  buildForTests();
}
